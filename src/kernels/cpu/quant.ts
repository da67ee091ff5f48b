// CPU references of the quantized-weight kernels (registered on import): 'qmatmul' (x @ dequant(W)^T with the
// matmul epilogue; int8 with LLM.int8's activation quantization, computed the way the WGSL kernel does it:
// per-column outlier flags over all rows, per-row absmax of the non-outlier values, x·(127/absmax) rounded half
// to even, integer dot products plus the outlier columns in float) and 'qdequant'.
import { INT8_THRESHOLD, packedWords, roundHalfEven, type QDequantAttrs, type QMatmulAttrs } from '../signatures.js';
import { Tensor, empty } from '../../tensor/tensor.js';
import { registerKernel } from '../registry.js';
import { MATMUL_ACT_CPU } from './matmul.js';

/** Weight value (n, k) of packed words `p` and scales `s` (host arrays of the whole weight). */
function weightAt(format: QMatmulAttrs['format'], p: Int32Array, s: ArrayLike<number>, K: number, group: number, n: number, k: number): number {
  if (format === 'int8') {
    const word = p[n * packedWords('int8', K) + (k >> 2)];
    return ((word << (24 - 8 * (k & 3))) >> 24) * s[n];
  }
  const word = p[n * packedWords('q4', K) + (k >> 3)];
  const q = (word >>> (4 * (k & 7))) & 15;
  const gi = (n * Math.ceil(K / group) + Math.floor(k / group)) * 2;
  return q * s[gi] + s[gi + 1];
}

function hostOf(t: Tensor): ArrayLike<number> {
  return t.isContiguous && t.offset === 0 ? t.storage.host! : t.dataSync();
}

/** LLM.int8 activation quantization of x [M, K]: outlier columns, per-row scale (absmax/127) and int8 values. */
export function int8Activations(x: ArrayLike<number>, M: number, K: number): { outlier: Uint8Array; rowScale: Float32Array; xq: Int8Array } {
  const outlier = new Uint8Array(K), rowScale = new Float32Array(M), xq = new Int8Array(M * K);
  for (let m = 0; m < M; m++) for (let k = 0; k < K; k++) if (Math.abs(x[m * K + k]) >= INT8_THRESHOLD) outlier[k] = 1;
  for (let m = 0; m < M; m++) {
    let amax = 0;
    for (let k = 0; k < K; k++) {
      const a = Math.abs(x[m * K + k]);
      if (a < INT8_THRESHOLD) amax = Math.max(amax, a);
    }
    rowScale[m] = amax / 127;
    const inv = amax > 0 ? Math.fround(127 / amax) : 0;
    for (let k = 0; k < K; k++) xq[m * K + k] = outlier[k] ? 0 : roundHalfEven(Math.fround(x[m * K + k] * inv));
  }
  return { outlier, rowScale, xq };
}

export function qmatmulCpu(inputs: Tensor[], a: QMatmulAttrs): Tensor {
  const [x, packed, scales] = inputs;
  let i = 3;
  const bias = a.hasBias ? inputs[i++].dataSync() : null;
  const res = a.hasResidual ? hostOf(inputs[i++]) : null;
  const { N, K, group, format } = a;
  const M = x.shape[0];
  const xv = hostOf(x), p = packed.dataSync() as Int32Array, s = scales.dataSync();
  const out = empty([M, N], 'f32', 'cpu');
  const y = out.storage.host!;
  const act = MATMUL_ACT_CPU[a.activation];
  // dequantized row n of W, reused across the M rows
  const wrow = new Float64Array(K);
  const q8 = format === 'int8' ? int8Activations(xv, M, K) : null;
  const W8 = packedWords('int8', K);
  for (let n = 0; n < N; n++) {
    if (format === 'q4') for (let k = 0; k < K; k++) wrow[k] = weightAt(format, p, s, K, group, n, k);
    for (let m = 0; m < M; m++) {
      let acc = 0;
      if (q8) {
        let ci = 0, cf = 0;
        for (let k = 0; k < K; k++) {
          const q = (p[n * W8 + (k >> 2)] << (24 - 8 * (k & 3))) >> 24;
          if (q8.outlier[k]) cf += xv[m * K + k] * q;
          else ci += q8.xq[m * K + k] * q;
        }
        acc = s[n] * (ci * q8.rowScale[m] + cf);
      } else {
        for (let k = 0; k < K; k++) acc += xv[m * K + k] * wrow[k];
      }
      let v = acc;
      if (bias) v += bias[n];
      v = act(v);
      if (res) v += res[m * N + n];
      y[m * N + n] = v;
    }
  }
  return out;
}

export function qdequantCpu(inputs: Tensor[], a: QDequantAttrs): Tensor {
  const [packed, scales] = inputs;
  const p = packed.dataSync() as Int32Array, s = scales.dataSync();
  const out = empty([a.n1 - a.n0, a.K], 'f32', 'cpu');
  const y = out.storage.host!;
  for (let n = a.n0; n < a.n1; n++) for (let k = 0; k < a.K; k++) y[(n - a.n0) * a.K + k] = weightAt(a.format, p, s, a.K, a.group, n, k);
  return out;
}

registerKernel<QMatmulAttrs>('qmatmul', 'cpu', (inputs, attrs) => qmatmulCpu(inputs, attrs));
registerKernel<QDequantAttrs>('qdequant', 'cpu', (inputs, attrs) => qdequantCpu(inputs, attrs));
