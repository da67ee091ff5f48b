// peft 0.3.0 LoRA as SALMONN uses it (spec §3.6): y = W x + (alpha/r) * B(A x) on q_proj and v_proj of every LLaMA
// layer, not merged. The scaling is folded into B at load time (exact for alpha/r = 4).
import { linear } from '../ops/index.js';
import { SALMONN_LORA_PREFIX, type WeightMap } from '../io/keymaps.js';
import type { Tensor } from '../tensor/tensor.js';
import { Loader, type Target, type OnTensor } from './weights.js';

export interface LoraAdapter {
  /** A [r, in] (f32). */
  a: Tensor;
  /** scaling * B [out, r] (f32). */
  b: Tensor;
}

export interface LoraConfig {
  rank: number;
  alpha: number;
  /** Target modules under self_attn (peft 0.3.0 LLaMA default: q_proj, v_proj). */
  modules?: string[];
}

export const LORA_DEFAULT_MODULES = ['q_proj', 'v_proj'];

/** Canonical (keymaps) name of a LoRA matrix. */
export function loraKey(layer: number, module: string, ab: 'lora_A' | 'lora_B'): string {
  return `${SALMONN_LORA_PREFIX}${layer}.self_attn.${module}.${ab}.weight`;
}

/** Loads the adapters of every layer: result[layer][module]. */
export async function loadLora(map: WeightMap, layers: number, cfg: LoraConfig, target: Target, onTensor?: OnTensor): Promise<Array<Record<string, LoraAdapter>>> {
  const ld = new Loader(map, target, 'f32', onTensor);
  const scaling = cfg.alpha / cfg.rank;
  const out: Array<Record<string, LoraAdapter>> = [];
  for (let l = 0; l < layers; l++) {
    const rec: Record<string, LoraAdapter> = {};
    for (const m of cfg.modules ?? LORA_DEFAULT_MODULES) {
      const a = await ld.tensor(loraKey(l, m, 'lora_A'), 'f32');
      const bSt = ld.stored(loraKey(l, m, 'lora_B'));
      const bv = await bSt.toFloat32();
      for (let i = 0; i < bv.length; i++) bv[i] *= scaling;
      rec[m] = { a, b: ld.fromHost(bv, bSt.shape, loraKey(l, m, 'lora_B')) };
    }
    out.push(rec);
  }
  return out;
}

/** base(x) + scaling * B(A x), with the LoRA branch in f32 added to the base projection. */
export function withLora(x: Tensor, base: Tensor, ad: LoraAdapter | undefined): Tensor {
  if (!ad) return base;
  return linear(linear(x, ad.a), ad.b, undefined, { residual: base });
}
