// Convolutions at the audio front-ends' shapes: Whisper's conv1 (80 -> 1280, k3) and conv2 (1280 -> 1280,
// k3, stride 2) over 3000 frames with fused GELU, BEATs' grouped positional conv (768 ch, k128, 16 groups)
// and its 16x16/16 patch embedding. --quick shrinks channels and lengths. The in-run baseline for the 1-D
// kernels is the same kernel in its direct layout (no subgroup broadcast) where that differs.
import { conv1d, conv2d } from '../src/ops/conv.js';
import { cpuSubgroupSize } from '../src/kernels/webgpu/attention.js';
import { fromHost } from '../src/tensor/tensor.js';
import { Ctx, dispose, ms, time } from './harness.js';

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
  const c1 = [
    { name: 'conv1d whisper-conv1 +gelu', Cin: 80, Cout: quick ? 256 : 1280, T: quick ? 600 : 3000, K: 3, stride: 1, pad: 1, groups: 1, gelu: true },
    { name: 'conv1d whisper-conv2 +gelu', Cin: quick ? 256 : 1280, Cout: quick ? 256 : 1280, T: quick ? 600 : 3000, K: 3, stride: 2, pad: 1, groups: 1, gelu: true },
    { name: 'conv1d beats-posconv grouped +gelu', Cin: 768, Cout: 768, T: quick ? 100 : 1496, K: 128, stride: 1, pad: 64, groups: 16, gelu: true },
  ];
  for (const c of c1) {
    const x = fromHost(rand(c.Cin * c.T, 1), [1, c.Cin, c.T], 'f32', dev);
    const w = fromHost(rand(c.Cout * (c.Cin / c.groups) * c.K, 2, 0.05), [c.Cout, c.Cin / c.groups, c.K], 'f32', dev);
    const b = fromHost(rand(c.Cout, 3), [c.Cout], 'f32', dev);
    const Tout = Math.floor((c.T + 2 * c.pad - c.K) / c.stride) + 1;
    const flops = 2 * c.Cout * (c.Cin / c.groups) * c.K * Tout;
    const f = () => conv1d(x, w, b, { stride: c.stride, padding: c.pad, groups: c.groups, activation: c.gelu ? 'gelu' : 'none' });
    const reps = quick || flops < 4e9 ? 3 : 2;
    const ours = await time(dev, f, reps);
    const shape = `[1,${c.Cin},${c.T}] * [${c.Cout},${c.Cin / c.groups},${c.K}] s${c.stride}${c.groups > 1 ? ` g${c.groups}` : ''}`;
    let extra = {};
    if (sg && c.groups === 1) {
      dev.tuning.conv1d = { direct: true, co: 8, tpl: 4, wg: 64 };
      try {
        const direct = await time(dev, f, 1, quick ? 1 : 0);
        extra = { baseline: 'same kernel, direct layout', ratio: ms(direct) / ms(ours) };
      } finally {
        delete dev.tuning.conv1d;
      }
    }
    ctx.report({ kernel: c.name, shape, dtype: 'f32', ...ours, gflops: flops / ms(ours) / 1e6, ...extra, note: sg ? `subgroup-broadcast weights (SG ${sg})` : 'direct layout' });
    dispose(x, w, b);
  }
  const T = quick ? 300 : 2998;
  const x = fromHost(rand(T * 128, 4), [1, 1, T, 128], 'f32', dev);
  const w = fromHost(rand(512 * 256, 5, 0.06), [512, 1, 16, 16], 'f32', dev);
  const Ho = Math.floor((T - 16) / 16) + 1;
  const flops = 2 * 512 * 256 * Ho * 8;
  const t = await time(dev, () => conv2d(x, w, undefined, { stride: 16 }), 3);
  ctx.report({ kernel: 'conv2d beats-patch-embed', shape: `[1,1,${T},128] * [512,1,16,16] s16`, dtype: 'f32', ...t, gflops: flops / ms(t) / 1e6 });
  dispose(x, w);
}
