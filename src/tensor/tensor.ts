import { AhamaskError, ShapeError } from '../errors.js';
import { BYTES_PER_ELEMENT, DType, HostArray, fromF16Bits, roundF16, toF16Bits } from './dtype.js';
import type { Device } from './device.js';
import { Shape, contiguousStrides, isContiguous, normAxis, sizeOf, spanOf } from './shape.js';

export type BackendName = 'cpu' | 'webgpu';

/** Where tensor data lives: a host typed array (CPU backend) or one GPU buffer. Shared by views, refcounted. */
export class Storage {
  refs = 1;
  constructor(
    readonly backend: BackendName,
    readonly dtype: DType,
    /** Number of elements the storage holds. */
    readonly length: number,
    /** CPU: f32/f16 as Float32Array (f16 values already rounded), i32 as Int32Array. */
    readonly host: HostArray | null,
    readonly buffer: GPUBuffer | null,
    readonly device: Device | null,
    readonly pooled = true,
  ) {}
  retain(): this {
    if (this.refs <= 0) throw new AhamaskError('use of a disposed tensor');
    this.refs++;
    return this;
  }
  release(): void {
    if (--this.refs === 0 && this.buffer && this.device) this.device.release(this.buffer, this.pooled);
  }
}

/** Autograd hooks; the tape (src/autograd) fills these in. */
export interface GradNode {
  op: string;
  inputs: Tensor[];
  attrs: unknown;
  outputs: Tensor[];
  saved?: unknown;
}

let scopes: Tensor[][] = [];

/**
 * An n-dimensional array on the CPU or a GPU: shape, strides and offset over a shared storage, so reshape,
 * transpose, permute, slice and broadcast are views.
 */
export class Tensor {
  readonly shape: readonly number[];
  readonly strides: readonly number[];
  readonly offset: number;
  readonly dtype: DType;
  readonly storage: Storage;
  requiresGrad = false;
  grad: Tensor | null = null;
  /** The op that produced this tensor, when it was recorded on the autograd tape. */
  node: GradNode | null = null;
  name?: string;
  private disposed = false;

  constructor(storage: Storage, shape: Shape, strides?: readonly number[], offset = 0) {
    this.storage = storage;
    this.shape = Object.freeze([...shape]);
    this.strides = Object.freeze(strides ? [...strides] : contiguousStrides(shape));
    this.offset = offset;
    this.dtype = storage.dtype;
    if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new ShapeError(`invalid shape [${shape}]`);
    scopes[scopes.length - 1]?.push(this);
  }

  get backend(): BackendName {
    return this.storage.backend;
  }
  get device(): Device | null {
    return this.storage.device;
  }
  get rank(): number {
    return this.shape.length;
  }
  get size(): number {
    return sizeOf(this.shape);
  }
  get isContiguous(): boolean {
    return isContiguous(this.shape, this.strides);
  }
  get isDisposed(): boolean {
    return this.disposed;
  }
  /** Elements from `offset` to the last one reached (what a kernel must bind). */
  get span(): number {
    return spanOf(this.shape, this.strides);
  }

  /** A new view on the same storage. */
  view(shape: Shape, strides: readonly number[], offset = this.offset): Tensor {
    this.checkLive();
    return new Tensor(this.storage.retain(), shape, strides, offset);
  }

  checkLive(): void {
    if (this.disposed) throw new AhamaskError(`use of a disposed tensor${this.name ? ` '${this.name}'` : ''}`);
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.storage.release();
    this.node = null;
  }

  /** Contiguous values on the host (f16 as Float32Array). Reads back from the GPU only here. */
  async data(): Promise<HostArray> {
    this.checkLive();
    if (this.backend === 'cpu') return this.dataSync();
    const c = this.isContiguous ? this : runView('contiguous', this, {});
    const dev = c.device!;
    const bpe = BYTES_PER_ELEMENT[c.dtype];
    const raw = await dev.read(c.storage.buffer!, c.offset * bpe, c.size * bpe);
    if (c !== this) c.dispose();
    return hostArrayOf(c.dtype, raw);
  }

