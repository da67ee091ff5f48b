// Quantized-weight GEMV (decode, M = 1) at SALMONN-13B's shapes (Vicuna-13B: 5120 -> 5120, 5120 -> 13824,
// 13824 -> 5120) with f16, int8 (LLM.int8: the activation prepass included) and q4 weights, next to a roofline row:
// a WGSL reduction that streams a buffer of the f16 weight's size on the same adapter in the same run. Each
// GEMV row reports GB/s over the bytes its weight occupies and `ratio` = that GB/s / the roofline's (the issue's
// target: >= 0.5 in every mode); the note gives the speed-up over the f16 GEMV. --quick: 3 timed runs each.
import { linear } from '../src/ops/matmul.js';
import { quantizeWeight, type QuantFormat } from '../src/ops/quant.js';
import type { Binding, Device } from '../src/tensor/device.js';
import { empty, fromHost, type Tensor } from '../src/tensor/tensor.js';
import { bindElements, wgslMeta } from '../src/kernels/webgpu/util.js';
import { Ctx, dispose, ms, time } from './harness.js';

const SHAPES: Array<[number, number, string]> = [
  [5120, 5120, 'q/k/v/o_proj 5120->5120'],
  [13824, 5120, 'gate/up_proj 5120->13824'],
  [5120, 13824, 'down_proj 13824->5120'],
];

// Streaming roofline: every invocation sums vec4<u32> words of its grid-stride range (one pass over the
// buffer) and writes one word, so the time is the adapter's read bandwidth plus a negligible write.
const THREADS = 64 * 1024;
const ROOF_CODE = `@group(0) @binding(0) var<storage, read> src: array<vec4<u32>>;
@group(0) @binding(1) var<storage, read_write> dst: array<u32>;
${wgslMeta(2)}
@compute @workgroup_size(256)
fn main(@builtin(global_invocation_id) gid: vec3<u32>) {
  let n = prm[0u]; let o = prm[1u];
  var acc = vec4<u32>(0u);
  for (var i = gid.x; i < n; i += ${THREADS}u) { acc += src[o + i]; }
  dst[gid.x] ^= acc.x + acc.y + acc.z + acc.w;
}`;

/** Records one pass over `buf` (chunked to bindings of at most 64 MiB). */
function roofline(dev: Device, buf: Tensor, out: Tensor): void {
  const p = dev.pipeline('bench:roofline', () => ROOF_CODE);
  const words = buf.size;
  const chunk = 16 * 2 ** 20; // u32 words per binding (64 MiB)
  for (let w0 = 0; w0 < words; w0 += chunk) {
    const n = Math.min(chunk, words - w0);
    const b = bindElements(buf, w0, n);
    const bindings: Binding[] = [b.range, bindElements(out, 0, THREADS).range, dev.meta([Math.floor(n / 4), (w0 - b.sub) / 4])];
    dev.dispatch(p, bindings, THREADS / 256);
  }
}

function randomWeights(n: number, seed: number): Float32Array {
  // cheap deterministic values with a normal-ish spread (quantization cost does not depend on them)
  const v = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    v[i] = ((s >>> 8) / 2 ** 24 - 0.5) * 0.04 + ((s & 255) / 255 - 0.5) * 0.01;
  }
  return v;
}

export async function run(ctx: Ctx): Promise<void> {
  const { dev } = ctx;
  const reps = ctx.quick ? 3 : 5;
  for (const [N, K, name] of SHAPES) {
    const shape = `[1,${K}]x[${N},${K}]^T ${name}`;
    const f16Bytes = 2 * N * K;
    const w = randomWeights(N * K, N + K);
    const x = fromHost(randomWeights(K, 7), [1, K], 'f32', dev);
    // roofline over a buffer the size of the f16 weight
    const buf = empty([f16Bytes / 4], 'i32', dev, false);
    const out = empty([THREADS], 'i32', dev);
    const roof = await time(dev, () => roofline(dev, buf, out), reps);
    const roofGbps = f16Bytes / 1e6 / ms(roof);
    ctx.report({ kernel: 'roofline (WGSL read)', shape: `${(f16Bytes / 2 ** 20).toFixed(0)} MiB`, dtype: 'u32', ...roof, gbps: roofGbps });
    dispose(buf, out);
    const wf = fromHost(w, [N, K], 'f16', dev);
    const tf = await time(dev, () => linear(x, wf), reps);
    const fGbps = f16Bytes / 1e6 / ms(tf);
    ctx.report({ kernel: 'gemv f16', shape, dtype: 'f16', ...tf, gbps: fGbps, baseline: 'roofline', ratio: fGbps / roofGbps, note: `${(f16Bytes / 2 ** 20).toFixed(1)} MiB of weights` });
    wf.dispose();
    for (const f of ['int8', 'q4'] as QuantFormat[]) {
      const q = quantizeWeight(w, [N, K], f, dev);
      const t = await time(dev, () => linear(x, q), reps);
      const gbps = q.bytes / 1e6 / ms(t);
      ctx.report({
        kernel: `gemv ${f}`, shape, dtype: f, ...t, gbps, baseline: 'roofline', ratio: gbps / roofGbps,
        note: `${(q.bytes / 2 ** 20).toFixed(1)} MiB; ${(ms(tf) / ms(t)).toFixed(2)}x the f16 GEMV's speed`,
      });
      q.dispose();
    }
    x.dispose();
  }
}
