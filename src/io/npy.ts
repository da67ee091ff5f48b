// NumPy .npy (version 1.0-3.0) reader and writer, little-endian, C order.
import { AhamaskError } from '../errors.js';
export type NpyArray =
  | { dtype: 'f4'; shape: number[]; data: Float32Array }
  | { dtype: 'f8'; shape: number[]; data: Float64Array }
  | { dtype: 'f2'; shape: number[]; data: Uint16Array }
  | { dtype: 'i4'; shape: number[]; data: Int32Array }
  | { dtype: 'i8'; shape: number[]; data: BigInt64Array }
  | { dtype: 'u1' | 'b1'; shape: number[]; data: Uint8Array }
  | { dtype: 'i2'; shape: number[]; data: Int16Array };

/** A malformed .npy (an AhamaskError, so the CLI reports it as one line). */
export class NpyError extends AhamaskError {
  constructor(message: string, public readonly file?: string) {
    super(file ? `${file}: ${message}` : message);
  }
}

const CTORS = {
  f4: Float32Array, f8: Float64Array, f2: Uint16Array, i4: Int32Array, i8: BigInt64Array,
  u1: Uint8Array, b1: Uint8Array, i2: Int16Array,
} as const;

export function parseNpy(bytes: Uint8Array, file?: string): NpyArray {
  const magic = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59];
  if (bytes.length < 10 || magic.some((m, i) => bytes[i] !== m)) throw new NpyError('not a .npy file (bad magic)', file);
  const major = bytes[6];
  if (major !== 1 && major !== 2 && major !== 3) throw new NpyError(`unsupported .npy version ${major}`, file);
  if (major !== 1 && bytes.length < 12) throw new NpyError('truncated header', file);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const hlen = major === 1 ? dv.getUint16(8, true) : dv.getUint32(8, true);
  const hstart = major === 1 ? 10 : 12;
  if (hstart + hlen > bytes.length) throw new NpyError(`header length ${hlen} beyond file size ${bytes.length}`, file);
  const header = new TextDecoder().decode(bytes.subarray(hstart, hstart + hlen));
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1];
  const fortran = /'fortran_order':\s*(True|False)/.exec(header)?.[1];
  const shapeStr = /'shape':\s*\(([^)]*)\)/.exec(header)?.[1];
  if (!descr || !fortran || shapeStr === undefined) throw new NpyError(`malformed header ${JSON.stringify(header)}`, file);
  if (fortran === 'True') throw new NpyError('fortran_order arrays are not supported', file);
  const shape = shapeStr.split(',').map((s) => s.trim()).filter((s) => s.length > 0).map(Number);
  if (shape.some((d) => !Number.isInteger(d) || d < 0)) throw new NpyError(`bad shape (${shapeStr})`, file);
  const kind = descr.replace(/^[<|=]/, '');
  if (descr.startsWith('>') || !(kind in CTORS)) throw new NpyError(`unsupported dtype ${descr}`, file);
  const ctor = CTORS[kind as keyof typeof CTORS];
  const n = shape.reduce((a, b) => a * b, 1);
  if (!Number.isSafeInteger(n)) throw new NpyError(`shape (${shapeStr}) is too large`, file);
  const start = hstart + hlen;
  const nbytes = n * ctor.BYTES_PER_ELEMENT;
  if (start + nbytes > bytes.length) throw new NpyError(`data needs ${nbytes} bytes, file has ${bytes.length - start}`, file);
  // Uint8Array.prototype.slice copies even for a Node Buffer (whose own slice is a view into a shared pool).
  const buf = Uint8Array.prototype.slice.call(bytes, start, start + nbytes).buffer;
  const data = new (ctor as any)(buf, 0, n);
  return { dtype: kind, shape, data } as NpyArray;
}

/** Reads any numeric .npy as float64 numbers (for comparisons in tests). */
export function npyToFloat64(a: NpyArray): Float64Array {
  if (a.dtype === 'f2') {
    const out = new Float64Array(a.data.length);
    for (let i = 0; i < out.length; i++) out[i] = f16BitsToNumber(a.data[i]);
    return out;
  }
  if (a.dtype === 'i8') return Float64Array.from(a.data, (v) => Number(v));
  return Float64Array.from(a.data as ArrayLike<number>);
}

export function encodeNpy(data: Float32Array | Float64Array | Int32Array | BigInt64Array | Uint8Array, shape: number[]): Uint8Array {
  const descr = data instanceof Float32Array ? '<f4' : data instanceof Float64Array ? '<f8' : data instanceof Int32Array ? '<i4' : data instanceof BigInt64Array ? '<i8' : '|u1';
  const n = shape.reduce((a, b) => a * b, 1);
  if (n !== data.length) throw new NpyError(`shape [${shape}] has ${n} elements, data has ${data.length}`);
  const shapeStr = shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`;
  let header = `{'descr': '${descr}', 'fortran_order': False, 'shape': ${shapeStr}, }`;
  const total = 10 + header.length + 1;
  header += ' '.repeat((64 - (total % 64)) % 64) + '\n';
  const hb = new TextEncoder().encode(header);
  const out = new Uint8Array(10 + hb.length + data.byteLength);
  out.set([0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59, 1, 0], 0);
  new DataView(out.buffer).setUint16(8, hb.length, true);
  out.set(hb, 10);
  out.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + hb.length);
  return out;
}

export function f16BitsToNumber(h: number): number {
  const s = h & 0x8000 ? -1 : 1, e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e === 0) return s * m * 2 ** -24;
  if (e === 31) return m ? NaN : s * Infinity;
  return s * (1 + m / 1024) * 2 ** (e - 15);
}