  /** Contiguous values of a CPU tensor. */
  dataSync(): HostArray {
    this.checkLive();
    if (this.backend !== 'cpu') throw new AhamaskError('dataSync() needs a CPU tensor; use await t.data()');
    const src = this.storage.host!;
    const n = this.size;
    if (this.isContiguous) return src.slice(this.offset, this.offset + n) as HostArray;
    const out = this.dtype === 'i32' ? new Int32Array(n) : new Float32Array(n);
    forEachIndex(this.shape, this.strides, this.offset, (src_i, i) => (out[i] = src[src_i]));
    return out;
  }

  async array(): Promise<number[]> {
    return Array.from(await this.data());
  }

  async item(): Promise<number> {
    if (this.size !== 1) throw new ShapeError(`item() needs one element, tensor has shape [${this.shape}]`);
    return (await this.data())[0];
  }

  // ---- views (recorded on the tape through runView) ------------------------------------------------------

  reshape(shape: readonly number[]): Tensor {
    const out = [...shape];
    const neg = out.indexOf(-1);
    if (neg >= 0) out[neg] = this.size / sizeOf(out.filter((_, i) => i !== neg));
    if (sizeOf(out) !== this.size || !Number.isInteger(out[neg] ?? 0)) {
      throw new ShapeError(`cannot reshape [${this.shape}] (${this.size} elements) to [${shape}]`);
    }
    return runView('reshape', this, { shape: out });
  }
  permute(dims: readonly number[]): Tensor {
    if (dims.length !== this.rank || new Set(dims.map((d) => normAxis(d, this.rank))).size !== this.rank) {
      throw new ShapeError(`permute([${dims}]) is not a permutation of ${this.rank} axes`);
    }
    return runView('permute', this, { dims: dims.map((d) => normAxis(d, this.rank)) });
  }
  transpose(a = -2, b = -1): Tensor {
    const dims = [...this.shape.keys()];
    const x = normAxis(a, this.rank), y = normAxis(b, this.rank);
    [dims[x], dims[y]] = [dims[y], dims[x]];
    return this.permute(dims);
  }
  /** Elements [start, end) along `axis` (negative indices count from the end). */
  slice(axis: number, start: number, end?: number): Tensor {
    const ax = normAxis(axis, this.rank), n = this.shape[ax];
    let s = start < 0 ? start + n : start;
    let e = end === undefined ? n : end < 0 ? end + n : end;
    s = Math.max(0, Math.min(n, s));
    e = Math.max(s, Math.min(n, e));
    return runView('slice', this, { axis: ax, start: s, end: e });
  }
  broadcastTo(shape: readonly number[]): Tensor {
    return runView('broadcastTo', this, { shape: [...shape] });
  }
  unsqueeze(axis: number): Tensor {
    const ax = axis < 0 ? axis + this.rank + 1 : axis;
    const s = [...this.shape];
    s.splice(ax, 0, 1);
    return this.reshape(s);
  }
  squeeze(axis?: number): Tensor {
    if (axis === undefined) return this.reshape(this.shape.filter((d) => d !== 1));
    const ax = normAxis(axis, this.rank);
    if (this.shape[ax] !== 1) throw new ShapeError(`cannot squeeze axis ${axis} of size ${this.shape[ax]}`);
    return this.reshape(this.shape.filter((_, i) => i !== ax));
  }
  /** This tensor if contiguous, else a contiguous copy. */
  contiguous(): Tensor {
    return this.isContiguous ? this : runView('contiguous', this, {});
  }
  /** A copy in another dtype (or this tensor when it already has it). */
  cast(dtype: DType): Tensor {
    return dtype === this.dtype ? this : runView('cast', this, { dtype });
  }

  /** A copy on another backend: 'cpu' or a GPU Device. */
  async to(target: 'cpu' | Device): Promise<Tensor> {
    const values = await this.data();
    return fromHost(values, this.shape, this.dtype, target);
  }

