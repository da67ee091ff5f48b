// Convolutions at the audio front-ends' shapes: Whisper's conv1 (80 -> 1280, k3) and conv2 (1280 -> 1280,
// k3, stride 2) over 3000 frames with fused GELU, BEATs' grouped positional conv (768 ch, k128, 16 groups)
// and its 16x16/16 patch embedding. --quick shrinks channels and lengths. In-run baselines (interleaved, same
// repetitions): the same kernel in its direct layout (no subgroup broadcast) where that differs, and tfjs-webgpu's
// conv1d + bias + GELU and conv2d (tfjs has no grouped conv1d).
import { conv1d, conv2d } from '../src/ops/conv.js';
import { cpuSubgroupSize } from '../src/kernels/webgpu/attention.js';
import { fromHost } from '../src/tensor/tensor.js';
import { Ctx, compare, dispose, gpuRunner, measure, rate } from './harness.js';
import { loadTf, tfRunner, type TfTensor } from './tfjs.js';

function rand(n: number, seed: number, scale = 1): Float32Array {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = (s / 4294967296 - 0.5) * 2 * scale;
  }
  return out;
}

export async function run(ctx: Ctx): Promise<void> {
  const { dev, quick } = ctx;
  const sg = cpuSubgroupSize(dev);
  const tf = await loadTf();
  const c1 = [
    { name: 'conv1d whisper-conv1 +gelu', Cin: 80, Cout: quick ? 256 : 1280, T: quick ? 600 : 3000, K: 3, stride: 1, pad: 1, groups: 1, gelu: true },
    { name: 'conv1d whisper-conv2 +gelu', Cin: quick ? 256 : 1280, Cout: quick ? 256 : 1280, T: quick ? 600 : 3000, K: 3, stride: 2, pad: 1, groups: 1, gelu: true },
    { name: 'conv1d beats-posconv grouped +gelu', Cin: 768, Cout: 768, T: quick ? 100 : 1496, K: 128, stride: 1, pad: 64, groups: 16, gelu: true },
  ];
  for (const c of c1) {
    ctx.progress(`${c.name}`);
    const x = fromHost(rand(c.Cin * c.T, 1), [1, c.Cin, c.T], 'f32', dev);
    const wv = rand(c.Cout * (c.Cin / c.groups) * c.K, 2, 0.05);
    const w = fromHost(wv, [c.Cout, c.Cin / c.groups, c.K], 'f32', dev);
    const b = fromHost(rand(c.Cout, 3), [c.Cout], 'f32', dev);
    const Tout = Math.floor((c.T + 2 * c.pad - c.K) / c.stride) + 1;
    const flops = 2 * c.Cout * (c.Cin / c.groups) * c.K * Tout;
    const f = () => conv1d(x, w, b, { stride: c.stride, padding: c.pad, groups: c.groups, activation: c.gelu ? 'gelu' : 'none' });
    const shape = `[1,${c.Cin},${c.T}] * [${c.Cout},${c.Cin / c.groups},${c.K}] s${c.stride}${c.groups > 1 ? ` g${c.groups}` : ''}`;
    // ours, then (interleaved, same repetitions) the same kernel in its direct layout, then tfjs
    const runners = [gpuRunner(dev, f)];
    const names: [string, string?][] = [];
    if (sg && c.groups === 1) {
      const direct = gpuRunner(dev, f);
      runners.push(async () => {
        dev.tuning.conv1d = { direct: true, co: 8, tpl: 4, wg: 64 };
        try {
          return await direct();
        } finally {
          delete dev.tuning.conv1d;
        }
      });
      names.push(['same kernel, direct layout']);
    }
    let tfIn: TfTensor[] = [];
    if (c.groups === 1 && typeof tf !== 'string') {
      // tfjs: conv1d (NWC input, [K, Cin, Cout] filter), bias and exact GELU (erf) as separate kernels
      const wt = new Float32Array(c.K * c.Cin * c.Cout);
      for (let o = 0; o < c.Cout; o++) for (let i = 0; i < c.Cin; i++) for (let k = 0; k < c.K; k++) wt[(k * c.Cin + i) * c.Cout + o] = wv[(o * c.Cin + i) * c.K + k];
      // the same input, NWC and zero-padded up front (tfjs's numeric conv1d padding also pads a unit height)
      const xs = rand(c.Cin * c.T, 1), xn = new Float32Array((c.T + 2 * c.pad) * c.Cin);
      for (let i = 0; i < c.Cin; i++) for (let t = 0; t < c.T; t++) xn[(t + c.pad) * c.Cin + i] = xs[i * c.T + t];
      const [tx, tw, tb] = (tfIn = [tf.tensor3d(xn, [1, c.T + 2 * c.pad, c.Cin]), tf.tensor3d(wt, [c.K, c.Cin, c.Cout]), tf.tensor1d(rand(c.Cout, 3))]);
      runners.push(tfRunner(tf, () => {
        const y = tf.add(tf.conv1d(tx as never, tw as never, c.stride, 'valid'), tb);
        return tf.mul(tf.mul(y, 0.5), tf.add(tf.erf(tf.mul(y, Math.SQRT1_2)), 1));
      }));
      names.push(['tfjs-webgpu conv1d + bias + GELU (erf)', 'NWC layout; separate kernels']);
    }
    const [t, ...others] = await measure(runners, 3);
    for (const z of tfIn) z.dispose();
    const base = others.map((st, i) => ({ kernel: names[i][0], shape, dtype: 'f32', stats: st, work: flops, gflops: rate(flops, st), ...(names[i][1] ? { note: names[i][1] } : {}) }));
    compare(ctx, { kernel: c.name, shape, dtype: 'f32', stats: t, work: flops, gflops: rate(flops, t), note: sg ? `subgroup-broadcast weights (SG ${sg})` : 'direct layout' }, base);
    dispose(x, w, b);
  }
  ctx.progress('conv2d beats-patch-embed');
  const T = quick ? 300 : 2998;
  const xv = rand(T * 128, 4), wv = rand(512 * 256, 5, 0.06);
  const x = fromHost(xv, [1, 1, T, 128], 'f32', dev);
  const w = fromHost(wv, [512, 1, 16, 16], 'f32', dev);
  const Ho = Math.floor((T - 16) / 16) + 1;
  const flops = 2 * 512 * 256 * Ho * 8;
  const runners = [gpuRunner(dev, () => conv2d(x, w, undefined, { stride: 16 }))];
  let tfIn: TfTensor[] = [];
  if (typeof tf !== 'string') {
    // NHWC input [1, T, 128, 1], filter [16, 16, 1, 512]
    const wt = new Float32Array(256 * 512);
    for (let o = 0; o < 512; o++) for (let k = 0; k < 256; k++) wt[k * 512 + o] = wv[o * 256 + k];
    tfIn = [tf.tensor4d(xv, [1, T, 128, 1]), tf.tensor4d(wt, [16, 16, 1, 512])];
    runners.push(tfRunner(tf, () => tf.conv2d(tfIn[0] as never, tfIn[1] as never, 16, 'valid')));
  }
  const [t, tfT] = await measure(runners, 3);
  for (const z of tfIn) z.dispose();
  const shape = `[1,1,${T},128] * [512,1,16,16] s16`;
  compare(ctx, { kernel: 'conv2d beats-patch-embed', shape, dtype: 'f32', stats: t, work: flops, gflops: rate(flops, t) },
    tfT ? [{ kernel: 'tfjs-webgpu conv2d', shape, dtype: 'f32', stats: tfT, work: flops, gflops: rate(flops, tfT), note: 'NHWC layout' }] : []);
  dispose(x, w);
}
