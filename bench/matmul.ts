// Matmul bench: our register-blocked kernel and GEMV against, in the same run and on the same adapter,
// @tensorflow/tfjs-backend-webgpu, the naive one-thread-per-output WGSL kernel and the CPU reference — all warmed
// and repeated alike (ours and tfjs in interleaved rounds, the machine being shared). Like is compared with like:
// the linear/GEMV rows against tfjs use f32 weights on both sides; our f16-weight rows are separate and compared
// with our own f32-weight kernel (tfjs has no f16 storage).
// --quick: 1024^3 f32 (the naive kernel on 256 of the 1024 rows, the CPU reference at 256^3), a 64-row linear and
// a 2048 GEMV.
import { matmul, linear } from '../src/ops/matmul.js';
import { matmulNaive } from '../src/kernels/webgpu/matmul-naive.js';
import { fromHost } from '../src/tensor/tensor.js';
import type { DType } from '../src/tensor/dtype.js';
import { Ctx, compare, dispose, gpuRunner, hostRunner, measure, rate } from './harness.js';
import { loadTf, tfRunner, tfValues as rnd, type TfTensor } from './tfjs.js';

export async function run(ctx: Ctx): Promise<void> {
  const dev = ctx.dev;
  const tf = await loadTf();
  const tfNote = typeof tf === 'string' ? tf : undefined;

  const square = async (n: number, reps: number, naive: number, cpuN: number | null) => {
    ctx.progress(`matmul ${n}^3`);
    const flop = 2 * n ** 3;
    const a = fromHost(rnd(n * n, 1), [n, n], 'f32', dev), b = fromHost(rnd(n * n, 2), [n, n], 'f32', dev);
    const runners = [gpuRunner(dev, () => matmul(a, b))];
    let ta: TfTensor | null = null, tb: TfTensor | null = null;
    if (typeof tf !== 'string') {
      ta = tf.tensor2d(rnd(n * n, 1), [n, n]);
      tb = tf.tensor2d(rnd(n * n, 2), [n, n]);
      runners.push(tfRunner(tf, () => tf.matMul(ta!, tb!)));
    }
    const [t, tfT] = await measure(runners, reps);
    ta?.dispose();
    tb?.dispose();
    const shape = `${n}x${n}x${n}`;
    const base: Parameters<typeof compare>[2] = [];
    if (tfT) base.push({ kernel: 'tfjs-webgpu matMul', shape, dtype: 'f32', stats: tfT, work: flop, gflops: rate(flop, tfT) });
    if (naive) {
      ctx.progress(`matmul ${n}^3: naive WGSL`);
      // on the first `naive` rows of A (rows are independent work, so GFLOP/s carry over)
      const rows = Math.min(n, naive);
      const ar = rows < n ? a.slice(0, 0, rows) : a;
      const nflop = 2 * rows * n * n;
      const [nT] = await measure([gpuRunner(dev, () => matmulNaive(ar, b))], reps);
      base.push({
        kernel: 'naive WGSL (1 thread/output)', shape: `${rows}x${n}x${n}`, dtype: 'f32', stats: nT, work: nflop, gflops: rate(nflop, nT),
        ...(rows < n ? { note: `first ${rows} rows of the ${n}^3 problem; speedup from GFLOP/s` } : {}),
      });
      if (ar !== a) ar.dispose();
    }
    if (cpuN) {
      ctx.progress(`matmul ${n}^3: CPU reference`);
      const ca = fromHost(rnd(cpuN * cpuN, 1), [cpuN, cpuN], 'f32', 'cpu'), cb = fromHost(rnd(cpuN * cpuN, 2), [cpuN, cpuN], 'f32', 'cpu');
      const cflop = 2 * cpuN ** 3;
      const [cT] = await measure([hostRunner(() => matmul(ca, cb).dispose())], reps);
      base.push({
        kernel: 'cpu reference (f64 loops)', shape: `${cpuN}x${cpuN}x${cpuN}`, dtype: 'f32', stats: cT, work: cflop, gflops: rate(cflop, cT),
        ...(cpuN !== n ? { note: `measured at ${cpuN}^3; speedup from GFLOP/s` } : {}),
      });
      dispose(ca, cb);
    }
    compare(ctx, { kernel: 'matmul', shape, dtype: 'f32', stats: t, work: flop, gflops: rate(flop, t), ...(tfNote ? { note: tfNote } : {}) }, base);
    dispose(a, b);
  };

  /**
   * x [M, K] @ W[N, K]^T: ours with an f32 weight against tfjs with an f32 weight (like with like), then ours with
   * an f16 weight against our f32 row (what f16 storage buys; tfjs has no f16 storage).
   */
  const lin = async (name: string, M: number, K: number, N: number, reps: number, opts: { f32?: boolean; tfjs?: boolean } = {}) => {
    const flop = 2 * M * K * N;
    const shape = `${M}x${K} @ [${N},${K}]^T`;
    const x = fromHost(rnd(M * K, 3), [M, K], 'f32', dev);
    const w16 = fromHost(rnd(N * K, 4), [N, K], 'f16', dev);
    const rowOf = (label: string, wdt: DType, t: Awaited<ReturnType<typeof measure>>[number]) => ({
      kernel: `${name} (W ${wdt})`, shape, dtype: `x f32, W ${wdt}`, stats: t, work: flop, gflops: rate(flop, t),
      ...(M <= 8 ? { gbps: rate(N * K * (wdt === 'f16' ? 2 : 4), t) } : {}), ...(label ? { note: label } : {}),
    });
    if (opts.f32 !== false) {
      ctx.progress(`${name} ${shape}: W f32`);
      const w32 = fromHost(rnd(N * K, 4), [N, K], 'f32', dev);
      const runners = [gpuRunner(dev, () => linear(x, w32)), gpuRunner(dev, () => linear(x, w16))];
      let tx: TfTensor | null = null, tw: TfTensor | null = null;
      if (opts.tfjs !== false && typeof tf !== 'string') {
        tx = tf.tensor2d(rnd(M * K, 3), [M, K]);
        tw = tf.tensor2d(rnd(N * K, 4), [N, K]);
        runners.push(tfRunner(tf, () => tf.matMul(tx!, tw!, false, true)));
      }
      const [t32, t16, tfT] = await measure(runners, reps);
      tx?.dispose();
      tw?.dispose();
      dispose(w32);
      compare(ctx, rowOf('', 'f32', t32), tfT ? [{ kernel: 'tfjs-webgpu matMul (W f32)', shape, dtype: 'x f32, W f32', stats: tfT, work: flop, gflops: rate(flop, tfT), ...(M <= 8 ? { gbps: rate(N * K * 4, tfT) } : {}) }] : []);
      // the f16-weight row, compared with our own f32-weight kernel on the same problem (same run, interleaved)
      const r16 = rowOf('f16 weight storage (tfjs has none)', 'f16', t16);
      compare(ctx, r16, [{ kernel: `ours, W f32`, shape, dtype: 'x f32, W f32', stats: t32, work: flop, gflops: rate(flop, t32), ...(M <= 8 ? { gbps: rate(N * K * 4, t32) } : {}) }]);
    } else {
      ctx.progress(`${name} ${shape}: W f16`);
      const [t16] = await measure([gpuRunner(dev, () => linear(x, w16))], reps);
      compare(ctx, rowOf('f16 weight only (an f32 copy would exceed one 128 MiB binding)', 'f16', t16), []);
    }
    dispose(x, w16);
  };

  if (ctx.quick) {
    await square(1024, 3, 256, 256);
    await lin('linear', 64, 1024, 1024, 3);
    await lin('gemv (decode)', 1, 2048, 2048, 5);
    return;
  }
  await square(512, 3, 512, 512);
  await square(1024, 3, 1024, 256);
  await square(2048, 2, 0, null);
  await lin('linear', 256, 1280, 5120, 3);
  await lin('gemv (decode)', 1, 5120, 5120, 5);
  await lin('gemv (13B MLP, chunked > 128 MiB)', 1, 5120, 13824, 3, { f32: false });
}
