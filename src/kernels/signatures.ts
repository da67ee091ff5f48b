// Kernel signatures (as tfjs-core's kernel_names.ts): the attrs each kernel receives and the order of its
// inputs, declared once below both the ops (src/ops, which validate and build them) and the kernels
// (src/kernels/{cpu,webgpu}, which read them). Kernels import from here, never from src/ops.
import { ShapeError } from '../errors.js';
import { broadcastShapes } from '../tensor/shape.js';
import type { Tensor } from '../tensor/tensor.js';

/**
 * The optional inputs of a kernel call, in order after the `first` required ones: each flag says whether
 * that input is present (absent ones take no slot). The one helper every kernel with optional inputs uses.
 */
export function optionalInputs(inputs: Tensor[], first: number, present: boolean[]): (Tensor | undefined)[] {
  let i = first;
  return present.map((p) => (p ? inputs[i++] : undefined));
}

// ---- matmul ---------------------------------------------------------------------------------------------

export type MatmulActivation = 'gelu' | 'silu' | 'relu' | 'none';

/** Attributes of the 'matmul' kernel; inputs are [a, b, bias?, residual?] in that order. */
export interface MatmulAttrs {
  transA: boolean;
  transB: boolean;
  activation: MatmulActivation;
  alpha: number;
  hasBias: boolean;
  hasResidual: boolean;
}

/** Splits the 'matmul' kernel inputs [a, b, bias?, residual?] by the attrs' flags. */
export function matmulInputs(inputs: Tensor[], attrs: MatmulAttrs): { a: Tensor; b: Tensor; bias: Tensor | null; residual: Tensor | null } {
  const [bias, residual] = optionalInputs(inputs, 2, [attrs.hasBias, attrs.hasResidual]);
  return { a: inputs[0], b: inputs[1], bias: bias ?? null, residual: residual ?? null };
}

/** Batch shape, M, K, N and output shape of a matmul; throws ShapeError on mismatches. */
export function matmulShapes(a: Tensor, b: Tensor, transA: boolean, transB: boolean): { batch: number[]; M: number; K: number; N: number; out: number[] } {
  if (a.rank < 2 || b.rank < 2) throw new ShapeError(`matmul needs operands of rank >= 2, got [${a.shape}] and [${b.shape}]`);
  const [ar, ac] = a.shape.slice(-2), [br, bc] = b.shape.slice(-2);
  const M = transA ? ac : ar, K = transA ? ar : ac;
  const Kb = transB ? bc : br, N = transB ? br : bc;
  if (K !== Kb) {
    throw new ShapeError(`matmul inner dimensions differ: a [${a.shape}]${transA ? '^T' : ''} has K=${K}, b [${b.shape}]${transB ? '^T' : ''} has K=${Kb}`);
  }
  let batch: number[];
  try {
    batch = broadcastShapes(a.shape.slice(0, -2), b.shape.slice(0, -2));
  } catch {
    throw new ShapeError(`matmul batch dimensions of [${a.shape}] and [${b.shape}] cannot be broadcast`);
  }
  return { batch, M, K, N, out: [...batch, M, N] };
}

// ---- attention ------------------------------------------------------------------------------------------

/**
 * Plain-data attributes the attention kernels receive (also what the autograd tape records). Inputs: q, k, v,
 * then bias, headMask, keyLengths when flagged ('attentionBackward': q, k, v, o, dO, lse, then the same).
 */
export interface AttentionAttrs {
  causal: boolean;
  scale: number;
  queryOffset: number;
  /** Per-batch key lengths given on the host. */
  keyLengths?: number[];
  hasBias?: boolean;
  hasMask?: boolean;
  /** keyLengths given as a tensor (input after bias/mask). */
  hasLensTensor?: boolean;
  /** Also return the row logsumexp [B, H, Tq]. */
  returnLse?: boolean;
}

// ---- quantized linear (qmatmul, qdequant; src/ops/quant.ts) ------------------------------------------------

export type QuantFormat = 'int8' | 'q4';

/** Default q4 group along K: 128 values share one (scale, min) pair: 4.25 bits per weight. */
export const Q4_GROUP = 128;
/** LLM.int8's outlier threshold: feature columns with any |x| >= 6 are multiplied in f32. */
export const INT8_THRESHOLD = 6;

/** Words per packed row. */
export function packedWords(format: QuantFormat, K: number): number {
  return format === 'int8' ? Math.ceil(K / 4) : Math.ceil(K / 8);
}

/** Rounds half to even, as torch.round and WGSL round(). */
export function roundHalfEven(v: number): number {
  const r = Math.round(v);
  return r - v === 0.5 && r % 2 !== 0 ? r - 1 : r;
}

/** Attributes of the 'qmatmul' kernel: inputs [x [M, K] f32 contiguous, packed, scales, bias?, residual? [M, N]]. */
export interface QMatmulAttrs {
  format: QuantFormat;
  N: number;
  K: number;
  group: number;
  activation: MatmulActivation;
  hasBias: boolean;
  hasResidual: boolean;
}

/** Attributes of 'qdequant': rows [n0, n1) of the weight as f32 [n1 - n0, K]. */
export interface QDequantAttrs {
  format: QuantFormat;
  K: number;
  group: number;
  n0: number;
  n1: number;
}
