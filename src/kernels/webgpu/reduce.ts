// sum / mean / max over one axis of a strided tensor, plus the row machinery the other kernels of the reduce
// group share (softmax, norms, argmax, cross-entropy).
//
// A reduction over axis `a` sees the input as rows: every index of the other ("outer") dims is one row of
// R = shape[a] elements, `xk` apart. Two kernels:
//  - row mode: one workgroup per row, each invocation accumulates a strided partial, then a tree reduction
//    in workgroup memory (used when the axis is the innermost one in memory, or rows are few);
//  - column mode: one invocation per row looping over the axis, so neighbouring invocations read
//    neighbouring elements when the reduced axis is not the innermost one (and for tiny R).
// Rows larger than one binding are dispatched in chunks of rows (outer dims that collapse to one stride).
import { ShapeError } from '../../errors.js';
import type { Binding, BufferRange, Device } from '../../tensor/device.js';
import { contiguousStrides, sizeOf } from '../../tensor/shape.js';
import { Tensor } from '../../tensor/tensor.js';
import { metaLayout } from './meta-layout.js';
import { WGSL_ELEMENT_MAIN, bindElements, grid, maxBindingElements, newOutput, wgslInput, wgslMeta } from './util.js';

/** Rows of a tensor reduced (or normalised) along one axis. */
export interface RowLayout {
  /** Number of rows. */
  rows: number;
  /** Elements per row (the axis length). */
  R: number;
  /** Outer shape (collapsed where possible) and the input/output strides over it. */
  outer: number[];
  xs: number[];
  ys: number[];
  /** Input/output stride along the axis. */
  xk: number;
  yk: number;
}

/**
 * Meta header of a row chunk: rows in the chunk (read by the early exits), first row, R, input/output strides
 * along the axis, input/output base offsets in the bindings, outer rank n; then (runtime length) the outer
 * shape, xs and ys, n words each, then op-specific values from `extraBase(n)`.
 */
export const ROW_META = metaLayout(['rows', 'r0', 'R', 'xk', 'yk', 'xoff', 'yoff', 'rank']);

export interface RowChunk {
  r0: number;
  count: number;
  x: BufferRange;
  y: BufferRange;
  /** Meta header: [count, r0, R, xk, yk, xbase, ybase, rank, ...outer, ...xs, ...ys]. */
  header: number[];
}

/** Merges adjacent outer dims that are laid out as one dim in both input and output; drops size-1 dims. */
function collapse(shape: number[], xs: number[], ys: number[]): { shape: number[]; xs: number[]; ys: number[] } {
  const s: number[] = [], a: number[] = [], b: number[] = [];
  for (let i = 0; i < shape.length; i++) {
    if (shape[i] === 1) continue;
    const j = s.length - 1;
    if (j >= 0 && a[j] === xs[i] * shape[i] && b[j] === ys[i] * shape[i]) {
      s[j] *= shape[i];
      a[j] = xs[i];
      b[j] = ys[i];
    } else {
      s.push(shape[i]);
      a.push(xs[i]);
      b.push(ys[i]);
    }
  }
  return { shape: s, xs: a, ys: b };
}

/**
 * Row layout of `x` reduced along `axis`, writing into `out` whose strides over the outer dims are `ys`
 * and along the axis `yk` (0 for one value per row).
 */
export function rowLayout(x: Tensor, axis: number, ys: number[], yk: number): RowLayout {
  const outer: number[] = [], xs: number[] = [];
  for (let d = 0; d < x.rank; d++) {
    if (d === axis) continue;
    outer.push(x.shape[d]);
    xs.push(x.strides[d]);
  }
  const c = collapse(outer, xs, ys);
  return { rows: sizeOf(outer), R: x.rank ? x.shape[axis] : 1, outer: c.shape, xs: c.xs, ys: c.ys, xk: x.rank ? x.strides[axis] : 0, yk };
}

/** Output strides over the outer dims when `out` has the input's shape (softmax-like ops). */
export function sameShapeStrides(shape: readonly number[], axis: number): { ys: number[]; yk: number } {
  const s = contiguousStrides(shape);
  return { ys: s.filter((_, d) => d !== axis), yk: shape.length ? s[axis] : 0 };
}

/**
 * Dispatch chunks for a row layout: one chunk when input and output fit in a binding, else runs of rows
 * (needs the outer dims to collapse to a single one).
 */
