// The naive three-pass attention, the bench baseline: S = scale·QKᵀ (one invocation per score, causal
// entries -inf), a row softmax in place (one invocation per row), O = P·V (one invocation per output).
// Materialises the full [B, H, Tq, Tk] score matrix.
import type { Device } from '../../tensor/device.js';
import { Tensor } from '../../tensor/tensor.js';
import { metaLayout } from './meta-layout.js';
import { WGSL_INDEX, WGSL_MAIN_ARGS, bindWhole, f32Bits, grid, newOutput, wgslInput, wgslMeta } from './util.js';

/** Offset (relative to the binding) and the [b, h, t, d] strides of a q/k/v operand. */
const VIEW = ['off', 'sb', 'sh', 'st', 'sd'] as const;
function view(t: Tensor, sub: number): number[] {
  return [t.offset - sub, ...t.strides];
}
// Pass 1 (scores), pass 2 (row softmax) and pass 3 (P·V) metadata.
const S1 = metaLayout(['B', 'H', 'Tq', 'Tk', 'D', 'scale', ['q', VIEW], ['k', VIEW], 'qoff']);
const S2 = metaLayout(['rows', 'Tk']);
const S3 = metaLayout(['B', 'H', 'Tq', 'Tk', 'D', ['v', VIEW]]);

export function attentionNaive(inputs: Tensor[], a: { scale: number; causal: boolean }): Tensor {
  const [q, k, v] = inputs;
  const dev: Device = q.device!;
  const [B, H, Tq, D] = q.shape;
  const Tk = k.shape[2];
  const S = newOutput(dev, [B, H, Tq, Tk]);
  const out = newOutput(dev, [B, H, Tq, D]);
  if (out.size === 0) return out;
  const bq = bindWhole(q), bk = bindWhole(k), bv = bindWhole(v);
  // pass 1: scores
  const p1 = dev.pipeline(`attnNaive1:${q.dtype}${k.dtype}:${a.causal}`, () => `${wgslInput(0, 'q', q.dtype)}
${wgslInput(1, 'k', k.dtype)}
@group(0) @binding(2) var<storage, read_write> s: array<f32>;
${wgslMeta(3)}
@compute @workgroup_size(256)
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  let H = ${S1.p('H')}; let Tq = ${S1.p('Tq')}; let Tk = ${S1.p('Tk')}; let D = ${S1.p('D')};
  if (gi_ >= ${S1.p('B')} * H * Tq * Tk) { return; }
  let j = gi_ % Tk; let i = (gi_ / Tk) % Tq; let h = (gi_ / (Tk * Tq)) % H; let b = gi_ / (Tk * Tq * H);
  ${a.causal ? `if (i32(j) > i32(i) + bitcast<i32>(${S1.p('qoff')})) { s[gi_] = -3.0e38; return; }` : ''}
  let qo = ${S1.p('q.off')} + b * ${S1.p('q.sb')} + h * ${S1.p('q.sh')} + i * ${S1.p('q.st')};
  let ko = ${S1.p('k.off')} + b * ${S1.p('k.sb')} + h * ${S1.p('k.sh')} + j * ${S1.p('k.st')};
  var acc = 0.0;
  for (var d = 0u; d < D; d++) { acc += ld_q(qo + d * ${S1.p('q.sd')}) * ld_k(ko + d * ${S1.p('k.sd')}); }
  s[gi_] = acc * bitcast<f32>(${S1.p('scale')});
}`);
  const m1 = S1.write({ B, H, Tq, Tk, D, scale: f32Bits(a.scale), q: view(q, bq.sub), k: view(k, bk.sub), qoff: Tk - Tq });
  dev.dispatch(p1, [bq.range, bk.range, S.storage.buffer!, dev.meta(m1)], ...grid(dev, B * H * Tq * Tk));
  // pass 2: softmax per row, in place
  const p2 = dev.pipeline('attnNaive2', () => `@group(0) @binding(0) var<storage, read_write> s: array<f32>;
${wgslMeta(1)}
@compute @workgroup_size(256)
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  let Tk = ${S2.p('Tk')};
  if (gi_ >= ${S2.p('rows')}) { return; }
  let base = gi_ * Tk;
  var mx = -3.4e38;
  for (var j = 0u; j < Tk; j++) { mx = max(mx, s[base + j]); }
  var sum = 0.0;
  for (var j = 0u; j < Tk; j++) { let e = exp(s[base + j] - mx); s[base + j] = e; sum += e; }
  let inv = select(0.0, 1.0 / sum, sum > 0.0);
  for (var j = 0u; j < Tk; j++) { s[base + j] *= inv; }
}`);
  dev.dispatch(p2, [S.storage.buffer!, dev.meta(S2.write({ rows: B * H * Tq, Tk }))], ...grid(dev, B * H * Tq));
  // pass 3: O = P V
  const p3 = dev.pipeline(`attnNaive3:${v.dtype}`, () => `@group(0) @binding(0) var<storage, read> s: array<f32>;
${wgslInput(1, 'v', v.dtype)}
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
${wgslMeta(3)}
@compute @workgroup_size(256)
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  let H = ${S3.p('H')}; let Tq = ${S3.p('Tq')}; let Tk = ${S3.p('Tk')}; let D = ${S3.p('D')};
  if (gi_ >= ${S3.p('B')} * H * Tq * D) { return; }
  let d = gi_ % D; let i = (gi_ / D) % Tq; let h = (gi_ / (D * Tq)) % H; let b = gi_ / (D * Tq * H);
  let vo = ${S3.p('v.off')} + b * ${S3.p('v.sb')} + h * ${S3.p('v.sh')} + d * ${S3.p('v.sd')};
  let so = ((b * H + h) * Tq + i) * Tk;
  var acc = 0.0;
  for (var j = 0u; j < Tk; j++) { acc += s[so + j] * ld_v(vo + j * ${S3.p('v.st')}); }
  o[gi_] = acc;
}`);
  const m3 = S3.write({ B, H, Tq, Tk, D, v: view(v, bv.sub) });
  dev.dispatch(p3, [S.storage.buffer!, bv.range, out.storage.buffer!, dev.meta(m3)], ...grid(dev, B * H * Tq * D));
  S.dispose();
  return out;
}
