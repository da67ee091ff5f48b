// One small representative call per kernel variant, through the public ops: running a workload on a Device
// makes it compile the pipelines that variant uses (seen through `Device.onCompile`). `ahamask kernels`
// lists and prints them; the golden WGSL test (test/golden) regenerates a few and compares byte for byte.
// Which variant a call reaches also depends on the adapter (software or not, subgroups): run the catalog on
// a recording device (src/tensor/recording-device.ts) to see another adapter's kernels.
import { UNARY_WGSL, BINARY_WGSL } from '../kernels/elementwise-defs.js';
import { hasKernel, registeredKernels, run1 } from '../kernels/registry.js';
import type { Device } from '../tensor/device.js';
import type { DType } from '../tensor/dtype.js';
import { Tensor, fromHost, tidy } from '../tensor/tensor.js';
import { attention, attentionBackward, attentionNaive, attentionWithLse, kvAppend, kvReorder } from './attention.js';
import { conv1d, conv2d } from './conv.js';
import { matmul } from './matmul.js';
import { dequantize, qlinear, quantizeWeight } from './quant.js';
import { argmax, concat, crossEntropy, crossEntropyPerRow, gather, layerNorm, logSoftmax, max, mean, rmsNorm, rope, softmax, sum } from './reduce.js';

export interface KernelWorkload {
  /** Kernel (registry) name the workload exercises. */
  op: string;
  /** Short name of the variant within the op, unique per op. */
  variant: string;
  /** What the variant is for and when it is picked. */
  about: string;
  run(dev: Device): void;
}