export function rowChunks(dev: Device, x: Tensor, y: Tensor, L: RowLayout): RowChunk[] {
  const rowSpanX = L.R ? (L.R - 1) * L.xk + 1 : 1;
  const rowSpanY = L.yk ? (L.R - 1) * L.yk + 1 : 1;
  const maxX = maxBindingElements(dev, x.dtype), maxY = maxBindingElements(dev, y.dtype);
  const header = (r0: number, count: number, xb: { sub: number }, yb: { sub: number }) =>
    ROW_META.write(
      { rows: count, r0, R: L.R, xk: L.xk, yk: L.yk, xoff: (x.offset - xb.sub) >>> 0, yoff: (y.offset - yb.sub) >>> 0, rank: L.outer.length },
      [...L.outer, ...L.xs, ...L.ys],
    );
  if (x.span <= maxX && y.span <= maxY) {
    const xb = bindElements(x, x.offset, x.span), yb = bindElements(y, y.offset, y.span);
    return [{ r0: 0, count: L.rows, x: xb.range, y: yb.range, header: header(0, L.rows, xb, yb) }];
  }
  if (L.outer.length > 1) {
    throw new ShapeError(`tensor [${x.shape}] is larger than one GPU binding and its rows are not evenly strided: call contiguous() first`);
  }
  const rs = L.xs[0] ?? 0, ysr = L.ys[0] ?? 0;
  if (rowSpanX > maxX || rowSpanY > maxY) throw new ShapeError(`a row of ${L.R} elements is larger than one GPU binding`);
  const per = Math.max(1, Math.min(rs ? Math.floor((maxX - rowSpanX) / rs) + 1 : L.rows, ysr ? Math.floor((maxY - rowSpanY) / ysr) + 1 : L.rows));
  const out: RowChunk[] = [];
  for (let r0 = 0; r0 < L.rows; r0 += per) {
    const count = Math.min(per, L.rows - r0);
    const xb = bindElements(x, x.offset + r0 * rs, (count - 1) * rs + rowSpanX);
    const yb = bindElements(y, y.offset + r0 * ysr, (count - 1) * ysr + rowSpanY);
    out.push({ r0, count, x: xb.range, y: yb.range, header: header(r0, count, xb, yb) });
  }
  return out;
}

/** Index in the meta buffer where op-specific values start, for a layout of outer rank `n`. */
export function extraBase(n: number): number {
  return ROW_META.words + 3 * n;
}

/**
 * WGSL shared by row kernels: `row_offsets(r) -> vec2<u32>` (input and output offset of row r, relative
 * to the bindings), `ninf()` (a runtime -inf: WGSL const-evaluation rejects infinities), `isnan_`.
 */
export function wgslRows(n: number): string {
  return `fn row_offsets(r: u32) -> vec2<u32> {
  var rem = r;
  var xo = ${ROW_META.p('xoff')};
  var yo = ${ROW_META.p('yoff')};
  for (var d: i32 = ${n - 1}; d >= 0; d--) {
    let s = prm[${ROW_META.words}u + u32(d)];
    let i = rem % s;
    rem = rem / s;
    xo += i * prm[${ROW_META.words + n}u + u32(d)];
    yo += i * prm[${ROW_META.words + 2 * n}u + u32(d)];
  }
  return vec2<u32>(xo, yo);
}
fn ninf() -> f32 { return bitcast<f32>(0xff800000u + (prm[0] & 0u)); }
fn nan_() -> f32 { return bitcast<f32>(0x7fc00000u + (prm[0] & 0u)); }
fn isnan_(v: f32) -> bool { return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u; }`;
}

/** Workgroup shape of a row kernel: its size and whether reductions use subgroup operations. */
export interface RowConfig {
  wg: number;
  sg: boolean;
}

/** CPU adapters (lavapipe, SwiftShader) pay per invocation: small workgroups are several times faster there. */
export function isCpuAdapter(dev: Device): boolean {
  return dev.profile.software;
}

/** Workgroup for rows of R elements: ~16 elements per invocation, 32..256 (32 on CPU adapters). */
export function rowConfig(dev: Device, R: number): RowConfig {
  let wg = 32;
  if (!isCpuAdapter(dev)) while (wg < 256 && wg * 16 < R) wg *= 2;
  // dev.tuning.rows: tests and benches force a workgroup size and/or turn subgroup reductions off
  const t = dev.tuning.rows;
  return { wg: t?.wg ?? wg, sg: dev.profile.subgroups && (t?.subgroups ?? true) };
}

/** Pipeline-key suffix of a row config. */
export function rowKey(c: RowConfig): string {
  return `${c.wg}${c.sg ? 's' : 't'}`;
}

/** `enable` directives a row kernel needs (first thing in the module). */
export function wgslEnable(c: RowConfig): string {
  return c.sg ? 'enable subgroups;' : '';
}

