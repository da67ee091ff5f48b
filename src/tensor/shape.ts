import { ShapeError } from '../errors.js';

export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

export function contiguousStrides(shape: Shape): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export function isContiguous(shape: Shape, strides: readonly number[]): boolean {
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i] !== 1 && strides[i] !== acc) return false;
    acc *= shape[i];
  }
  return true;
}

/** NumPy broadcasting of two or more shapes. */
export function broadcastShapes(...shapes: Shape[]): number[] {
  const rank = Math.max(...shapes.map((s) => s.length));
  const out = new Array<number>(rank).fill(1);
  for (const s of shapes) {
    for (let i = 0; i < s.length; i++) {
      const j = rank - s.length + i, d = s[i];
      if (out[j] === 1) out[j] = d;
      else if (d !== 1 && d !== out[j]) throw new ShapeError(`shapes [${shapes.map((x) => x.join(',')).join('] and [')}] cannot be broadcast`);
    }
  }
  return out;
}

/** Strides of `shape`/`strides` viewed as the broadcast shape `to` (0 where broadcast). */
export function broadcastStrides(shape: Shape, strides: readonly number[], to: Shape): number[] {
  const out = new Array<number>(to.length).fill(0);
  for (let i = 0; i < shape.length; i++) {
    const j = to.length - shape.length + i;
    if (shape[i] === to[j]) out[j] = shape[i] === 1 ? 0 : strides[i];
    else if (shape[i] !== 1) throw new ShapeError(`cannot broadcast [${shape}] to [${to}]`);
  }
  return out;
}

export function normAxis(axis: number, rank: number): number {
  const a = axis < 0 ? axis + rank : axis;
  if (!Number.isInteger(a) || a < 0 || a >= Math.max(rank, 1)) throw new ShapeError(`axis ${axis} out of range for rank ${rank}`);
  return a;
}

export function shapesEqual(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

/** Span in elements of a strided view: 1 + max linear offset reached from its first element. */
export function spanOf(shape: Shape, strides: readonly number[]): number {
  if (sizeOf(shape) === 0) return 0;
  let s = 1;
  for (let i = 0; i < shape.length; i++) s += (shape[i] - 1) * strides[i];
  return s;
}
