// PyTorch zip checkpoints (torch.save since 1.6): lazy reader with StoredTensor leaves, and a writer that produces
// the layout torch.load reads (<archive>/data.pkl, byteorder, data/<key>, version, .data/serialization_id).
import { FormatError } from '../errors.js';
import { contiguousStrides } from '../tensor/shape.js';
import { f32ToF16Bits, fromF16Bits, toF16Bits } from '../tensor/dtype.js';
import type { ByteSource } from './bytes.js';
import { ZipArchive, writeZip, type ZipEntry } from './zip.js';
import {
  unpickle, encodePickle, PyTuple, PyOrderedDict, PyGlobal, PyReduce, PyPersistent, type PyCallable, type PyValue,
} from './pickle.js';

export type DType = 'f32' | 'f16' | 'bf16' | 'f64' | 'i64' | 'i32' | 'u8' | 'bool';

export interface DTypeArrays {
  f32: Float32Array; f16: Uint16Array; bf16: Uint16Array; f64: Float64Array;
  i64: BigInt64Array; i32: Int32Array; u8: Uint8Array; bool: Uint8Array;
}
export type TypedArrayOf<D extends DType> = DTypeArrays[D];
export type AnyTypedArray = DTypeArrays[DType];

export const DTYPE_SIZE: Record<DType, number> = { f32: 4, f16: 2, bf16: 2, f64: 8, i64: 8, i32: 4, u8: 1, bool: 1 };

const ARRAY_CTOR: Record<DType, { new (buf: ArrayBuffer, off: number, len: number): AnyTypedArray }> = {
  f32: Float32Array, f16: Uint16Array, bf16: Uint16Array, f64: Float64Array,
  i64: BigInt64Array, i32: Int32Array, u8: Uint8Array, bool: Uint8Array,
};

/** A tensor in a checkpoint file. Nothing is read until read()/toFloat32()/toFloat16Bits() is called. */
export interface StoredTensor {
  readonly dtype: DType;
  readonly shape: number[];
  readonly strides: number[];
  /** Offset into the storage, in elements. */
  readonly storageOffset: number;
  readonly numel: number;
  /** Where it lives, for messages: "<file>:<storage or key>". */
  readonly location: string;
  /** Contiguous (C order) copy in its own dtype (f16/bf16 as raw bits). */
  read(): Promise<AnyTypedArray>;
  toFloat32(): Promise<Float32Array>;
  /** IEEE binary16 bits; f32/f64/bf16 are rounded to nearest even. */
  toFloat16Bits(): Promise<Uint16Array>;
}

export function isStoredTensor(v: unknown): v is StoredTensor {
  return v instanceof LazyTensor;
}

export function numelOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export { contiguousStrides };

const LITTLE_ENDIAN_HOST = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

function swapBytes(b: Uint8Array, size: number): void {
  if (size === 1) return;
  for (let i = 0; i + size <= b.length; i += size) {
    for (let j = 0, k = size - 1; j < k; j++, k--) {
      const t = b[i + j];
      b[i + j] = b[i + k];
      b[i + k] = t;
    }
  }
}

/** Largest element count of a view that reads storage bytes more than once (stride 0 / overlapping strides). */
export const MAX_OVERLAP_VIEW_ELEMENTS = 1 << 20;

/**
 * A lazy tensor over `readBytes(byteOffset, length)` of its storage. Used for torch storages and safetensors.
 * The constructor validates that the view fits in the storage (`storageBytes`).
 */
