// The naive three-pass attention, the bench baseline: S = scale·QKᵀ (one invocation per score, causal
// entries -inf), a row softmax in place (one invocation per row), O = P·V (one invocation per output).
// Materialises the full [B, H, Tq, Tk] score matrix.
import type { Device } from '../../tensor/device.js';
import { Tensor } from '../../tensor/tensor.js';
import { WGSL_INDEX, WGSL_MAIN_ARGS, bindWhole, f32Bits, grid, newOutput, wgslInput, wgslMeta } from './util.js';

function meta4(t: Tensor, sub: number): number[] {
  return [t.offset - sub, ...t.strides];
}

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
  let H = prm[1]; let Tq = prm[2]; let Tk = prm[3]; let D = prm[4];
  if (gi_ >= prm[0] * H * Tq * Tk) { return; }
  let j = gi_ % Tk; let i = (gi_ / Tk) % Tq; let h = (gi_ / (Tk * Tq)) % H; let b = gi_ / (Tk * Tq * H);
  ${a.causal ? 'if (i32(j) > i32(i) + bitcast<i32>(prm[16])) { s[gi_] = -3.0e38; return; }' : ''}
  let qo = prm[6] + b * prm[7] + h * prm[8] + i * prm[9];
  let ko = prm[11] + b * prm[12] + h * prm[13] + j * prm[14];
  var acc = 0.0;
  for (var d = 0u; d < D; d++) { acc += ld_q(qo + d * prm[10]) * ld_k(ko + d * prm[15]); }
  s[gi_] = acc * bitcast<f32>(prm[5]);
}`);
  const m1 = [B, H, Tq, Tk, D, f32Bits(a.scale), ...meta4(q, bq.sub), ...meta4(k, bk.sub), Tk - Tq];
  dev.dispatch(p1, [bq.range, bk.range, S.storage.buffer!, dev.meta(m1)], ...grid(dev, B * H * Tq * Tk));
  // pass 2: softmax per row, in place
  const p2 = dev.pipeline('attnNaive2', () => `@group(0) @binding(0) var<storage, read_write> s: array<f32>;
${wgslMeta(1)}
@compute @workgroup_size(256)
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  let Tk = prm[1];
  if (gi_ >= prm[0]) { return; }
  let base = gi_ * Tk;
  var mx = -3.4e38;
  for (var j = 0u; j < Tk; j++) { mx = max(mx, s[base + j]); }
  var sum = 0.0;
  for (var j = 0u; j < Tk; j++) { let e = exp(s[base + j] - mx); s[base + j] = e; sum += e; }
  let inv = select(0.0, 1.0 / sum, sum > 0.0);
  for (var j = 0u; j < Tk; j++) { s[base + j] *= inv; }
}`);
  dev.dispatch(p2, [S.storage.buffer!, dev.meta([B * H * Tq, Tk])], ...grid(dev, B * H * Tq));
  // pass 3: O = P V
  const p3 = dev.pipeline(`attnNaive3:${v.dtype}`, () => `@group(0) @binding(0) var<storage, read> s: array<f32>;
${wgslInput(1, 'v', v.dtype)}
@group(0) @binding(2) var<storage, read_write> o: array<f32>;
${wgslMeta(3)}
@compute @workgroup_size(256)
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  let H = prm[1]; let Tq = prm[2]; let Tk = prm[3]; let D = prm[4];
  if (gi_ >= prm[0] * H * Tq * D) { return; }
  let d = gi_ % D; let i = (gi_ / D) % Tq; let h = (gi_ / (D * Tq)) % H; let b = gi_ / (D * Tq * H);
  let vo = prm[5] + b * prm[6] + h * prm[7] + d * prm[9];
  let so = ((b * H + h) * Tq + i) * Tk;
  var acc = 0.0;
  for (var j = 0u; j < Tk; j++) { acc += s[so + j] * ld_v(vo + j * prm[8]); }
  o[gi_] = acc;
}`);
  const m3 = [B, H, Tq, Tk, D, ...meta4(v, bv.sub)];
  dev.dispatch(p3, [S.storage.buffer!, bv.range, out.storage.buffer!, dev.meta(m3)], ...grid(dev, B * H * Tq * D));
  S.dispose();
  return out;
}