/** Row-kernel entry arguments. */
export function wgslRowArgs(c: RowConfig): string {
  return `@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>, @builtin(local_invocation_index) lid: u32${
    c.sg ? ', @builtin(subgroup_invocation_id) sl: u32, @builtin(subgroup_size) ss: u32' : ''
  }`;
}

/**
 * Start of a row kernel: the uniform early exit, then `o` (row offsets), `R`, `xk`, `yk`; stores the
 * invocation's ids in private variables for the reduction helpers.
 */
export function wgslRowBegin(c: RowConfig): string {
  return `let wid = wg.x + wg.y * nwg.x;
  if (wid >= ${ROW_META.p('rows')}) { return; }
  lid_ = lid;
  ${c.sg ? 'sl_ = sl; ss_ = ss;' : ''}
  let o = row_offsets(${ROW_META.p('r0')} + wid);
  let R = ${ROW_META.p('R')};
  let xk = ${ROW_META.p('xk')};
  let yk = ${ROW_META.p('yk')};`;
}

/** Private ids used by the reduction helpers (declare once per module). */
export function wgslRowPrivates(c: RowConfig): string {
  return `var<private> lid_: u32;${c.sg ? '\nvar<private> sl_: u32;\nvar<private> ss_: u32;' : ''}`;
}

/**
 * `fn wg_<name>(v: f32) -> f32`: the sum or the max (NaN-propagating) of v over the workgroup, returned to every
 * invocation. With subgroups: one subgroup reduction, a slot per invocation in workgroup memory (identity
 * except at subgroup leaders, so no assumption on how subgroups map to invocation indices), a strided pass
 * and a second subgroup reduction; two barriers. Without: a tree in workgroup memory.
 */
export function wgslReduce(name: string, c: RowConfig, kind: 'add' | 'max'): string {
  const ident = kind === 'add' ? '0.0' : 'ninf()';
  const comb = kind === 'add' ? '(a + b)' : 'select(max(a, b), nan_(), isnan_(a) || isnan_(b))';
  const combine = (a: string, b: string) => comb.replace(/\ba\b/g, a).replace(/\bb\b/g, b);
  const sgOp = (v: string) => (kind === 'add' ? `subgroupAdd(${v})` : `select(subgroupMax(${v}), nan_(), subgroupAny(isnan_(${v})))`);
  if (c.sg) {
    return `var<workgroup> sh_${name}: array<f32, ${c.wg}>;
fn wg_${name}(v: f32) -> f32 {
  let a0 = ${sgOp('v')};
  sh_${name}[lid_] = select(${ident}, a0, sl_ == 0u);
  workgroupBarrier();
  var p = ${ident};
  for (var i = sl_; i < ${c.wg}u; i += ss_) { p = ${combine('p', `sh_${name}[i]`)}; }
  let res = ${sgOp('p')};
  workgroupBarrier();
  return res;
}`;
  }
  return `var<workgroup> sh_${name}: array<f32, ${c.wg}>;
fn wg_${name}(v: f32) -> f32 {
  sh_${name}[lid_] = v;
  workgroupBarrier();
  for (var s = ${c.wg / 2}u; s > 0u; s >>= 1u) {
    if (lid_ < s) { sh_${name}[lid_] = ${combine(`sh_${name}[lid_]`, `sh_${name}[lid_ + s]`)}; }
    workgroupBarrier();
  }
  let res = sh_${name}[0];
  workgroupBarrier();
  return res;
}`;
}

/** Workgroup counts for one workgroup per row. */
export function rowGrid(dev: Device, rows: number): [number, number] {
  return grid(dev, rows, 1);
}

/**
 * Start of a column-mode kernel (one invocation per row, 256-wide workgroups): the early exit, then `o`
 * (row offsets), `R`, `xk`.
 */
export const WGSL_COL_BEGIN = `${WGSL_ELEMENT_MAIN}
  let o = row_offsets(${ROW_META.p('r0')} + gi_);
  let R = ${ROW_META.p('R')};
  let xk = ${ROW_META.p('xk')};`;

/**
 * A row-mode kernel module: `enable`, `decls` (bindings and meta), the row helpers and private ids, `helpers`
 * (reductions), then `main` running `body` after wgslRowBegin.
 */
export function wgslRowKernel(c: RowConfig, n: number, decls: string, helpers: string, body: string): string {
  return `${wgslEnable(c)}
${decls}
${wgslRows(n)}
${wgslRowPrivates(c)}
${helpers}
@compute @workgroup_size(${c.wg})
fn main(${wgslRowArgs(c)}) {
  ${wgslRowBegin(c)}
  ${body}
}`;
}