export class LazyTensor implements StoredTensor {
  readonly numel: number;
  constructor(
    readonly dtype: DType,
    readonly shape: number[],
    readonly strides: number[],
    readonly storageOffset: number,
    readonly storageBytes: number,
    readonly location: string,
    private readonly readBytes: (byteOffset: number, length: number) => Promise<Uint8Array>,
    readonly bigEndian = false,
    readonly requiresGrad = false,
  ) {
    const bad = (m: string): never => { throw new FormatError(location, m); };
    if (shape.length !== strides.length) bad(`shape [${shape}] and strides [${strides}] differ in rank`);
    for (const d of [...shape, ...strides, storageOffset]) if (!Number.isSafeInteger(d) || d < 0) bad(`bad shape/stride/offset value ${d}`);
    this.numel = numelOf(shape);
    if (!Number.isSafeInteger(this.numel)) bad(`shape [${shape}] is too large`);
    const es = DTYPE_SIZE[dtype];
    if (this.numel > 0) {
      let last = storageOffset;
      for (let i = 0; i < shape.length; i++) last += (shape[i] - 1) * strides[i];
      const needed = (last + 1) * es;
      if (!Number.isSafeInteger(needed) || needed > storageBytes) {
        bad(`tensor of shape [${shape}] (strides [${strides}], offset ${storageOffset}, ${dtype}) needs ${needed} bytes of storage, storage has ${storageBytes}`);
      }
      // A stride-0 (expanded) or overlapping view reads storage bytes several times: reading it allocates
      // numel x element size whatever the storage holds, so a few bytes can declare gigabytes. Such views are
      // accepted only up to MAX_OVERLAP_VIEW_ELEMENTS; a checkpoint's real tensors are never overlapping.
      if (this.numel * es > storageBytes && this.numel > MAX_OVERLAP_VIEW_ELEMENTS) {
        bad(`tensor of shape [${shape}] (strides [${strides}]) describes ${this.numel} elements over a storage of ${storageBytes} bytes (a stride-0/overlapping view); at most ${MAX_OVERLAP_VIEW_ELEMENTS} elements are accepted for such views`);
      }
    }
  }

  get isContiguous(): boolean {
    const c = contiguousStrides(this.shape);
    return this.shape.every((d, i) => d <= 1 || this.strides[i] === c[i]);
  }

  async read(): Promise<AnyTypedArray> {
    const es = DTYPE_SIZE[this.dtype];
    const out = new Uint8Array(this.numel * es);
    if (this.numel > 0) {
      if (this.isContiguous) {
        out.set(await this.readBytes(this.storageOffset * es, out.length));
      } else {
        let last = this.storageOffset;
        for (let i = 0; i < this.shape.length; i++) last += (this.shape[i] - 1) * this.strides[i];
        const first = this.storageOffset;
        const src = await this.readBytes(first * es, (last - first + 1) * es);
        gather(src, out, this.shape, this.strides, es);
      }
      if (this.bigEndian === LITTLE_ENDIAN_HOST) swapBytes(out, es);
    }
    return new ARRAY_CTOR[this.dtype](out.buffer, 0, this.numel);
  }

  async toFloat32(): Promise<Float32Array> {
    return toFloat32Array(this.dtype, await this.read());
  }

  async toFloat16Bits(): Promise<Uint16Array> {
    if (this.dtype === 'f16') return (await this.read()) as Uint16Array;
    return float32ToFloat16Bits(await this.toFloat32());
  }
}

/** Copies a strided view (offsets relative to `src`) into a contiguous buffer. */
function gather(src: Uint8Array, out: Uint8Array, shape: number[], strides: number[], es: number): void {
  const nd = shape.length;
  const idx = new Array<number>(nd).fill(0);
  const inner = shape[nd - 1], innerStride = strides[nd - 1] * es;
  const rows = numelOf(shape) / inner;
  let o = 0;
  for (let r = 0; r < rows; r++) {
    let base = 0;
    for (let i = 0; i < nd - 1; i++) base += idx[i] * strides[i];
    base *= es;
    if (innerStride === es) {
      out.set(src.subarray(base, base + inner * es), o);
      o += inner * es;
    } else {
      for (let j = 0; j < inner; j++) {
        const p = base + j * innerStride;
        for (let b = 0; b < es; b++) out[o++] = src[p + b];
      }
    }
    for (let i = nd - 2; i >= 0; i--) {
      if (++idx[i] < shape[i]) break;
      idx[i] = 0;
    }
  }
}

