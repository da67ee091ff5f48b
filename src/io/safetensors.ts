// safetensors: single files and sharded folders (model.safetensors.index.json). Lazy: only the header is read.
import { FormatError } from '../errors.js';
import { joinName, openOwned, readText, type ByteSource, type Directory } from './bytes.js';
import { LazyTensor, contiguousStrides, DTYPE_SIZE, numelOf, type DType, type StoredTensor, type TensorValue } from './torch.js';

const ST_DTYPES: Record<string, DType> = {
  F32: 'f32', F16: 'f16', BF16: 'bf16', F64: 'f64', I64: 'i64', I32: 'i32', U8: 'u8', BOOL: 'bool',
};
/** Headers above this are refused (real ones are a few hundred KB). */
const MAX_HEADER = 100 * 1024 * 1024;

export interface SafetensorsFile {
  readonly file: string;
  readonly tensors: Map<string, StoredTensor>;
  readonly metadata: Record<string, string>;
  close(): Promise<void>;
}

/** Parses the header of one .safetensors file; tensors read their bytes on demand. */
export async function openSafetensors(source: ByteSource): Promise<SafetensorsFile> {
  const file = source.name;
  if (source.size < 8) throw new FormatError(file, `not a safetensors file: ${source.size} bytes is shorter than the 8-byte header length`);
  const lenBytes = await source.read(0, 8);
  const dv = new DataView(lenBytes.buffer, lenBytes.byteOffset, 8);
  const lo = dv.getUint32(0, true), hi = dv.getUint32(4, true);
  const n = hi * 0x100000000 + lo;
  if (n > source.size - 8) throw new FormatError(file, `safetensors header length ${n} (at offset 0) goes beyond the file size ${source.size}`);
  if (n > MAX_HEADER) throw new FormatError(file, `safetensors header length ${n} is implausibly large`);
  if (n < 2) throw new FormatError(file, `safetensors header length ${n} is too small`);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(await source.read(8, n));
  } catch (e) {
    throw new FormatError(file, `safetensors header (offset 8, ${n} bytes) is not valid UTF-8 (the format requires it)`, { cause: e });
  }
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw new FormatError(file, `safetensors header (offset 8, ${n} bytes) is not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) throw new FormatError(file, 'safetensors header is not a JSON object');
  const dataStart = 8 + n;
  const dataSize = source.size - dataStart;
  const tensors = new Map<string, StoredTensor>();
  let metadata: Record<string, string> = {};
  const ranges: Array<[number, number, string]> = [];
  for (const [name, info] of Object.entries(header as Record<string, unknown>)) {
    if (name === '__metadata__') {
      if (info && typeof info === 'object') metadata = info as Record<string, string>;
      continue;
    }
    const bad = (m: string): never => { throw new FormatError(file, `tensor '${name}': ${m}`); };
    if (!info || typeof info !== 'object') bad('header entry is not an object');
    const { dtype, shape, data_offsets } = info as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof dtype !== 'string' || !(dtype in ST_DTYPES)) bad(`unsupported dtype ${JSON.stringify(dtype)}`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) bad(`bad shape ${JSON.stringify(shape)}`);
    if (!Array.isArray(data_offsets) || data_offsets.length !== 2 || !data_offsets.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      bad(`bad data_offsets ${JSON.stringify(data_offsets)}`);
    }
    const dt = ST_DTYPES[dtype as string];
    const [b, e] = data_offsets as number[];
    const shp = shape as number[];
    const need = numelOf(shp) * DTYPE_SIZE[dt];
    if (e < b || e > dataSize) bad(`data_offsets [${b}, ${e}] are outside the data section (${dataSize} bytes after the header)`);
    if (e - b !== need) bad(`shape [${shp}] x ${dt} needs ${need} bytes, data_offsets give ${e - b}`);
    const abs = dataStart + b;
    ranges.push([b, e, name]);
    tensors.set(name, new LazyTensor(dt, shp, contiguousStrides(shp), 0, e - b, `${file}: '${name}'`, (o, len) => source.read(abs + o, len)));
  }
  checkCoverage(file, ranges, dataSize);
  return { file, tensors, metadata, close: async () => { await source.close?.(); } };
}

/**
 * The format requires the tensors' byte ranges to tile the data section exactly: no overlap, no hole, nothing
 * after the last tensor (the reference implementation refuses all three).
 */
function checkCoverage(file: string, ranges: Array<[number, number, string]>, dataSize: number): void {
  ranges.sort((x, y) => x[0] - y[0] || x[1] - y[1]);
  let end = 0;
  let prev = '';
  for (const [b, e, name] of ranges) {
    if (b < end) throw new FormatError(file, `tensor '${name}': data_offsets [${b}, ${e}] overlap tensor '${prev}' (which ends at ${end})`);
    if (b > end) throw new FormatError(file, `tensor '${name}': data_offsets start at ${b}, leaving a hole of ${b - end} byte(s) after ${prev ? `tensor '${prev}'` : 'the header'}`);
    end = e;
    prev = name;
  }
  if (end !== dataSize) throw new FormatError(file, `the data section has ${dataSize} bytes but its tensors cover ${end} (the format allows no trailing bytes)`);
}

export interface ShardIndex {
  /** tensor name -> shard file name (relative to the folder). */
  weightMap: Map<string, string>;
  metadata: Record<string, unknown>;
}

/** Parses a HF `*.index.json` (model.safetensors.index.json / pytorch_model.bin.index.json). */
export function parseShardIndex(text: string, file: string): ShardIndex {
  let j: unknown;
  try {
    j = JSON.parse(text);
  } catch (e) {
    throw new FormatError(file, `not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const wm = (j as { weight_map?: unknown })?.weight_map;
  if (!wm || typeof wm !== 'object' || Array.isArray(wm)) throw new FormatError(file, "no 'weight_map' object");
  const weightMap = new Map<string, string>();
  for (const [k, v] of Object.entries(wm as Record<string, unknown>)) {
    if (typeof v !== 'string' || v.includes('..') || v.startsWith('/')) throw new FormatError(file, `bad shard name for '${k}': ${JSON.stringify(v)}`);
    weightMap.set(k, v);
  }
  return { weightMap, metadata: ((j as { metadata?: Record<string, unknown> }).metadata ?? {}) };
}