/** Deterministic small values in [-1, 1) (a fixed LCG: the catalog must not depend on a seed elsewhere). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

function t(dev: Device, shape: number[], seed = 1, dtype: DType = 'f32'): Tensor {
  return fromHost(values(shape.reduce((a, b) => a * b, 1), seed), shape, dtype, dev);
}
function ints(dev: Device, v: number[], shape = [v.length]): Tensor {
  return fromHost(Int32Array.from(v), shape, 'i32', dev);
}

const W = (op: string, variant: string, about: string, run: (dev: Device) => void): KernelWorkload => ({ op, variant, about, run });

/** Every workload, in a stable order. Shapes are odd on purpose (no tile multiples) and tiny. */
export const KERNEL_WORKLOADS: KernelWorkload[] = [
  // matmul group
  W('matmul', 'register', 'M x K x N with M > a few rows: the register-blocked kernel (tiled on GPUs)', (d) => void matmul(t(d, [37, 19]), t(d, [19, 23], 2))),
  W('matmul', 'register-f16-transB', 'f16 weight used transposed (Linear layers)', (d) => void matmul(t(d, [37, 32]), t(d, [23, 32], 2, 'f16'), { transB: true })),
  W('matmul', 'batched-epilogue', 'batched, bias + GELU epilogue + residual', (d) => void matmul(t(d, [2, 9, 11]), t(d, [2, 11, 13], 2), { bias: t(d, [13], 3), activation: 'gelu', residual: t(d, [2, 9, 13], 4) })),
  W('matmul', 'gemv', 'a few rows against a K-contiguous weight (decoding)', (d) => void matmul(t(d, [1, 32]), t(d, [24, 32], 2), { transB: true })),
  W('matmul', 'gemv-f16', 'GEMV with an f16 weight', (d) => void matmul(t(d, [2, 32]), t(d, [24, 32], 2, 'f16'), { transB: true })),
  // quantized linear group (LLM weights in int8 / q4; src/ops/quant.ts)
  W('qmatmul', 'gemv-int8', 'LLM.int8 GEMV: per-token int8 activations, an outlier column (|x| > 6) in f32', (d) => {
    const x = values(2 * 40, 7);
    x[5] = 9;
    void qlinear(fromHost(x, [2, 40], 'f32', d), quantizeWeight(values(24 * 40, 2), [24, 40], 'int8', d));
  }),
  W('qmatmul', 'gemv-q4', '4-bit GEMV (decoding), groups of 32 along K', (d) => void qlinear(t(d, [1, 72]), quantizeWeight(values(24 * 72, 2), [24, 72], 'q4', d, 32))),
  W('qmatmul', 'gemm-q4-epilogue', '4-bit GEMM (prefill, training) with bias, GELU and residual', (d) =>
    void qlinear(t(d, [13, 72]), quantizeWeight(values(24 * 72, 2), [24, 72], 'q4', d, 32), t(d, [24], 3), { activation: 'gelu', residual: t(d, [13, 24], 4) })),
  W('qdequant', 'q4', 'dequantized rows (the backward dX = dY W)', (d) => void dequantize(quantizeWeight(values(24 * 72, 2), [24, 72], 'q4', d, 32), 3, 17)),
  // attention group
  W('attention', 'prefill', 'fused forward, Tq > 1 (subgroup variant on CPU adapters, workgroup tiles elsewhere)', (d) => void attention(t(d, [1, 2, 5, 16]), t(d, [1, 2, 7, 16], 2), t(d, [1, 2, 7, 16], 3), { causal: true })),
  W('attention', 'prefill-bias-mask-f16', 'f16 K/V, additive bias, head mask, key lengths', (d) =>
    void attention(t(d, [2, 2, 5, 16]), t(d, [2, 2, 7, 16], 2, 'f16'), t(d, [2, 2, 7, 16], 3, 'f16'), { bias: t(d, [2, 5, 7], 4), headMask: t(d, [2], 5), keyLengths: [7, 6] })),
  W('attention', 'decode', 'one query row against a KV cache (split keys, then a combine pass)', (d) => void attention(t(d, [1, 2, 1, 16]), t(d, [1, 2, 9, 16], 2), t(d, [1, 2, 9, 16], 3), { causal: true })),
  W('attentionBackward', 'backward', 'gradients of q, k, v and the head mask', (d) => {
    const q = t(d, [1, 2, 5, 16]), k = t(d, [1, 2, 7, 16], 2), v = t(d, [1, 2, 7, 16], 3), m = t(d, [2], 5);
    const [o, lse] = attentionWithLse(q, k, v, { causal: true, headMask: m });
    attentionBackward(q, k, v, o, t(d, [1, 2, 5, 16], 6), lse, { causal: true, headMask: m });
  }),
  W('attentionNaive', 'naive', 'three-pass baseline (bench reference)', (d) => void attentionNaive(t(d, [1, 2, 5, 8]), t(d, [1, 2, 7, 8], 2), t(d, [1, 2, 7, 8], 3), { causal: true })),
  W('kvAppend', 'f16-cache', 'writes new keys into an f16 cache', (d) => void kvAppend(t(d, [1, 2, 8, 16], 1, 'f16'), t(d, [1, 2, 3, 16], 2), 2)),
  W('kvReorder', 'beams', 'beam-search reorder of a cache', (d) => void kvReorder(t(d, [2, 2, 8, 16]), [1, 0], 5)),
  // conv group
  W('conv1d', 'gelu', 'Whisper front end: padding 1, fused GELU', (d) => void conv1d(t(d, [1, 3, 17]), t(d, [5, 3, 3], 2), t(d, [5], 3), { padding: 1, activation: 'gelu' })),
  W('conv1d', 'stride2', 'stride 2', (d) => void conv1d(t(d, [1, 3, 17]), t(d, [5, 3, 3], 2), undefined, { stride: 2, padding: 1 })),
  W('conv1d', 'grouped', 'grouped (positional) convolution', (d) => void conv1d(t(d, [1, 4, 17]), t(d, [4, 2, 5], 2), t(d, [4], 3), { padding: 2, groups: 2 })),
  W('conv2d', 'patch', 'BEATs patch embedding (stride = kernel)', (d) => void conv2d(t(d, [1, 1, 12, 10]), t(d, [3, 1, 2, 2], 2), t(d, [3], 3), { stride: 2 })),
  // reduce group
  W('sum', 'last-axis', 'row reduction', (d) => void sum(t(d, [5, 37]), -1)),
  W('mean', 'middle-axis', 'strided reduction', (d) => void mean(t(d, [3, 7, 5]), 1)),
  W('max', 'last-axis', 'row maximum (NaN propagates)', (d) => void max(t(d, [5, 37]), -1)),
  W('softmax', 'rows', 'row softmax', (d) => void softmax(t(d, [5, 37]))),
  W('logSoftmax', 'rows', 'row log-softmax', (d) => void logSoftmax(t(d, [5, 37]))),
  W('layerNorm', 'affine', 'layer norm with weight and bias', (d) => void layerNorm(t(d, [5, 37]), t(d, [37], 2), t(d, [37], 3))),
  W('rmsNorm', 'f32', 'RMSNorm', (d) => void rmsNorm(t(d, [5, 37]), t(d, [37], 2))),
  W('rmsNorm', 'half-cast', "HF's fp16 RMSNorm path", (d) => void rmsNorm(t(d, [5, 37]), t(d, [37], 2, 'f16'), 1e-6, { halfCast: true })),
  W('rope', 'bhtd', 'rotary embedding on [B, H, T, D]', (d) => void rope(t(d, [1, 2, 5, 16]), ints(d, [0, 1, 2, 3, 4]), 10000, { maxPosition: 4 })),
  W('gather', 'f16-table', 'embedding lookup from an f16 table', (d) => void gather(t(d, [11, 16], 1, 'f16'), ints(d, [3, 0, 10]))),
  W('concat', 'axis1', 'concatenation', (d) => void concat([t(d, [3, 5]), t(d, [3, 2], 2)], 1)),
  W('argmax', 'rows', 'row argmax', (d) => void argmax(t(d, [5, 37]))),
  W('crossEntropy', 'mean', 'mean cross-entropy', (d) => void crossEntropy(t(d, [4, 37]), ints(d, [1, 5, -100, 36]))),
  W('crossEntropyPerRow', 'rows', 'per-row cross-entropy', (d) => void crossEntropyPerRow(t(d, [4, 37]), ints(d, [1, 5, -100, 36]))),
  // elementwise and copies
  ...Object.keys(UNARY_WGSL).map((op) => W(op, 'f32', 'unary elementwise', (d) => void run1(op, [t(d, [5, 7])], { alpha: 0.5, beta: 1 }))),
  ...Object.keys(BINARY_WGSL).map((op) => W(op, 'broadcast', 'binary elementwise with broadcasting', (d) => void run1(op, [t(d, [5, 7]), t(d, [7], 2)], { alpha: 0.5 }))),
  W('contiguous', 'transpose', 'strided copy', (d) => void t(d, [5, 7]).transpose(0, 1).contiguous()),
  W('cast', 'f16', 'cast to f16', (d) => void t(d, [5, 7]).cast('f16')),
];

