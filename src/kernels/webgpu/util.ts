import { ShapeError } from '../../errors.js';
import type { BufferRange, Device } from '../../tensor/device.js';
import { BYTES_PER_ELEMENT, DType } from '../../tensor/dtype.js';
import { broadcastStrides, shapesEqual } from '../../tensor/shape.js';
import { Tensor, empty } from '../../tensor/tensor.js';

export const WG = 256;

/** WGSL declaration of a read-only input binding plus `ld_<name>(i) -> f32` (f16 is packed in u32 pairs). */
export function wgslInput(binding: number, name: string, dtype: DType): string {
  if (dtype === 'f16') {
    return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<u32>;
fn ld_${name}(i: u32) -> f32 { return unpack2x16float(${name}[i >> 1u])[i & 1u]; }`;
  }
  const t = dtype === 'i32' ? 'i32' : 'f32';
  return `@group(0) @binding(${binding}) var<storage, read> ${name}: array<${t}>;
fn ld_${name}(i: u32) -> f32 { return f32(${name}[i]); }`;
}

export function wgslMeta(binding: number): string {
  return `@group(0) @binding(${binding}) var<storage, read> prm: array<u32>;
fn metaf(i: u32) -> f32 { return bitcast<f32>(prm[i]); }`;
}

/** Global linear invocation index on a 2-D grid of 256-wide workgroups. */
export const WGSL_INDEX = `let gi_ = gid.x + gid.y * nwg.x * ${WG}u;`;
export const WGSL_MAIN_ARGS = `@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>`;
/** Entry of a kernel with one invocation per element (256-wide workgroups): `gi_` < prm[0] is the element index. */
export const WGSL_ELEMENT_MAIN = `@compute @workgroup_size(${WG})
fn main(${WGSL_MAIN_ARGS}) {
  ${WGSL_INDEX}
  if (gi_ >= prm[0]) { return; }`;

/** Workgroup counts (x, y) covering `threads` invocations of 256-wide workgroups. */
export function grid(dev: Device, threads: number, wg = WG): [number, number] {
  const groups = Math.ceil(threads / wg);
  const max = dev.limits.maxComputeWorkgroupsPerDimension;
  if (groups <= max) return [Math.max(groups, 1), 1];
  const y = Math.ceil(groups / max);
  return [Math.ceil(groups / y), y];
}

export function f32Bits(v: number): number {
  return new Uint32Array(new Float32Array([v]).buffer)[0];
}

/** A binding of storage elements [start, start+count), offset aligned down; `sub` = first element bound. */
export function bindElements(t: Tensor, start: number, count: number): { range: BufferRange; sub: number } {
  const dev = t.device!, buf = t.storage.buffer!;
  const bpe = BYTES_PER_ELEMENT[t.dtype];
  const align = dev.limits.minStorageBufferOffsetAlignment;
  const byteStart = start * bpe;
  const aligned = Math.floor(byteStart / align) * align;
  const end = Math.min(buf.size, Math.ceil(((start + Math.max(count, 1)) * bpe) / 4) * 4);
  const size = end - aligned;
  if (size > dev.limits.maxStorageBufferBindingSize) {
    throw new ShapeError(`a binding of ${size} bytes exceeds maxStorageBufferBindingSize (${dev.limits.maxStorageBufferBindingSize})`);
  }
  return { range: { buffer: buf, offset: aligned, size }, sub: aligned / bpe };
}

/** Binds everything a strided view can reach. */
export function bindWhole(t: Tensor): { range: BufferRange; sub: number } {
  return bindElements(t, t.offset, t.span);
}

export function maxBindingElements(dev: Device, dtype: DType): number {
  return Math.floor((dev.limits.maxStorageBufferBindingSize - dev.limits.minStorageBufferOffsetAlignment) / BYTES_PER_ELEMENT[dtype]);
}

/**
 * Elementwise plan over a contiguous output of `shape`: each input is either bound whole (it fits in one
 * binding) or, when it is contiguous with the output's shape, bound per chunk of output elements. Returns
 * the chunks so wrappers can dispatch tensors larger than one binding.
 */
export interface EwInput {
  t: Tensor;
  strides: number[];
  aligned: boolean;
}
export function elementwisePlan(dev: Device, inputs: Tensor[], shape: number[]): { ins: EwInput[]; chunk: number } {
  let chunk = Infinity;
  const ins = inputs.map((t) => {
    const strides = broadcastStrides(t.shape, t.strides, shape);
    const aligned = t.isContiguous && shapesEqual(t.shape, shape);
    const fits = t.span <= maxBindingElements(dev, t.dtype);
    if (!fits) {
      if (!aligned) throw new ShapeError(`tensor [${t.shape}] is larger than one GPU binding and not contiguous: call contiguous() first`);
      chunk = Math.min(chunk, maxBindingElements(dev, t.dtype));
    }
    return { t, strides, aligned };
  });
  chunk = Math.min(chunk, maxBindingElements(dev, 'f32'));
  const maxThreads = dev.limits.maxComputeWorkgroupsPerDimension * WG * 1024;
  chunk = Math.min(chunk, maxThreads);
  return { ins, chunk: Math.floor(chunk / 1024) * 1024 || 1024 };
}

/** WGSL: storage offset of input `k` for global element index `gi` (unravels over the output shape). */
export function wgslStridedOffset(k: number, rank: number, metaShape: number, metaStrides: number, metaBase: number): string {
  if (rank === 0) return `fn off${k}(gi: u32) -> u32 { return prm[${metaBase}u]; }`;
  return `fn off${k}(gi: u32) -> u32 {
  var rem = gi;
  var o = prm[${metaBase}u];
  for (var d: i32 = ${rank - 1}; d >= 0; d--) {
    let s = prm[${metaShape}u + u32(d)];
    o += (rem % s) * prm[${metaStrides}u + u32(d)];
    rem = rem / s;
  }
  return o;
}`;
}

export function newOutput(dev: Device, shape: readonly number[], dtype: DType = 'f32'): Tensor {
  return empty(shape, dtype, dev);
}
