// Quantized linear weights for the LLM (issue 15): 'int8' (LLM.int8, as SALMONN's `low_resource: True` through
// bitsandbytes: int8 weights with one fp16 scale per output row, activations quantized per token to int8 with
// outlier feature columns kept in f32) and 'q4' (4-bit weights in groups of `group` values along K, each group
// with an fp16 scale and an fp16 minimum: w = q·s + m, q in 0..15). Weights are quantized once on the host from
// the f16/bf16 shards at load time; kernels read the packed words and dequantize in registers.
//
// Layout (one i32 word = 4 int8 or 8 nibbles, little-endian: value j of a word sits at bits 8j / 4j):
//   int8: packed [N, ceil(K/4)] (two's complement bytes), scales f16 [N] (absmax/127 of the row).
//   q4:   packed [N, ceil(K/8)], scales f16 [N, ceil(K/group), 2] = (scale, min) per group.
// Words past K are zero. `qlinear` is one op ('qmatmul') so autograd sees it as a linear with a frozen weight:
// its gradient is dX = dY · W over the dequantized weight (no dW), also for int8 (straight through the
// activation quantization, as bitsandbytes' backward).
import { AhamaskError, ShapeError } from '../errors.js';
import { run1 } from '../kernels/registry.js';
import type { Device } from '../tensor/device.js';
import { roundF16 } from '../tensor/dtype.js';
import { Tensor, fromHost } from '../tensor/tensor.js';
import type { MatmulActivation } from './matmul.js';
import { INT8_THRESHOLD, Q4_GROUP, packedWords, roundHalfEven, type QDequantAttrs, type QMatmulAttrs, type QuantFormat } from '../kernels/signatures.js';

// the formats' constants and the kernels' attrs live below both ops and kernels (src/kernels/signatures.ts)
export { INT8_THRESHOLD, Q4_GROUP, packedWords, roundHalfEven };
export type { QDequantAttrs, QMatmulAttrs, QuantFormat };

/** How the LLM's linear weights are held: checkpoint precision, LLM.int8, or 4-bit groups. */
export type LlmWeightFormat = 'fp16' | 'int8' | 'q4';
export const LLM_WEIGHT_FORMATS: readonly LlmWeightFormat[] = ['fp16', 'int8', 'q4'];



/** Bytes a [N, K] weight takes on the device in a format (fp16: 2 per value). */
export function weightBytes(format: LlmWeightFormat, N: number, K: number, group = Q4_GROUP): number {
  if (format === 'fp16') return 2 * N * K;
  if (format === 'int8') return 4 * N * packedWords('int8', K) + 2 * N;
  return 4 * N * packedWords('q4', K) + 4 * N * Math.ceil(K / group);
}

/** A quantized [N, K] weight (PyTorch Linear layout, out x in) on the CPU or a GPU. */
export class QuantizedWeight {
  constructor(
    readonly format: QuantFormat,
    readonly N: number,
    readonly K: number,
    /** q4: values per (scale, min) group along K; int8: K. */
    readonly group: number,
    /** i32 [N, packedWords]. */
    readonly packed: Tensor,
    /** f16: int8 [N]; q4 [N, groups, 2]. */
    readonly scales: Tensor,
  ) {}
  get shape(): [number, number] {
    return [this.N, this.K];
  }
  get device(): Device | null {
    return this.packed.device;
  }
  get bytes(): number {
    return this.packed.size * 4 + this.scales.size * 2;
  }
  get isDisposed(): boolean {
    return this.packed.isDisposed;
  }
  dispose(): void {
    this.packed.dispose();
    this.scales.dispose();
  }
}


/** Host quantization of a row-major [N, K] weight (values already f32). */
export function quantizeHost(w: Float32Array, N: number, K: number, format: QuantFormat, group = Q4_GROUP): { packed: Int32Array; scales: Float32Array } {
  if (w.length !== N * K) throw new ShapeError(`quantize: ${w.length} values for a [${N}, ${K}] weight`);
  const W = packedWords(format, K);
  const packed = new Int32Array(N * W);
  if (format === 'int8') {
    const scales = new Float32Array(N);
    for (let n = 0; n < N; n++) {
      let amax = 0;
      for (let k = 0; k < K; k++) amax = Math.max(amax, Math.abs(w[n * K + k]));
      const s = roundF16(amax / 127);
      scales[n] = s;
      if (s === 0) continue;
      for (let k = 0; k < K; k++) {
        const q = Math.max(-127, Math.min(127, roundHalfEven(w[n * K + k] / s)));
        packed[n * W + (k >> 2)] |= (q & 0xff) << (8 * (k & 3));
      }
    }
    return { packed, scales };
  }
  if (!(group >= 8 && group % 8 === 0)) throw new ShapeError(`q4 group must be a positive multiple of 8, got ${group}`);
  const G = Math.ceil(K / group);
  const scales = new Float32Array(N * G * 2);
  for (let n = 0; n < N; n++) {
    for (let g = 0; g < G; g++) {
      const k0 = g * group, k1 = Math.min(K, k0 + group);
      let lo = Infinity, hi = -Infinity;
      for (let k = k0; k < k1; k++) {
        const v = w[n * K + k];
        lo = Math.min(lo, v);
        hi = Math.max(hi, v);
      }
      // q from the f16-rounded (scale, min) the kernels will use, so rounding error is not doubled
      const m = roundF16(lo), s = roundF16((hi - m) / 15);
      scales[(n * G + g) * 2] = s;
      scales[(n * G + g) * 2 + 1] = m;
      for (let k = k0; k < k1; k++) {
        const q = s > 0 ? Math.max(0, Math.min(15, roundHalfEven((w[n * K + k] - m) / s))) : 0;
        packed[n * W + (k >> 3)] |= q << (4 * (k & 7));
      }
    }
  }
  return { packed, scales };
}

