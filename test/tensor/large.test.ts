// Tensors larger than one GPU binding (maxStorageBufferBindingSize, 128 MiB on lavapipe): matmul/linear chunk
// their dispatches over weight rows or output rows; elementwise and cast chunk over elements. Checked against
// CPU dot products of sampled rows/columns (the whole product would be too slow on the CPU).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { affine } from '../../src/index.js';
import { linear, matmul } from '../../src/index.js';
import { roundF16, toF16Bits } from '../../src/index.js';
import { Tensor, fromF16, fromHost } from '../../src/index.js';
import { assertClose, gpu } from '../helpers/gpu.js';

/** Fast deterministic values in [-0.5, 0.5). */
function values(n: number, seed: number): Float32Array {
  const out = new Float32Array(n);
  let s = seed >>> 0;
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = s / 4294967296 - 0.5;
  }
  return out;
}

/** Rows [r, r+1) of a tensor's values (a contiguous row view reads back only that range). */
async function row(t: Tensor, r: number): Promise<Float32Array> {
  const v = t.slice(0, r, r + 1);
  const d = (await v.data()) as Float32Array;
  v.dispose();
  return d;
}

/** Sample indices spread over [0, n) including both ends and chunk-boundary neighbourhoods. */
function samples(n: number, count: number): number[] {
  const s = new Set<number>([0, 1, n - 2, n - 1]);
  for (let i = 0; i < count; i++) s.add(Math.floor(((i + 0.5) / count) * n));
  return [...s].filter((i) => i >= 0 && i < n).sort((a, b) => a - b);
}

function dot(w: ArrayLike<number>, wOff: number, x: ArrayLike<number>, xOff: number, K: number): number {
  let s = 0;
  for (let k = 0; k < K; k++) s += w[wOff + k] * x[xOff + k];
  return s;
}

const N32 = 8200, K32 = 4100; // f32 [8200, 4100] = 134.5 MB > 128 MiB
const N16 = 17000, K16 = 4100; // f16 [17000, 4100] = 139.4 MB

test('linear with an f32 weight larger than one binding: M = 1 (GEMV) and M = 3, sampled columns', async () => {
  const dev = await gpu();
  const wv = values(N32 * K32, 1);
  const W = fromHost(wv, [N32, K32], 'f32', dev);
  assert.ok(N32 * K32 * 4 > dev.limits.maxStorageBufferBindingSize || dev.limits.maxStorageBufferBindingSize > 1 << 28);
  const chunked = N32 * K32 * 4 > dev.limits.maxStorageBufferBindingSize;
  for (const M of [1, 3]) {
    const xv = values(M * K32, 10 + M);
    const x = fromHost(xv, [M, K32], 'f32', dev);
    const d0 = dev.stats.dispatches;
    const y = linear(x, W);
    if (chunked) assert.ok(dev.stats.dispatches - d0 >= 2, 'the dispatch was chunked');
    assert.equal(y.shape, [M, N32]);
    for (let m = 0; m < M; m++) {
      const got = await row(y, m);
      const cols = samples(N32, 40);
      assertClose(cols.map((n) => got[n]), cols.map((n) => dot(wv, n * K32, xv, m * K32, K32)), 2e-4, 1e-4, `M=${M} row ${m}`);
    }
    x.dispose();
    y.dispose();
  }
  // the big tensor as the left operand: chunked over M rows
  const bv = values(K32 * 3, 7);
  const b = fromHost(bv, [K32, 3], 'f32', dev);
  const y = matmul(W, b);
  assert.equal(y.shape, [N32, 3]);
  for (const r of samples(N32, 12)) {
    const got = await row(y, r);
    const want = [0, 1, 2].map((j) => {
      let s = 0;
      for (let k = 0; k < K32; k++) s += wv[r * K32 + k] * bv[k * 3 + j];
      return s;
    });
    assertClose(got, want, 2e-4, 1e-4, `big A row ${r}`);
  }
  y.dispose();
  b.dispose();
  // elementwise and cast on the big tensor (chunked over elements)
  const a = affine(W, 2, 0.25);
  for (const r of [0, 4099, N32 - 1]) {
    const got = await row(a, r);
    assertClose(got, Array.from(wv.subarray(r * K32, (r + 1) * K32), (v) => v * 2 + 0.25), 1e-6, 1e-6, `affine row ${r}`);
  }
  a.dispose();
  const h = W.cast('f16');
  for (const r of [0, 5000, N32 - 1]) {
    const got = await row(h, r);
    assertClose(got, Array.from(wv.subarray(r * K32, (r + 1) * K32), roundF16), 0, 0, `cast f16 row ${r}`);
  }
  h.dispose();
  W.dispose();
});

test('linear with an f16 weight larger than one binding (M = 1 and M = 3, bias, residual), and its f32 cast', async () => {
  const dev = await gpu();
  const wv = values(N16 * K16, 2);
  const bits = toF16Bits(wv);
  for (let i = 0; i < wv.length; i++) wv[i] = roundF16(wv[i]);
  const W = fromF16(bits, [N16, K16], dev);
  const biasV = values(N16, 3);
  const bias = fromHost(biasV, [N16], 'f32', dev);
  for (const M of [1, 3]) {
    const xv = values(M * K16, 20 + M);
    const rv = values(M * N16, 30 + M);
    const x = fromHost(xv, [M, K16], 'f32', dev);
    const res = fromHost(rv, [M, N16], 'f32', dev);
    const y = linear(x, W, bias, { residual: res });
    for (let m = 0; m < M; m++) {
      const got = await row(y, m);
      const cols = samples(N16, 40);
      assertClose(cols.map((n) => got[n]), cols.map((n) => dot(wv, n * K16, xv, m * K16, K16) + biasV[n] + rv[m * N16 + n]), 2e-4, 1e-4, `f16 M=${M} row ${m}`);
    }
    x.dispose();
    res.dispose();
    y.dispose();
  }
  const f = W.cast('f32'); // 278 MB output, chunked
  for (const r of [0, 8191, N16 - 1]) {
    const got = await row(f, r);
    assertClose(got, wv.subarray(r * K16, (r + 1) * K16), 0, 0, `cast f32 row ${r}`);
  }
  f.dispose();
  bias.dispose();
  W.dispose();
});

test.run();
