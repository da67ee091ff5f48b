// Weight upload for the SALMONN modules: validated WeightMaps (src/io/keymaps.ts) -> engine tensors on the
// CPU backend or a GPU Device, tensor by tensor (never a whole file in memory).
import { MissingKeysError } from '../errors.js';
import type { WeightMap } from '../io/keymaps.js';
import type { StoredTensor } from '../io/torch.js';
import { QuantizedWeight } from '../ops/quant.js';
import type { Device } from '../tensor/device.js';
import { Tensor, fromF16, fromHost } from '../tensor/tensor.js';

/** Where a model lives: the CPU reference backend or a GPU Device. */
export type Target = 'cpu' | Device;

/**
 * How stored tensors become engine tensors: 'keep' keeps f16 as f16 (f32, f64, bf16 -> f32); 'f32' / 'f16' force
 * a dtype. Norm weights and biases are always f32 (tiny, and the reference upcasts them).
 */
export type WeightDType = 'keep' | 'f32' | 'f16';

/** Reads one stored tensor and puts it on the target. */
export async function loadTensor(st: StoredTensor, target: Target, dtype: WeightDType = 'keep', name = st.location): Promise<Tensor> {
  const toF16 = dtype === 'f16' || (dtype === 'keep' && st.dtype === 'f16');
  const t = toF16 ? fromF16(await st.toFloat16Bits(), st.shape, target) : fromHost(await st.toFloat32(), st.shape, 'f32', target);
  t.name = name;
  return t;
}

/** A linear layer's parameters (weight [out, in], optional bias [out]). */
export interface LinearW {
  w: Tensor;
  b: Tensor | null;
}
/** A LayerNorm's parameters. */
export interface NormW {
  w: Tensor;
  b: Tensor | null;
  eps: number;
}

/** Uploads tensors of one validated WeightMap (canonical names) and counts the bytes placed on the target. */
export class Loader {
  bytes = 0;
  constructor(readonly map: WeightMap, readonly target: Target, readonly dtype: WeightDType = 'keep', readonly onTensor?: (name: string, bytes: number) => void) {}
  stored(name: string): StoredTensor {
    const t = this.map.get(name);
    if (!t) throw new MissingKeysError(this.map.file, [name]);
    return t;
  }
  has(name: string): boolean {
    return this.map.has(name);
  }
  async host(name: string): Promise<Float32Array> {
    return this.stored(name).toFloat32();
  }
  async tensor(name: string, dtype: WeightDType = this.dtype): Promise<Tensor> {
    const t = await loadTensor(this.stored(name), this.target, dtype, name);
    const b = t.size * (t.dtype === 'f16' ? 2 : 4);
    this.bytes += b;
    this.onTensor?.(name, b);
    return t;
  }
  async linear(name: string, bias = true, dtype: WeightDType = this.dtype): Promise<LinearW> {
    return { w: await this.tensor(`${name}.weight`, dtype), b: bias ? await this.tensor(`${name}.bias`, 'f32') : null };
  }
  async norm(name: string, eps: number, bias = true): Promise<NormW> {
    return { w: await this.tensor(`${name}.weight`, 'f32'), b: bias ? await this.tensor(`${name}.bias`, 'f32') : null, eps };
  }
  /** A tensor from host values (derived weights such as BEATs' weight-normed conv), counted like the others. */
  fromHost(values: Float32Array, shape: number[], name: string): Tensor {
    const t = fromHost(values, shape, 'f32', this.target);
    t.name = name;
    this.bytes += values.length * 4;
    this.onTensor?.(name, values.length * 4);
    return t;
  }
}

/** Disposes every Tensor reachable from a plain object/array tree (model parameter trees). */
export function disposeTree(v: unknown): void {
  if (v instanceof Tensor || v instanceof QuantizedWeight) v.dispose();
  else if (Array.isArray(v)) for (const x of v) disposeTree(x);
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) disposeTree(x);
}

/** Bytes a stored tensor takes on the target under a dtype policy. */
export function storedBytes(st: StoredTensor, dtype: WeightDType = 'keep'): number {
  const f16 = dtype === 'f16' || (dtype === 'keep' && st.dtype === 'f16');
  return st.numel * (f16 ? 2 : 4);
}