/** Quantizes a row-major [N, K] weight on the host and places it on the target. */
export function quantizeWeight(w: Float32Array, shape: readonly number[], format: QuantFormat, target: 'cpu' | Device, group = Q4_GROUP): QuantizedWeight {
  if (shape.length !== 2) throw new ShapeError(`quantize: a linear weight must be [out, in], got [${shape}]`);
  const [N, K] = shape;
  const g = format === 'int8' ? K : group;
  const { packed, scales } = quantizeHost(w, N, K, format, g);
  const pt = fromHost(packed, [N, packedWords(format, K)], 'i32', target);
  const st = fromHost(scales, format === 'int8' ? [N] : [N, Math.ceil(K / g), 2], 'f16', target);
  return new QuantizedWeight(format, N, K, g, pt, st);
}



/** Rows [n0, n1) of a quantized weight, dequantized to f32 [n1 - n0, K]. */
export function dequantize(w: QuantizedWeight, n0 = 0, n1 = w.N): Tensor {
  if (!(n0 >= 0 && n1 <= w.N && n0 <= n1)) throw new ShapeError(`dequantize: rows [${n0}, ${n1}) outside [0, ${w.N})`);
  return run1<QDequantAttrs>('qdequant', [w.packed, w.scales], { format: w.format, K: w.K, group: w.group, n0, n1 });
}

/** The weight a 'qmatmul' kernel call was made with, rebuilt from its inputs and attrs (autograd). */
export function weightOf(packed: Tensor, scales: Tensor, a: QMatmulAttrs): QuantizedWeight {
  return new QuantizedWeight(a.format, a.N, a.K, a.group, packed, scales);
}

/**
 * x [..., K] @ W^T (+ bias [N]) (+ activation) (+ residual [..., N]) with a quantized W [N, K]; f32 out.
 * int8 follows LLM.int8 (threshold 6): see the file comment.
 */
export function qlinear(x: Tensor, w: QuantizedWeight, bias?: Tensor, opts: { activation?: MatmulActivation; residual?: Tensor } = {}): Tensor {
  if (w.isDisposed) throw new AhamaskError('qlinear: use of a disposed quantized weight');
  const { N, K } = w;
  if (x.rank < 1 || x.shape[x.rank - 1] !== K) throw new ShapeError(`linear input [${x.shape}] does not end in ${K} (weight [${N}, ${K}])`);
  const lead = x.shape.slice(0, -1);
  const M = lead.reduce((a, b) => a * b, 1);
  const owned: Tensor[] = [];
  const own = (t: Tensor, u: Tensor): Tensor => {
    if (u !== t) owned.push(u);
    return u;
  };
  let x2 = own(x, x.reshape([M, K]));
  if (x2.dtype !== 'f32') x2 = own(x2, x2.cast('f32'));
  if (!x2.isContiguous) x2 = own(x2, x2.contiguous());
  const inputs = [x2, w.packed, w.scales];
  if (bias) {
    if (bias.size !== N) throw new ShapeError(`linear bias must have ${N} elements, got [${bias.shape}]`);
    inputs.push(bias);
  }
  if (opts.residual) {
    const r = opts.residual;
    if (r.size !== M * N || r.shape[r.rank - 1] !== N) throw new ShapeError(`linear residual [${r.shape}] does not match the output [${[...lead, N]}]`);
    let r2 = r.reshape([M, N]);
    if (r2 !== r) owned.push(r2);
    if (!r2.isContiguous) r2 = own(r2, r2.contiguous());
    inputs.push(r2);
  }
  const attrs: QMatmulAttrs = { format: w.format, N, K, group: w.group, activation: opts.activation ?? 'none', hasBias: !!bias, hasResidual: !!opts.residual };
  const y = run1('qmatmul', inputs, attrs);
  for (const t of owned) t.dispose();
  if (lead.length === 1) return y;
  const r = y.reshape([...lead, N]);
  if (r !== y) y.dispose();
  return r;
}

/** The LLM weight format a `model:` config section asks for: `llm_weight_format`, else int8 when `low_resource: True`. */
export function llmWeightFormatOf(model: { low_resource: boolean; llm_weight_format?: LlmWeightFormat | null }): LlmWeightFormat {
  return model.llm_weight_format ?? (model.low_resource ? 'int8' : 'fp16');
}

/** Parses a `--llm-weights` value (null when it is not one of fp16, int8, q4). */
export function parseLlmWeightFormat(s: string | undefined): LlmWeightFormat | null {
  return s === 'fp16' || s === 'int8' || s === 'q4' ? s : null;
}