export async function readShardIndex(dir: Directory, rel: string): Promise<ShardIndex> {
  const src = await dir.open(rel);
  try {
    return parseShardIndex(await readText(src), joinName(dir.name, rel));
  } finally {
    await src.close?.();
  }
}

/**
 * Opens a sharded safetensors folder via its index. Every shard's header is read; each tensor named in the index
 * must be in its shard (FormatError otherwise).
 */
export async function openShardedSafetensors(dir: Directory, indexName = 'model.safetensors.index.json'): Promise<SafetensorsFile> {
  const index = await readShardIndex(dir, indexName);
  const shards = [...new Set(index.weightMap.values())];
  const opened: SafetensorsFile[] = [];
  const tensors = new Map<string, StoredTensor>();
  const close = async (): Promise<void> => { for (const s of opened) await s.close(); };
  try {
    const byShard = new Map<string, SafetensorsFile>();
    for (const shard of shards) {
      const f = await openOwned(dir, shard, openSafetensors);
      opened.push(f);
      byShard.set(shard, f);
    }
    for (const [name, shard] of index.weightMap) {
      const t = byShard.get(shard)!.tensors.get(name);
      if (!t) throw new FormatError(joinName(dir.name, shard), `tensor '${name}' listed in ${indexName} is not in this shard`);
      tensors.set(name, t);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { file: joinName(dir.name, indexName), tensors, metadata: {}, close };
}

// ---------------------------------------------------------------------------------------------------------
// Writing

const ST_NAMES: Partial<Record<DType, string>> = Object.fromEntries(Object.entries(ST_DTYPES).map(([k, v]) => [v, k]));

/**
 * Encodes tensors as one .safetensors file (as the `safetensors` library writes it): 8-byte little-endian header
 * length, the JSON header (tensors ordered by dtype size descending then name, `__metadata__` first, padded with
 * spaces to a multiple of 8), then the raw little-endian data of each tensor back to back.
 */
export function encodeSafetensors(tensors: Iterable<[string, TensorValue]>, metadata?: Record<string, string>): Uint8Array {
  const list = [...tensors];
  const seen = new Set<string>();
  for (const [name, t] of list) {
    if (seen.has(name)) throw new RangeError(`encodeSafetensors: duplicate tensor '${name}'`);
    if (name === '__metadata__') throw new RangeError("encodeSafetensors: '__metadata__' is not a tensor name");
    if (!ST_NAMES[t.dtype]) throw new RangeError(`encodeSafetensors: dtype ${t.dtype} of '${name}' is not supported`);
    seen.add(name);
  }
  list.sort((a, b) => DTYPE_SIZE[b[1].dtype] - DTYPE_SIZE[a[1].dtype] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = {};
  if (metadata) header.__metadata__ = metadata;
  let off = 0;
  for (const [name, t] of list) {
    const n = t.data.length * DTYPE_SIZE[t.dtype];
    header[name] = { dtype: ST_NAMES[t.dtype], shape: t.shape, data_offsets: [off, off + n] };
    off += n;
  }
  let h = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(h.length / 8) * 8;
  if (padded !== h.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(h);
    h = p;
  }
  const out = new Uint8Array(8 + h.length + off);
  const dv = new DataView(out.buffer);
  dv.setUint32(0, h.length % 0x100000000, true);
  dv.setUint32(4, Math.floor(h.length / 0x100000000), true);
  out.set(h, 8);
  let pos = 8 + h.length;
  const le = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
  for (const [, t] of list) {
    const bytes = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    out.set(bytes, pos);
    if (!le) {
      const w = DTYPE_SIZE[t.dtype];
      for (let i = pos; i < pos + bytes.length; i += w) out.subarray(i, i + w).reverse();
    }
    pos += bytes.length;
  }
  return out;
}
