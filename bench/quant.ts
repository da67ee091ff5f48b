// Quantized-weight GEMV (decode, M = 1) at SALMONN-13B's shapes (Vicuna-13B: 5120 -> 5120, 5120 -> 13824,
// 13824 -> 5120) with f16, int8 (LLM.int8: the activation prepass included) and q4 weights, next to a roofline row:
// a WGSL reduction that streams a buffer of the f16 weight's size on the same adapter in the same run. Each
// GEMV row reports GB/s over the bytes its weight occupies and `ratio` = that GB/s / the roofline's (the issue's
// target: >= 0.5 in every mode); the note gives the speed-up over the f16 GEMV. Rows of a shape run in interleaved rounds (best of each; --quick: 3).
import { linear } from '../src/ops/matmul.js';
import { quantizeWeight, type QuantFormat } from '../src/ops/quant.js';
import type { Binding, Device } from '../src/tensor/device.js';
import { empty, fromHost, type Tensor } from '../src/tensor/tensor.js';
import { bindElements, wgslMeta } from '../src/kernels/webgpu/util.js';
import { Ctx, compare, dispose, gpuRunner, measure, ms, rate } from './harness.js';

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
  // the machine is shared: the four rows of a shape are timed in interleaved rounds, best of each
  const rounds = ctx.quick ? 3 : 5;
  for (const [N, K, name] of SHAPES) {
    const shape = `[1,${K}]x[${N},${K}]^T ${name}`;
    const f16Bytes = 2 * N * K;
    const w = randomWeights(N * K, N + K);
    const x = fromHost(randomWeights(K, 7), [1, K], 'f32', dev);
    const buf = empty([f16Bytes / 4], 'i32', dev, false); // roofline: a buffer the size of the f16 weight
    const out = empty([THREADS], 'i32', dev);
    const wf = fromHost(w, [N, K], 'f16', dev);
    const q8 = quantizeWeight(w, [N, K], 'int8', dev), q4 = quantizeWeight(w, [N, K], 'q4', dev);
    const cases: Array<{ label: string; bytes: number; rec: () => unknown }> = [
      { label: 'roofline', bytes: f16Bytes, rec: () => roofline(dev, buf, out) },
      { label: 'f16', bytes: f16Bytes, rec: () => linear(x, wf) },
      { label: 'int8', bytes: q8.bytes, rec: () => linear(x, q8) },
      { label: 'q4', bytes: q4.bytes, rec: () => linear(x, q4) },
    ];
    // all four interleaved, warmed and repeated alike; the roofline row follows each GEMV row as its baseline, so
    // its speedup is the GEMV's fraction of the adapter's streaming bandwidth over the bytes each one reads
    const stats = await measure(cases.map((c) => gpuRunner(dev, c.rec)), rounds, 1);
    const roofRow = { kernel: 'roofline (WGSL read)', shape: `${(f16Bytes / 2 ** 20).toFixed(0)} MiB`, dtype: 'u32', stats: stats[0], work: f16Bytes, gbps: rate(f16Bytes, stats[0]) };
    for (let i = 1; i < cases.length; i++) {
      const c = cases[i];
      compare(ctx, {
        kernel: `gemv ${c.label}`, shape, dtype: c.label, stats: stats[i], work: c.bytes, gbps: rate(c.bytes, stats[i]),
        note: `${(c.bytes / 2 ** 20).toFixed(1)} MiB of weights${i > 1 ? `; ${(ms(stats[1]) / ms(stats[i])).toFixed(2)}x the f16 GEMV's speed` : ''}`,
      }, [roofRow]);
    }
    dispose(buf, out, wf, x);
    q8.dispose();
    q4.dispose();
  }
}