/** Registered WebGPU kernels no workload exercises (the listing says so rather than hiding them). */
export function uncoveredKernels(): string[] {
  const covered = new Set(KERNEL_WORKLOADS.map((w) => w.op));
  return registeredKernels()
    .filter((k) => k.endsWith('/webgpu'))
    .map((k) => k.slice(0, -'/webgpu'.length))
    .filter((op) => !covered.has(op) && hasKernel(op, 'webgpu'));
}

/** A compiled pipeline seen while a workload ran. */
export interface CompiledKernel {
  op: string;
  variant: string;
  key: string;
  wgsl: string;
}

/**
 * Runs the workloads (all, or those whose op is in `ops`) on `dev` and returns the pipelines each one made
 * the device compile, in order. A pipeline already cached on the device is not compiled again, so run on a
 * fresh device to see everything. The device's own onCompile hook still runs.
 */
export async function compileKernels(dev: Device, ops?: string[]): Promise<CompiledKernel[]> {
  const out: CompiledKernel[] = [];
  const prev = dev.onCompile;
  let current: KernelWorkload | null = null;
  dev.onCompile = (key, wgsl) => {
    prev?.(key, wgsl);
    if (current) out.push({ op: current.op, variant: current.variant, key, wgsl });
  };
  try {
    for (const w of KERNEL_WORKLOADS) {
      if (ops && !ops.includes(w.op)) continue;
      current = w;
      tidy(() => w.run(dev));
      await dev.sync();
    }
  } finally {
    dev.onCompile = prev;
  }
  return out;
}
