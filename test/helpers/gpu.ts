import '../../src/index.js';
import { rng } from './random.js';
import { getDevice } from '../../src/node/index.js';
import type { Device } from '../../src/index.js';
import { Tensor, fromHost } from '../../src/index.js';
import type { DType } from '../../src/index.js';

/** The GPU device; throws (never skips) when there is no adapter. */
export function gpu(): Promise<Device> {
  return getDevice();
}

export { rng };

export function randn(n: number, seed: number, scale = 1): Float32Array {
  const r = rng(seed);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** The same random values as a CPU tensor and a GPU tensor. */
export function pair(dev: Device, shape: number[], seed: number, opts: { dtype?: DType; scale?: number; values?: ArrayLike<number> } = {}): [Tensor, Tensor] {
  const n = shape.reduce((a, b) => a * b, 1);
  const v = opts.values ?? randn(n, seed, opts.scale ?? 1);
  return [fromHost(v, shape, opts.dtype ?? 'f32', 'cpu'), fromHost(v, shape, opts.dtype ?? 'f32', dev)];
}

export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    if (!(d <= m)) m = Number.isNaN(d) ? (Number.isNaN(a[i]) && Number.isNaN(b[i]) ? m : Infinity) : d;
  }
  return m;
}

/** Throws with the worst index when |a-b| > atol + rtol*|b| anywhere, or when lengths differ. */
export function assertClose(actual: ArrayLike<number>, expected: ArrayLike<number>, atol = 1e-5, rtol = 1e-5, what = ''): void {
  if (actual.length !== expected.length) throw new Error(`${what}: length ${actual.length} != expected ${expected.length}`);
  let worst = -1, worstExcess = 0;
  for (let i = 0; i < actual.length; i++) {
    const a = actual[i], e = expected[i];
    if (Number.isNaN(a) !== Number.isNaN(e)) { worst = i; worstExcess = Infinity; break; }
    if (Number.isNaN(a)) continue;
    const excess = Math.abs(a - e) - (atol + rtol * Math.abs(e));
    if (excess > worstExcess || (a !== e && !Number.isFinite(a - e))) { worst = i; worstExcess = excess; }
  }
  if (worst >= 0) {
    throw new Error(`${what}: mismatch at ${worst}: ${actual[worst]} vs expected ${expected[worst]} (max |diff| ${maxAbsDiff(actual, expected)}, atol ${atol}, rtol ${rtol})`);
  }
}

/** Compares a GPU tensor with a CPU tensor: same shape, close values. */
export async function assertTensorsClose(g: Tensor, c: Tensor, atol = 1e-5, rtol = 1e-5, what = ''): Promise<void> {
  if (g.shape.join() !== c.shape.join()) throw new Error(`${what}: shape [${g.shape}] != [${c.shape}]`);
  assertClose(await g.data(), await c.data(), atol, rtol, what);
}
