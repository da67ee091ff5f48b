// Rotary position embedding, HF "rotate_half" convention: for i < D/2,
//   y[i] = x[i] * cos - x[i + D/2] * sin,   y[i + D/2] = x[i + D/2] * cos + x[i] * sin
// with cos/sin of positions * inv_freq computed as HF does in f32 (see cpu/reduce-rope.ts). cos/sin come from a
// per-device table (positions 0..P-1, computed on the host in f64 from the f32 angle, rounded to f32, like
// HF's cos_cached); positions outside it use WGSL cos/sin of the f32 angle (less accurate on some GPUs).
// x is [B, H, T, D] ('bhtd') or [B, T, H, D] ('bthd'), any strides; positions i32 [T] or [B, T].
import { ShapeError } from '../../errors.js';
import type { Device } from '../../tensor/device.js';
import { Tensor } from '../../tensor/tensor.js';
import { ropeInvFreq, ropeTable } from '../cpu/reduce-rope.js';
import { metaLayout } from './meta-layout.js';
import { WGSL_ELEMENT_MAIN, bindElements, f32Bits, grid, newOutput, wgslInput, wgslMeta } from './util.js';

export type RopeLayout = 'bhtd' | 'bthd';

interface Table {
  buffer: GPUBuffer;
  P: number;
}
const tables = new WeakMap<Device, Map<string, Table>>();
export const ROPE_TABLE_POSITIONS = 4096;

/** The cached cos/sin table of a device for (D, theta), grown to at least `minP` positions. */
function table(dev: Device, D: number, theta: number, invFreq: Float32Array, minP: number): Table {
  let m = tables.get(dev);
  if (!m) tables.set(dev, (m = new Map()));
  const key = `${D}:${theta}`;
  let t = m.get(key);
  if (!t || t.P < minP) {
    let P = t?.P ?? ROPE_TABLE_POSITIONS;
    while (P < minP) P *= 2;
    const data = ropeTable(P, invFreq);
    if (data.byteLength > dev.limits.maxStorageBufferBindingSize) {
      if (t) return t; // positions beyond the table fall back to in-kernel cos/sin
      P = Math.floor(dev.limits.maxStorageBufferBindingSize / (D * 4));
      return table(dev, D, theta, invFreq, P);
    }
    const buffer = dev.allocate(data.byteLength, false);
    dev.write(buffer, 0, data);
    if (t) dev.release(t.buffer, false);
    t = { buffer, P };
    m.set(key, t);
  }
  return t;
}

// Metadata: invocations (read by WGSL_ELEMENT_MAIN), sizes, x (offset in the binding, b/h/t/d strides), y's
// b/h/t strides, positions (offset, b/t strides), table positions P, then inv_freq (f32 bits) as the tail.
const M = metaLayout([
  'threads', 'B', 'H', 'T', 'half',
  ['x', ['off', 'sb', 'sh', 'st', 'sd']],
  ['y', ['sb', 'sh', 'st']],
  ['pos', ['off', 'sb', 'st']],
  'P',
]);

/** Logical (b, h, t, d) dims of x and the corresponding strides for a layout. */
function dims(shape: readonly number[], strides: readonly number[], layout: RopeLayout): { shape: number[]; strides: number[] } {
  const order = layout === 'bhtd' ? [0, 1, 2, 3] : [0, 2, 1, 3];
  return { shape: order.map((d) => shape[d]), strides: order.map((d) => strides[d]) };
}

export function rope(x: Tensor, positions: Tensor, theta: number, layout: RopeLayout = 'bhtd', maxPosition = 0): Tensor {
  const dev = x.device!;
  const out = newOutput(dev, x.shape);
  if (out.size === 0) return out;
  const xl = dims(x.shape, x.strides, layout);
  const yl = dims(out.shape, out.strides, layout);
  const [B, H, T, D] = xl.shape;
  const half = D >> 1;
  const inv = ropeInvFreq(D, theta);
  const tab = table(dev, D, theta, inv, maxPosition + 1);
  const psb = positions.rank === 2 ? positions.strides[0] : 0;
  const pst = positions.strides[positions.rank - 1];
  const threads = B * H * T * half;
  if (threads > 0xffffffff) throw new ShapeError(`rope input [${x.shape}] is too large`);
  const pipeline = dev.pipeline(`rope:${x.dtype}`, () => `${wgslInput(0, 'x', x.dtype)}
@group(0) @binding(1) var<storage, read> pos: array<i32>;
@group(0) @binding(2) var<storage, read> tab: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;
${wgslMeta(4)}
${WGSL_ELEMENT_MAIN}
  let half = ${M.p('half')};
  let i = gi_ % half;
  var rest = gi_ / half;
  let t = rest % ${M.p('T')};
  rest = rest / ${M.p('T')};
  let h = rest % ${M.p('H')};
  let b = rest / ${M.p('H')};
  let p = pos[${M.p('pos.off')} + b * ${M.p('pos.sb')} + t * ${M.p('pos.st')}];
  var c: f32;
  var s: f32;
  if (p >= 0 && u32(p) < ${M.p('P')}) {
    let e = (u32(p) * half + i) * 2u;
    c = tab[e];
    s = tab[e + 1u];
  } else {
    let a = f32(p) * metaf(${M.words}u + i);
    c = cos(a);
    s = sin(a);
  }
  let xo = ${M.p('x.off')} + b * ${M.p('x.sb')} + h * ${M.p('x.sh')} + t * ${M.p('x.st')};
  let x1 = ld_x(xo + i * ${M.p('x.sd')});
  let x2 = ld_x(xo + (i + half) * ${M.p('x.sd')});
  let yo = b * ${M.p('y.sb')} + h * ${M.p('y.sh')} + t * ${M.p('y.st')};
  y[yo + i] = x1 * c - x2 * s;
  y[yo + i + half] = x2 * c + x1 * s;
}`);
  const xb = bindElements(x, x.offset, x.span);
  const pb = bindElements(positions, positions.offset, positions.span);
  const meta = M.write(
    {
      threads, B, H, T, half,
      x: [x.offset - xb.sub, ...xl.strides],
      y: [yl.strides[0], yl.strides[1], yl.strides[2]],
      pos: [positions.offset - pb.sub, psb, pst],
      P: tab.P,
    },
    Array.from(inv, f32Bits),
  );
  dev.dispatch(pipeline, [xb.range, pb.range, { buffer: tab.buffer }, bindElements(out, 0, out.size).range, dev.meta(meta)], ...grid(dev, threads));
  return out;
}