/** Rows of a kernel whose output has the input's shape (softmax, norms): the output, layout and row config. */
export function sameShapeRows(x: Tensor, axis: number): { out: Tensor; L: RowLayout; n: number; rc: RowConfig; E: number } {
  const out = newOutput(x.device!, x.shape);
  const { ys, yk } = sameShapeStrides(x.shape, axis);
  const L = rowLayout(x, axis, ys, yk);
  const n = L.outer.length;
  return { out, L, n, rc: rowConfig(x.device!, L.R), E: extraBase(n) };
}

/**
 * Dispatches a row kernel over the chunks of `L`: bindings x, `mid`..., y, meta (the chunk header then `extra`);
 * one workgroup per row, or one invocation per row with `col`.
 */
export function dispatchRows(dev: Device, pipeline: GPUComputePipeline, x: Tensor, y: Tensor, L: RowLayout, o: { mid?: Binding[]; extra?: number[]; col?: boolean } = {}): void {
  for (const c of rowChunks(dev, x, y, L)) {
    const meta = o.extra ? [...c.header, ...o.extra] : c.header;
    dev.dispatch(pipeline, [c.x, ...(o.mid ?? []), c.y, dev.meta(meta)], ...(o.col ? grid(dev, c.count) : rowGrid(dev, c.count)));
  }
}

export type ReduceOp = 'sum' | 'mean' | 'max';

/** Output shape of a reduction: the axis removed, or kept as 1. */
export function reducedShape(shape: readonly number[], axis: number, keepDims: boolean): number[] {
  const s = [...shape];
  if (keepDims) s[axis] = 1;
  else s.splice(axis, 1);
  return s;
}

/** The kernel choice: column mode for tiny rows or when the axis is not innermost and there are many rows. */
export function useColumns(L: RowLayout): boolean {
  return L.R <= 32 || (L.xk !== 1 && L.rows >= 256);
}

export function reduce(x: Tensor, op: ReduceOp, axis: number, keepDims: boolean, mode?: 'row' | 'col'): Tensor {
  const dev = x.device!;
  const out = newOutput(dev, reducedShape(x.shape, axis, keepDims));
  if (out.size === 0) return out;
  if (x.rank && x.shape[axis] === 0 && op === 'max') throw new ShapeError(`max over an empty axis of [${x.shape}]`);
  const L = rowLayout(x, axis, contiguousStrides(x.shape.filter((_, d) => d !== axis)), 0);
  const col = mode ? mode === 'col' : useColumns(L);
  const n = L.outer.length;
  const rc = rowConfig(dev, L.R);
  const init = op === 'max' ? 'ninf()' : '0.0';
  const combine = op === 'max' ? 'select(max(a, b), nan_(), isnan_(a) || isnan_(b))' : 'a + b';
  const fin = op === 'mean' ? 'acc / f32(R)' : 'acc';
  const pipeline = dev.pipeline(`reduce:${op}:${x.dtype}:${n}:${col ? 'col' : rowKey(rc)}`, () => {
    const head = `${col ? '' : wgslEnable(rc)}
${wgslInput(0, 'x', x.dtype)}
@group(0) @binding(1) var<storage, read_write> y: array<f32>;
${wgslMeta(2)}
${wgslRows(n)}
fn comb(a: f32, b: f32) -> f32 { return ${combine}; }`;
    if (col) {
      // Kahan-compensated sequential sums: one invocation adds up to R terms.
      const loop = op === 'max'
        ? `var acc = ninf();
  for (var k = 0u; k < R; k++) { acc = comb(acc, ld_x(o.x + k * xk)); }`
        : `var acc = 0.0;
  var c = 0.0;
  for (var k = 0u; k < R; k++) {
    let v = ld_x(o.x + k * xk) - c;
    let t = acc + v;
    c = (t - acc) - v;
    acc = t;
  }`;
      return `${head}
${WGSL_COL_BEGIN}
  ${loop}
  y[o.y] = ${fin};
}`;
    }
    return `${head}
${wgslRowPrivates(rc)}
${wgslReduce('r', rc, op === 'max' ? 'max' : 'add')}
@compute @workgroup_size(${rc.wg})
fn main(${wgslRowArgs(rc)}) {
  ${wgslRowBegin(rc)}
  var part = ${init};
  for (var k = lid; k < R; k += ${rc.wg}u) { part = comb(part, ld_x(o.x + k * xk)); }
  let acc = wg_r(part);
  if (lid == 0u) { y[o.y] = ${fin}; }
}`;
  });
  dispatchRows(dev, pipeline, x, out, L, { col });
  return out;
}