  toString(): string {
    return `Tensor(${this.backend}, ${this.dtype}, [${this.shape}])`;
  }
}

/** Calls f(linearOffsetInStorage, indexInOutput) for every element of a strided view, in row-major order. */
function hostArrayOf(dtype: DType, raw: ArrayBuffer): HostArray {
  if (dtype === 'f16') return fromF16Bits(new Uint16Array(raw));
  return dtype === 'i32' ? new Int32Array(raw) : new Float32Array(raw);
}

/**
 * The values of several tensors (as `data()` each), with one GPU readback per device instead of one per tensor.
 */
export async function dataOf(tensors: readonly Tensor[]): Promise<HostArray[]> {
  const out: HostArray[] = new Array(tensors.length);
  const byDevice = new Map<Device, { i: number; c: Tensor }[]>();
  tensors.forEach((t, i) => {
    t.checkLive();
    if (t.backend === 'cpu') {
      out[i] = t.dataSync();
      return;
    }
    const c = t.isContiguous ? t : runView('contiguous', t, {});
    let l = byDevice.get(c.device!);
    if (!l) byDevice.set(c.device!, (l = []));
    l.push({ i, c });
  });
  await Promise.all([...byDevice].map(async ([dev, l]) => {
    try {
      const raws = await dev.readMany(l.map(({ c }) => ({ buffer: c.storage.buffer!, offset: c.offset * BYTES_PER_ELEMENT[c.dtype], bytes: c.size * BYTES_PER_ELEMENT[c.dtype] })));
      l.forEach(({ i, c }, k) => (out[i] = hostArrayOf(c.dtype, raws[k])));
    } finally {
      l.forEach(({ i, c }) => c !== tensors[i] && c.dispose());
    }
  }));
  return out;
}

export function forEachIndex(shape: Shape, strides: readonly number[], offset: number, f: (src: number, i: number) => void): void {
  const rank = shape.length;
  const n = sizeOf(shape);
  if (n === 0) return;
  const idx = new Array<number>(rank).fill(0);
  let src = offset;
  for (let i = 0; i < n; i++) {
    f(src, i);
    for (let d = rank - 1; d >= 0; d--) {
      idx[d]++;
      src += strides[d];
      if (idx[d] < shape[d]) break;
      src -= strides[d] * shape[d];
      idx[d] = 0;
    }
  }
}

// The view ops go through the kernel registry so the tape sees them; registry installs this.
let viewRunner: ((name: string, x: Tensor, attrs: object) => Tensor) | null = null;
export function setViewRunner(f: (name: string, x: Tensor, attrs: object) => Tensor): void {
  viewRunner = f;
}
function runView(name: string, x: Tensor, attrs: object): Tensor {
  if (!viewRunner) throw new AhamaskError('kernels are not registered: import the library from its index');
  return viewRunner(name, x, attrs);
}

// ---- creation ------------------------------------------------------------------------------------------

let defaultTarget: 'cpu' | Device = 'cpu';
/** Where new tensors go when no device is named: 'cpu' or a GPU Device. */
export function setDefaultDevice(target: 'cpu' | Device): void {
  defaultTarget = target;
}
export function getDefaultDevice(): 'cpu' | Device {
  return defaultTarget;
}

/** An uninitialised contiguous tensor. */
export function empty(shape: Shape, dtype: DType = 'f32', target: 'cpu' | Device = defaultTarget, pooled = true): Tensor {
  const n = sizeOf(shape);
  if (target === 'cpu') {
    const host = dtype === 'i32' ? new Int32Array(n) : new Float32Array(n);
    return new Tensor(new Storage('cpu', dtype, n, host, null, null), shape);
  }
  const bytes = Math.max(4, Math.ceil((n * BYTES_PER_ELEMENT[dtype]) / 4) * 4);
  const buffer = target.allocate(bytes, pooled);
  return new Tensor(new Storage('webgpu', dtype, n, null, buffer, target, pooled), shape);
}