// ---------------------------------------------------------------------------------------------------------
// Float conversions

export function float16BitsToFloat32(bits: Uint16Array): Float32Array {
  return fromF16Bits(bits);
}

export function bfloat16BitsToFloat32(bits: Uint16Array): Float32Array {
  const out = new Uint32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = bits[i] << 16;
  return new Float32Array(out.buffer);
}

/** One float32 value to IEEE binary16 bits, round to nearest even (the engine's conversion). */
export const float32ToFloat16 = f32ToF16Bits;
export function float32ToFloat16Bits(a: Float32Array): Uint16Array {
  return toF16Bits(a);
}

export function toFloat32Array(dtype: DType, data: AnyTypedArray): Float32Array {
  switch (dtype) {
    case 'f32': return data as Float32Array;
    case 'f16': return float16BitsToFloat32(data as Uint16Array);
    case 'bf16': return bfloat16BitsToFloat32(data as Uint16Array);
    case 'i64': return Float32Array.from(data as BigInt64Array, (v) => Number(v));
    default: return Float32Array.from(data as ArrayLike<number>);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Reading torch zip files

export const STORAGE_DTYPES: Record<string, DType> = {
  FloatStorage: 'f32', HalfStorage: 'f16', BFloat16Storage: 'bf16', DoubleStorage: 'f64',
  LongStorage: 'i64', IntStorage: 'i32', ByteStorage: 'u8', BoolStorage: 'bool',
};
const DTYPE_STORAGE: Record<DType, string> = Object.fromEntries(Object.entries(STORAGE_DTYPES).map(([k, v]) => [v, k])) as Record<DType, string>;

class StorageType implements PyCallable {
  constructor(readonly qualname: string, readonly dtype: DType, readonly file: string) {}
  call(_args: PyValue[], offset: number): PyValue {
    throw new FormatError(this.file, `pickle: calling ${this.qualname} (offset ${offset}) is not supported; storages come from persistent ids`);
  }
}

interface StorageRef {
  key: string;
  dtype: DType;
  numel: number;
  entry: ZipEntry;
}

export interface TorchCheckpoint {
  readonly file: string;
  readonly archive: ZipArchive;
  /** Archive folder name (e.g. 'archive', 'checkpoint', 'pytorch_model'). */
  readonly prefix: string;
  /** The unpickled object: Maps / PyOrderedDicts / arrays / PyTuples / primitives, StoredTensor leaves. */
  readonly root: PyValue;
  readonly byteorder: 'little' | 'big';
  readonly version?: string;
  close(): Promise<void>;
}

/** Opens a torch.save zip checkpoint (.pth/.pt/.bin) lazily: reads the central directory and data.pkl only. */
export async function openTorch(source: ByteSource): Promise<TorchCheckpoint> {
  const file = source.name;
  const head = await source.read(0, Math.min(4, source.size));
  if (!(head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04)) {
    if (head[0] === 0x80) throw new FormatError(file, 'legacy (pre-1.6, non-zip) torch serialization is not supported; re-save it with torch >= 1.6');
    throw new FormatError(file, 'not a torch zip checkpoint (no ZIP signature at offset 0)');
  }
  const archive = await ZipArchive.open(source);
  const pkl = archive.names().find((n) => /^[^/]+\/data\.pkl$/.test(n)) ?? archive.names().find((n) => n.endsWith('/data.pkl') || n === 'data.pkl');
  if (!pkl) throw new FormatError(file, 'torch zip has no <archive>/data.pkl entry');
  const prefix = pkl.slice(0, pkl.length - 'data.pkl'.length);
  let byteorder: 'little' | 'big' = 'little';
  if (archive.has(prefix + 'byteorder')) {
    const bo = (await archive.readText(prefix + 'byteorder')).trim();
    if (bo !== 'little' && bo !== 'big') throw new FormatError(file, `unknown byteorder record '${bo.slice(0, 20)}'`);
    byteorder = bo;
  }
  const version = archive.has(prefix + 'version') ? (await archive.readText(prefix + 'version')).trim() : undefined;
  const pklEntry = archive.entry(pkl);
  const pklBytes = await archive.read(pklEntry);
  const storages = new Map<string, StorageRef>();
  const globals: Record<string, PyCallable> = {
    'torch._utils._rebuild_tensor_v2': {
      qualname: 'torch._utils._rebuild_tensor_v2',
      call(args, _offset, floatAt) {
        const [storage, offset, size, stride, requiresGrad] = args;
        const st = storage as StorageRef;
        if (!st || typeof st !== 'object' || !('entry' in st)) throw new FormatError(file, '_rebuild_tensor_v2: first argument is not a storage');
        const ints = (t: unknown, what: string): number[] => {
          if (!(t instanceof PyTuple) || !t.items.every((x) => typeof x === 'number' && Number.isSafeInteger(x) && x >= 0)) {
            throw new FormatError(file, `_rebuild_tensor_v2: ${what} is not a tuple of non-negative ints (storage '${st.key}')`);
          }
          if (t.floatAt?.size) {
            const i = [...t.floatAt][0];
            throw new FormatError(file, `_rebuild_tensor_v2: ${what} item ${i} is the float ${t.items[i]}, torch sizes and strides are ints (storage '${st.key}')`);
          }
          return t.items as number[];
        };
        if (typeof offset !== 'number' || !Number.isSafeInteger(offset) || offset < 0 || floatAt?.has(1)) throw new FormatError(file, `_rebuild_tensor_v2: bad storage offset (storage '${st.key}')`);
        const es = DTYPE_SIZE[st.dtype];
        const location = `${file}: storage '${st.key}'`;
        return new LazyTensor(
          st.dtype, ints(size, 'size'), ints(stride, 'stride'), offset, st.numel * es, location,
          (o, n) => archive.readRange(st.entry, o, n), byteorder === 'big', requiresGrad === true,
        );
      },
    },
    'torch._utils._rebuild_parameter': {
      qualname: 'torch._utils._rebuild_parameter',
      call(args) {
        if (!isStoredTensor(args[0])) throw new FormatError(file, '_rebuild_parameter: data is not a tensor');
        return args[0];
      },
    },
  };
  for (const [name, dtype] of Object.entries(STORAGE_DTYPES)) globals[`torch.${name}`] = new StorageType(`torch.${name}`, dtype, file);
  const persistentLoad = (pid: PyValue, offset: number): PyValue => {
    if (!(pid instanceof PyTuple) || pid.items[0] !== 'storage' || pid.length < 5) {
      throw new FormatError(file, `pickle: unsupported persistent id at offset ${offset} (expected ('storage', type, key, location, numel))`);
    }
    const [, type, key, , numel] = pid.items;
    if (!(type instanceof StorageType)) throw new FormatError(file, `pickle: persistent id at offset ${offset} has no storage type`);
    if (typeof key !== 'string' || typeof numel !== 'number' || !Number.isSafeInteger(numel) || numel < 0 || pid.floatAt?.has(4)) {
      throw new FormatError(file, `pickle: malformed storage persistent id at offset ${offset}`);
    }
    const cached = storages.get(key);
    if (cached) return cached;
    const entryName = `${prefix}data/${key}`;
    if (!archive.has(entryName)) throw new FormatError(file, `storage '${key}' referenced by data.pkl has no zip entry '${entryName}'`);
    const entry = archive.entry(entryName);
    const need = numel * DTYPE_SIZE[type.dtype];
    if (entry.size < need) {
      throw new FormatError(file, `storage '${key}' (${type.qualname}, ${numel} elements = ${need} bytes) is larger than its zip entry '${entryName}' (${entry.size} bytes)`);
    }
    if (entry.method !== 0) throw new FormatError(file, `storage entry '${entryName}' is compressed; torch writes stored entries`);
    const ref: StorageRef = { key, dtype: type.dtype, numel, entry };
    storages.set(key, ref);
    return ref;
  };
  const root = unpickle(pklBytes, { file: `${file}: ${pkl}`, globals, persistentLoad });
  return {
    file, archive, prefix: prefix.replace(/\/$/, ''), root, byteorder, version,
    close: async () => { await source.close?.(); },
  };
}

// ---------------------------------------------------------------------------------------------------------
// In-memory tensors and writing

/** An in-memory tensor (for writing, and what `materialize` turns StoredTensors into). */
export class TensorValue<D extends DType = DType> {
  constructor(readonly dtype: D, readonly shape: number[], readonly data: TypedArrayOf<D>) {
    if (numelOf(shape) !== data.length) throw new RangeError(`TensorValue: shape [${shape}] has ${numelOf(shape)} elements, data has ${data.length}`);
  }
}

/** Wraps a typed array as a tensor (1-D unless `shape` is given). Uint16Array is read as f16 bits. */
export function tensorValue(data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array | Uint16Array, shape?: number[], dtype?: DType): TensorValue {
  const d: DType = dtype ?? (data instanceof Float32Array ? 'f32' : data instanceof Float64Array ? 'f64' : data instanceof Int32Array ? 'i32'
    : data instanceof BigInt64Array ? 'i64' : data instanceof Uint16Array ? 'f16' : 'u8');
  return new TensorValue(d, shape ?? [data.length], data as AnyTypedArray);
}

/** Deepest container nesting `materialize` follows (real checkpoints nest a few levels). */
export const MAX_PY_DEPTH = 200;

/**
 * Deep copy of a tree with every StoredTensor read into a TensorValue. A container that contains itself (a pickle
 * can build one through the memo) or nesting deeper than MAX_PY_DEPTH is a FormatError naming `file`; a container
 * shared by several parents is copied once per parent.
 */
export async function materialize(v: PyValue, file = '<pickle>'): Promise<PyValue> {
  const onPath = new Set<object>();
  const short = (w: string): string => (w.length > 60 ? `...${w.slice(-57)}` : w || '<root>');
  const walk = async (x: PyValue, depth: number, where: string): Promise<PyValue> => {
    if (isStoredTensor(x)) return new TensorValue(x.dtype, x.shape.slice(), await x.read());
    if (!(Array.isArray(x) || x instanceof PyTuple || x instanceof Map)) return x;
    if (onPath.has(x)) throw new FormatError(file, `${short(where)} contains itself (a cyclic pickle structure)`);
    if (depth >= MAX_PY_DEPTH) throw new FormatError(file, `${short(where)}: containers nested deeper than ${MAX_PY_DEPTH} levels`);
    onPath.add(x);
    try {
      if (Array.isArray(x)) {
        const out: PyValue[] = [];
        for (let i = 0; i < x.length; i++) out.push(await walk(x[i], depth + 1, `${where}[${i}]`));
        return out;
      }
      if (x instanceof PyTuple) {
        const items: PyValue[] = [];
        for (let i = 0; i < x.items.length; i++) items.push(await walk(x.items[i], depth + 1, `${where}[${i}]`));
        const t = new PyTuple(items);
        if (x.floatAt) t.floatAt = x.floatAt;
        return t;
      }
      const out = x instanceof PyOrderedDict ? new PyOrderedDict() : new Map();
      if (x instanceof PyOrderedDict && x.attrs) (out as PyOrderedDict).attrs = x.attrs;
      for (const [k, y] of x) out.set(k, await walk(y as PyValue, depth + 1, `${where}[${JSON.stringify(String(k)).slice(0, 40)}]`));
      return out;
    } finally {
      onPath.delete(x);
    }
  };
  return walk(v, 0, '');
}

export interface TorchSaveOptions {
  /** Archive folder name; torch uses the file name without extension ('archive' for buffers). */
  archiveName?: string;
  /** 40-character id written to .data/serialization_id (random digits by default). */
  serializationId?: string;
}

function randomDigits(n: number): string {
  const b = new Uint8Array(n);
  const c = (globalThis as { crypto?: Crypto }).crypto;
  if (c?.getRandomValues) c.getRandomValues(b);
  else for (let i = 0; i < n; i++) b[i] = Math.floor(Math.random() * 256);
  return Array.from(b, (x) => String(x % 10)).join('');
}

/**
 * Serialises `obj` like torch.save: Maps / plain objects -> dict, PyOrderedDict -> OrderedDict, arrays -> list,
 * PyTuple -> tuple, TensorValue (or a bare Float32Array/Float64Array/Int32Array/BigInt64Array) -> tensor. Returns
 * the zip bytes (torch >= 2.1 layout with byteorder record, 64-byte aligned storages).
 */
export function encodeTorchSave(obj: unknown, opts: TorchSaveOptions = {}): Uint8Array {
  const name = opts.archiveName ?? 'archive';
  if (!/^[^/\\]+$/.test(name)) throw new RangeError(`encodeTorchSave: bad archive name '${name}'`);
  const storages: { key: string; bytes: Uint8Array }[] = [];
  const rebuild = new PyGlobal('torch._utils', '_rebuild_tensor_v2');
  const convert = (v: unknown): PyValue | undefined => {
    let t: TensorValue | undefined;
    if (v instanceof TensorValue) t = v;
    else if (v instanceof Float32Array || v instanceof Float64Array || v instanceof Int32Array || v instanceof BigInt64Array) t = tensorValue(v);
    if (!t) return undefined;
    const key = String(storages.length);
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength).slice();
    if (!LITTLE_ENDIAN_HOST) swapBytes(bytes, DTYPE_SIZE[t.dtype]);
    storages.push({ key, bytes });
    const pid = new PyTuple(['storage', new PyGlobal('torch', DTYPE_STORAGE[t.dtype]), key, 'cpu', t.data.length]);
    return new PyReduce(rebuild, new PyTuple([
      new PyPersistent(pid), 0, new PyTuple(t.shape), new PyTuple(contiguousStrides(t.shape)), false, new PyOrderedDict(),
    ]));
  };
  const pkl = encodePickle(obj, { convert });
  const enc = new TextEncoder();
  return writeZip([
    { name: `${name}/data.pkl`, data: pkl },
    { name: `${name}/byteorder`, data: enc.encode('little') },
    ...storages.map((s) => ({ name: `${name}/data/${s.key}`, data: s.bytes })),
    { name: `${name}/version`, data: enc.encode('3\n') },
    { name: `${name}/.data/serialization_id`, data: enc.encode((opts.serializationId ?? randomDigits(40)).slice(0, 40)) },
  ]);
}

/**
 * A module's `state_dict()` as torch returns it: an OrderedDict name -> tensor in the given order, with the
 * `_metadata` attribute (`{'': {'version': 1}}`) that torch.save pickles with it. Compose it into a checkpoint
 * root (`{'model': stateDict(...)}`) and write that with encodeTorchSave.
 */
export function stateDict(entries: Iterable<[string, TensorValue]>): PyOrderedDict {
  const sd = new PyOrderedDict();
  for (const [k, t] of entries) {
    if (sd.has(k)) throw new RangeError(`stateDict: duplicate key '${k}'`);
    sd.set(k, t);
  }
  sd.attrs = new Map([['_metadata', new PyOrderedDict([['', new Map([['version', 1]])]])]]);
  return sd;
}
