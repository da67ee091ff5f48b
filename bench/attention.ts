// Attention: the fused flash-style kernel vs the naive three-pass WGSL attention (QKᵀ, softmax, PV with the
// full score matrix) and tfjs-webgpu's matMul/softmax/matMul chain in the same run (interleaved, same repetitions), at Whisper's encoder shape, LLaMA-13B prefill (106 tokens) and decode
// (one query against 300 cached keys); plus the backward at the LLaMA prefill shape (no baseline).
// On CPU adapters (lavapipe) the Whisper row uses fewer heads than the real 20 (noted in the row): the
// naive baseline alone would take minutes per repetition there.
import { attention, attentionBackward, attentionNaive, attentionWithLse } from '../src/ops/attention.js';
import { cpuSubgroupSize } from '../src/kernels/webgpu/attention.js';
import { fromHost, Tensor } from '../src/tensor/tensor.js';
import { Ctx, compare, dispose, gpuRunner, measure, rate, time } from './harness.js';
import { loadTf, tfRunner, type TfTensor } from './tfjs.js';

function rand(n: number, seed: number): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2;
  }
  return out;
}

export async function run(ctx: Ctx): Promise<void> {
  const { dev, quick } = ctx;
  const tf = await loadTf();
  const cpu = /software|cpu/i.test(dev.adapterInfo.architecture) || /llvmpipe|swiftshader/i.test(dev.adapterInfo.description);
  const sg = cpuSubgroupSize(dev);
  const variant = sg ? `subgroup-broadcast (SG ${sg})` : 'workgroup-memory tiles';
  const cases: { name: string; H: number; Tq: number; Tk: number; D: number; causal: boolean; note: string; reps: number }[] = [];
  const whisperH = quick ? 1 : cpu ? 2 : 20;
  const whisperT = quick ? 512 : 1500;
  cases.push({
    name: 'attention whisper-encoder', H: whisperH, Tq: whisperT, Tk: whisperT, D: 64, causal: false, reps: 3,
    note: `${whisperH} of Whisper's 20 heads${whisperH < 20 ? (quick ? ' (--quick: T=512)' : ' on a CPU adapter (naive baseline takes minutes per rep)') : ''}; ${variant}`,
  });
  cases.push({ name: 'attention llama-prefill', H: quick ? 8 : 40, Tq: 106, Tk: 106, D: 128, causal: true, reps: 3, note: `${quick ? '8 of 40' : '40'} heads, causal; ${variant}` });
  cases.push({ name: 'attention llama-decode', H: 40, Tq: 1, Tk: 300, D: 128, causal: true, reps: 5, note: '1 query x 300 cached keys, split-K + reduce' });
  for (const c of cases) {
    const { H, Tq, Tk, D } = c;
    const q = fromHost(rand(H * Tq * D, 1), [1, H, Tq, D], 'f32', dev);
    const k = fromHost(rand(H * Tk * D, 2), [1, H, Tk, D], 'f32', dev);
    const v = fromHost(rand(H * Tk * D, 3), [1, H, Tk, D], 'f32', dev);
    // multiply-adds actually needed (causal: the lower triangle with the query offset Tk - Tq)
    let pairs = 0;
    for (let i = 0; i < Tq; i++) pairs += c.causal ? Math.min(Tk, i + (Tk - Tq) + 1) : Tk;
    const flops = 4 * pairs * D * H;
    ctx.progress(`${c.name} [1,${H},${Tq},${D}] x ${Tk}`);
    const runners = [gpuRunner(dev, () => attention(q, k, v, { causal: c.causal })), gpuRunner(dev, () => attentionNaive(q, k, v, { causal: c.causal }))];
    // tfjs has no fused attention: the same computation as its models write it (batched matMul, scale, causal bias,
    // softmax, matMul), on [H, T, D] tensors
    let tfIn: TfTensor[] = [];
    if (typeof tf !== 'string') {
      const bias = new Float32Array(Tq * Tk);
      if (c.causal) for (let i = 0; i < Tq; i++) for (let j = i + (Tk - Tq) + 1; j < Tk; j++) bias[i * Tk + j] = -1e30;
      tfIn = [tf.tensor3d(rand(H * Tq * D, 1), [H, Tq, D]), tf.tensor3d(rand(H * Tk * D, 2), [H, Tk, D]), tf.tensor3d(rand(H * Tk * D, 3), [H, Tk, D]), tf.tensor2d(bias, [Tq, Tk])];
      const [tq, tk, tv, tb] = tfIn;
      runners.push(tfRunner(tf, () => tf.matMul(tf.softmax(tf.add(tf.mul(tf.matMul(tq, tk, false, true), 1 / Math.sqrt(D)), tb)), tv)));
    }
    const [ours, naive, tfT] = await measure(runners, c.reps);
    for (const t of tfIn) t.dispose();
    const shape = `[1,${H},${Tq},${D}] x ${Tk}`;
    compare(ctx, { kernel: c.name, shape, dtype: 'f32', stats: ours, work: flops, gflops: rate(flops, ours), note: c.note }, [
      { kernel: 'naive 3-pass WGSL', shape, dtype: 'f32', stats: naive, work: flops, gflops: rate(flops, naive), note: 'QK^T, row softmax, PV; materialises Tq x Tk' },
      ...(tfT ? [{ kernel: 'tfjs-webgpu matMul, softmax, matMul', shape, dtype: 'f32', stats: tfT, work: flops, gflops: rate(flops, tfT), note: 'plus scale and bias kernels; GPU time = sum of its kernels' }] : []),
    ]);
    if (c.name.endsWith('prefill')) {
      const [o, lse] = attentionWithLse(q, k, v, { causal: true });
      const dO = fromHost(rand(H * Tq * D, 4), [1, H, Tq, D], 'f32', dev);
      const mask = fromHost(Float32Array.from({ length: H }, (_, i) => (i % 3 === 0 ? 0 : 1)), [H], 'f32', dev);
      const bwd = await time(dev, () => {
        const g = attentionBackward(q, k, v, o, dO, lse, { causal: true, headMask: mask });
        return [g.dq, g.dk, g.dv, g.dHeadMask] as Tensor[];
      }, 3);
      ctx.report({ kernel: 'attention llama-prefill backward', shape, dtype: 'f32', ...bwd, gflops: rate(4 * flops, bwd), note: 'dq, dk, dv, dHeadMask with 1/3 masked heads; FLOPs = 4x forward (scores recomputed in both kernels)' });
      dispose(o, lse, dO, mask);
    }
    dispose(q, k, v);
  }
}