/** A tensor from host values (numbers are rounded to f16 when dtype is f16). */
export function fromHost(values: ArrayLike<number>, shape: Shape, dtype: DType = 'f32', target: 'cpu' | Device = defaultTarget): Tensor {
  const n = sizeOf(shape);
  if (values.length !== n) throw new ShapeError(`shape [${shape}] needs ${n} values, got ${values.length}`);
  if (target === 'cpu') {
    const t = empty(shape, dtype, 'cpu');
    const h = t.storage.host!;
    if (dtype === 'f16') for (let i = 0; i < n; i++) h[i] = roundF16(values[i]);
    else h.set(values as ArrayLike<number>);
    return t;
  }
  // Weights are not pooled: exact-size buffers keep a 13B model's memory at its real size.
  const t = empty(shape, dtype, target, false);
  let bytes: ArrayBufferView;
  if (dtype === 'f16') bytes = values instanceof Uint16Array ? values : toF16Bits(values);
  else if (dtype === 'i32') bytes = values instanceof Int32Array ? values : Int32Array.from(values);
  else bytes = values instanceof Float32Array ? values : Float32Array.from(values);
  target.write(t.storage.buffer!, 0, bytes);
  return t;
}

/** A tensor from raw f16 bits (as read from a checkpoint) without converting through f32. */
export function fromF16(bits: Uint16Array, shape: Shape, target: 'cpu' | Device = defaultTarget): Tensor {
  if (target === 'cpu') return fromHost(fromF16Bits(bits), shape, 'f16', 'cpu');
  if (bits.length !== sizeOf(shape)) throw new ShapeError(`shape [${shape}] needs ${sizeOf(shape)} values, got ${bits.length}`);
  const t = empty(shape, 'f16', target, false);
  target.write(t.storage.buffer!, 0, bits);
  return t;
}

export function tensor(values: ArrayLike<number>, shape?: Shape, opts: { dtype?: DType; device?: 'cpu' | Device } = {}): Tensor {
  return fromHost(values, shape ?? [values.length], opts.dtype ?? 'f32', opts.device ?? defaultTarget);
}

export function full(shape: Shape, value: number, opts: { dtype?: DType; device?: 'cpu' | Device } = {}): Tensor {
  return fromHost(new Float32Array(sizeOf(shape)).fill(value), shape, opts.dtype ?? 'f32', opts.device ?? defaultTarget);
}
export function zeros(shape: Shape, opts: { dtype?: DType; device?: 'cpu' | Device } = {}): Tensor {
  return full(shape, 0, opts);
}
export function ones(shape: Shape, opts: { dtype?: DType; device?: 'cpu' | Device } = {}): Tensor {
  return full(shape, 1, opts);
}

/**
 * Runs `fn` and disposes every tensor created inside it except those it returns (anywhere in an array or
 * plain object result) and those that require grad or hold tape nodes still needed.
 */
export function tidy<T>(fn: () => T): T {
  scopes.push([]);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    const created = scopes.pop()!;
    for (const t of created) if (!t.requiresGrad) t.dispose();
    throw e;
  }
  const created = scopes.pop()!;
  const keep = new Set<Tensor>();
  collect(result, keep);
  for (const t of created) if (!keep.has(t) && !t.requiresGrad && !t.node) t.dispose();
  const parent = scopes[scopes.length - 1];
  if (parent) for (const t of created) if (!t.isDisposed) parent.push(t);
  return result;
}
function collect(v: unknown, out: Set<Tensor>): void {
  if (v instanceof Tensor) out.add(v);
  else if (Array.isArray(v)) for (const x of v) collect(x, out);
  else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) for (const x of Object.values(v)) collect(x, out);
}
/** Takes `t` out of every open tidy scope so no enclosing tidy disposes it (autograd: leaf grads, optimizer state). */
export function keep<T extends Tensor>(t: T): T {
  for (const s of scopes) {
    const i = s.lastIndexOf(t);
    if (i >= 0) s.splice(i, 1);
  }
  return t;
}
/** Test/debug helper: clears scope state after an error escaped outside tidy. */
export function resetScopes(): void {
  scopes = [];
}
