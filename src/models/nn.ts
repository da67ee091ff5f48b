// Small layer helpers shared by the SALMONN modules (thin wrappers over the ops).
import { linear, layerNorm } from '../ops/index.js';
import { ShapeError } from '../errors.js';
import type { Tensor } from '../tensor/tensor.js';
import type { LinearW, NormW } from './weights.js';

export type Activation = 'gelu' | 'silu' | 'relu' | 'none';

/** y = x W^T + b (+ activation, + residual). */
export function lin(x: Tensor, p: LinearW, opts: { activation?: Activation; residual?: Tensor } = {}): Tensor {
  return linear(x, p.w, p.b ?? undefined, opts);
}

export function norm(x: Tensor, p: NormW): Tensor {
  return layerNorm(x, p.w, p.b, p.eps);
}

/** [B, T, H*D] -> [B, H, T, D] (a strided view). */
export function splitHeads(x: Tensor, heads: number): Tensor {
  const [B, T, C] = x.shape;
  if (C % heads !== 0) throw new ShapeError(`width ${C} is not divisible by ${heads} heads`);
  return x.reshape([B, T, heads, C / heads]).permute([0, 2, 1, 3]);
}

/** [B, H, T, D] -> [B, T, H*D] (contiguous). */
export function mergeHeads(x: Tensor): Tensor {
  const [B, H, T, D] = x.shape;
  return x.permute([0, 2, 1, 3]).contiguous().reshape([B, T, H * D]);
}

/** Runs `f` over a sequence of layers, disposing each intermediate activation (never the input). */
export function runLayers<L>(x: Tensor, layers: readonly L[], f: (x: Tensor, layer: L, i: number) => Tensor): Tensor {
  let cur = x;
  layers.forEach((layer, i) => {
    const next = f(cur, layer, i);
    if (cur !== x) cur.dispose();
    cur = next;
  });
  return cur;
}
