// Reduce group, part 2: layerNorm, rmsNorm, rope, cross-entropy (GPU vs CPU reference and direct formulas).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../../src/ops/index.js';
import { roundF16, type DType } from '../../src/index.js';
import { fromHost, Tensor } from '../../src/index.js';
import { assertClose, assertTensorsClose, gpu, pair, randn } from '../helpers/gpu.js';

const SHAPES = [[1, 1], [3, 17], [5, 33], [2, 257], [3, 1000], [2, 5121], [2, 1, 3, 64], [7, 1280]];
type View = (t: Tensor) => Tensor;
const VIEWS: [string, View][] = [
  ['contiguous', (t) => t],
  // Last dim strided: a transposed copy's transpose has the same values in a non-contiguous layout.
  ['transposed', (t) => t.transpose(0, -1).contiguous().transpose(0, -1)],
  ['sliced', (t) => (t.shape[0] > 1 ? t.slice(0, 1) : t)],
];

test('layerNorm matches the reference: odd shapes, views, f16, optional weight/bias, strided weight', async () => {
  const dev = await gpu();
  let seed = 1;
  for (const shape of SHAPES) {
    const D = shape[shape.length - 1];
    for (const dtype of ['f32', 'f16'] as DType[]) {
      const [c0, g0] = pair(dev, shape, seed++, { dtype, scale: 2 });
      const [cw, gw] = pair(dev, [D], seed++, { dtype });
      const [cb, gb] = pair(dev, [2, D], seed++);
      for (const [vn, v] of VIEWS) {
        const c = v(c0), g = v(g0);
        if (vn === 'transposed') assert.ok(D === 1 || !g.isContiguous);
        for (const [wn, w, b, cw_, cb_] of [
          ['w+b', gw, gb.slice(0, 1, 2).reshape([D]), cw, cb.slice(0, 1, 2).reshape([D])],
          ['none', null, null, null, null],
          ['w only', gw, null, cw, null],
          ['strided b', null, gb.transpose().contiguous().transpose().slice(0, 1, 2).squeeze(0), null, cb.slice(0, 1, 2).squeeze(0)],
        ] as [string, Tensor | null, Tensor | null, Tensor | null, Tensor | null][]) {
          for (const eps of [1e-5, 1e-12]) {
            await assertTensorsClose(ops.layerNorm(g, w, b, eps), ops.layerNorm(c, cw_, cb_, eps), 5e-5, 1e-5, `layerNorm ${dtype} ${vn} ${wn} [${shape}] eps ${eps}`);
          }
        }
      }
    }
  }
  // Constant rows: variance 0 -> (x - mean) = 0 exactly.
  const [cc, gc] = pair(dev, [2, 100], 0, { values: new Float32Array(200).fill(3.25) });
  await assertTensorsClose(ops.layerNorm(gc, null, null), ops.layerNorm(cc, null, null), 0, 0, 'constant row');
});

test('layerNorm equals the torch formula computed directly', async () => {
  const dev = await gpu();
  const D = 1280;
  const x = randn(3 * D, 5, 3).map((v, i) => v + (i % 7));
  const w = randn(D, 6), b = randn(D, 7);
  const y = await ops.layerNorm(fromHost(x, [3, D], 'f32', dev), fromHost(w, [D], 'f32', dev), fromHost(b, [D], 'f32', dev)).data();
  const want = new Float64Array(3 * D);
  for (let r = 0; r < 3; r++) {
    const row = Array.from(x.subarray(r * D, (r + 1) * D));
    const m = row.reduce((a, v) => a + v, 0) / D;
    const v = row.reduce((a, q) => a + (q - m) ** 2, 0) / D;
    for (let k = 0; k < D; k++) want[r * D + k] = ((row[k] - m) / Math.sqrt(v + 1e-5)) * w[k] + b[k];
  }
  assertClose(y, want, 5e-5, 1e-5, 'layerNorm direct');
});

test('rmsNorm matches the reference and HF LlamaRMSNorm (f32 and the fp16 cast order)', async () => {
  const dev = await gpu();
  let seed = 100;
  for (const shape of SHAPES) {
    const D = shape[shape.length - 1];
    for (const dtype of ['f32', 'f16'] as DType[]) {
      const [c0, g0] = pair(dev, shape, seed++, { dtype, scale: 2 });
      const [cw, gw] = pair(dev, [D], seed++, { dtype });
      for (const [vn, v] of VIEWS) {
        const c = v(c0), g = v(g0);
        for (const eps of [1e-6, 1e-5]) {
          await assertTensorsClose(ops.rmsNorm(g, gw, eps), ops.rmsNorm(c, cw, eps), 2e-5, 1e-5, `rmsNorm ${dtype} ${vn} [${shape}]`);
        }
        // halfCast: both sides round to f16 twice; a 1-ulp f16 difference is allowed where the f32 value is a tie.
        await assertTensorsClose(ops.rmsNorm(g, gw, 1e-6, { halfCast: true }), ops.rmsNorm(c, cw, 1e-6, { halfCast: true }), 1e-3, 2e-3, `rmsNorm half ${dtype} ${vn} [${shape}]`);
      }
    }
  }
  // Direct HF formula: weight * (x * rsqrt(mean(x^2) + eps)).
  const D = 5120;
  const x = randn(2 * D, 8, 4), w = randn(D, 9);
  const y = await ops.rmsNorm(fromHost(x, [2, D], 'f32', dev), fromHost(w, [D], 'f32', dev), 1e-6).data();
  const yh = await ops.rmsNorm(fromHost(x, [2, D], 'f16', dev), fromHost(w, [D], 'f16', dev), 1e-6, { halfCast: true }).data();
  const want = new Float64Array(2 * D), wantH = new Float64Array(2 * D);
  for (let r = 0; r < 2; r++) {
    let s = 0, sh = 0;
    for (let k = 0; k < D; k++) (s += x[r * D + k] ** 2), (sh += roundF16(x[r * D + k]) ** 2);
    const inv = 1 / Math.sqrt(s / D + 1e-6), invh = 1 / Math.sqrt(sh / D + 1e-6);
    for (let k = 0; k < D; k++) {
      want[r * D + k] = w[k] * (x[r * D + k] * inv);
      wantH[r * D + k] = roundF16(roundF16(w[k]) * roundF16(roundF16(x[r * D + k]) * invh));
    }
  }
  assertClose(y, want, 1e-5, 1e-5, 'rmsNorm direct');
  assertClose(yh, wantH, 1e-3, 2e-3, 'rmsNorm fp16 direct');
  assert.throws(() => ops.rmsNorm(fromHost(x, [2, D], 'f32', dev), fromHost(w.subarray(0, 7), [7], 'f32', dev)), /weight/);
});

/** HF rotate_half RoPE written out with f64 math from f64 angles (the textbook formula). */
function ropeDirect(x: Float32Array, B: number, H: number, T: number, D: number, pos: (b: number, t: number) => number, theta: number): Float64Array {
  const y = new Float64Array(x.length), half = D / 2;
  for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let t = 0; t < T; t++) {
    const o = ((b * H + h) * T + t) * D;
    for (let i = 0; i < D; i++) {
      const j = i % half;
      const a = pos(b, t) / Math.pow(theta, (2 * j) / D);
      const rot = i < half ? -x[o + i + half] : x[o + i - half];
      y[o + i] = x[o + i] * Math.cos(a) + rot * Math.sin(a);
    }
  }
  return y;
}

test('rope: rotate_half convention against the direct formula and the reference; layouts, [B,T] positions', async () => {
  const dev = await gpu();
  let seed = 200;
  for (const [B, H, T, D] of [[1, 1, 1, 2], [1, 3, 5, 64], [2, 2, 7, 128], [1, 40, 3, 128], [2, 1, 17, 6]]) {
    const x = randn(B * H * T * D, seed++);
    const p1 = Int32Array.from({ length: T }, (_, t) => t * 3 + 1);
    const p2 = Int32Array.from({ length: B * T }, (_, i) => (i * 37) % 211);
    for (const [pn, pv, pshape, pf] of [
      ['[T]', p1, [T], (_b: number, t: number) => p1[t]],
      ['[B,T]', p2, [B, T], (b: number, t: number) => p2[b * T + t]],
    ] as [string, Int32Array, number[], (b: number, t: number) => number][]) {
      for (const dtype of ['f32', 'f16'] as DType[]) {
        const [c, g] = pair(dev, [B, H, T, D], 0, { values: x, dtype });
        const pc = fromHost(pv, pshape, 'i32', 'cpu'), pg = fromHost(pv, pshape, 'i32', dev);
        const yg = ops.rope(g, pg);
        await assertTensorsClose(yg, ops.rope(c, pc), 2e-6, 1e-5, `rope ${dtype} ${pn} [${B},${H},${T},${D}]`);
        // CPU positions are uploaded for a GPU x.
        await assertTensorsClose(ops.rope(g, pc), ops.rope(c, pc), 2e-6, 1e-5, `rope cpu positions`);
        const xs = dtype === 'f16' ? x.map(roundF16) : x;
        assertClose(await yg.data(), ropeDirect(xs, B, H, T, D, pf, 10000), 2e-4, 1e-4, `rope direct ${dtype} ${pn}`);
        // bthd layout: the same values transposed, and a strided bhtd view of a bthd tensor.
        const gt = g.transpose(1, 2).contiguous(), ct = c.transpose(1, 2).contiguous();
        const yt = ops.rope(gt, pg, 10000, { layout: 'bthd' });
        assert.equal(yt.shape, [B, T, H, D]);
        await assertTensorsClose(yt, ops.rope(ct, pc, 10000, { layout: 'bthd' }), 2e-6, 1e-5, 'rope bthd');
        await assertTensorsClose(yt.transpose(1, 2).contiguous(), ops.rope(c, pc), 2e-6, 1e-5, 'rope bthd = bhtd');
        await assertTensorsClose(ops.rope(gt.transpose(1, 2), pg), ops.rope(c, pc), 2e-6, 1e-5, 'rope strided view');
      }
    }
  }
  // theta 500000 and positions past the cached table (GPU positions: in-kernel cos/sin fallback).
  const [B, H, T, D] = [1, 2, 3, 64];
  const x = randn(B * H * T * D, 7);
  const [c, g] = pair(dev, [B, H, T, D], 0, { values: x });
  const far = [5000, 9000, 123];
  const pg = fromHost(far, [T], 'i32', dev), pc = fromHost(far, [T], 'i32', 'cpu');
  await assertTensorsClose(ops.rope(g, pg, 500000), ops.rope(c, pc, 500000), 2e-3, 1e-3, 'rope far positions (fallback)');
  await assertTensorsClose(ops.rope(g, pc, 500000), ops.rope(c, pc, 500000), 2e-6, 1e-5, 'rope far positions (grown table)');
  assert.throws(() => ops.rope(g, fromHost([0, 1], [2], 'i32', dev)), /positions/);
  assert.throws(() => ops.rope(g, fromHost([0, 1, 2], [3], 'f32', dev)), /i32/);
});

test('rope uses HF f32 angles (positions * inv_freq rounded to f32)', async () => {
  const dev = await gpu();
  // At position 2000 the f32 and f64 angles differ by ~1e-4 rad: check we follow the f32 one.
  const D = 128, T = 1;
  const x = new Float32Array(D).fill(0);
  x[1] = 1; // y[1] = cos(a1), y[65] = sin(a1)
  const p = fromHost([2000], [1], 'i32', 'cpu');
  const y = await ops.rope(fromHost(x, [1, 1, T, D], 'f32', dev), p).data();
  const f = Math.fround;
  const inv = f(1 / f(Math.pow(10000, f(2 / D))));
  const a = f(2000 * inv);
  assert.ok(Math.abs(y[1] - Math.cos(a)) < 1e-6 && Math.abs(y[65] - Math.sin(a)) < 1e-6, `${y[1]} ${Math.cos(a)}`);
});

test('crossEntropy equals torch cross_entropy with ignore_index; per-row losses; f16 and strided logits', async () => {
  const dev = await gpu();
  let seed = 300;
  for (const [N, V] of [[1, 1], [3, 17], [5, 33], [7, 1000], [4, 32001], [300, 3]]) {
    for (const dtype of ['f32', 'f16'] as DType[]) {
      const [cl, gl] = pair(dev, [N, V], seed++, { dtype, scale: 4 });
      const tv = Int32Array.from({ length: N }, (_, i) => (i % 3 === 1 ? -100 : (i * 7919) % V));
      const tc = fromHost(tv, [N], 'i32', 'cpu'), tg = fromHost(tv, [N], 'i32', dev);
      const yg = ops.crossEntropy(gl, tg);
      assert.equal(yg.shape, []);
      await assertTensorsClose(yg, ops.crossEntropy(cl, tc), 1e-5, 1e-5, `ce ${dtype} [${N},${V}]`);
      await assertTensorsClose(ops.crossEntropyPerRow(gl, tg), ops.crossEntropyPerRow(cl, tc), 1e-5, 1e-5, `ce per row`);
      // Direct: mean of -logSoftmax[target] over non-ignored rows.
      const ls = await ops.logSoftmax(cl).data();
      let s = 0, n = 0;
      for (let r = 0; r < N; r++) if (tv[r] !== -100) (s -= ls[r * V + tv[r]]), n++;
      const got = await yg.item();
      if (n) assert.ok(Math.abs(got - s / n) < 1e-5 * Math.max(1, Math.abs(s / n)), `ce direct ${got} vs ${s / n}`);
      else assert.ok(Number.isNaN(got));
      // Strided logits and targets.
      const [cT, gT] = pair(dev, [V, N], seed++, { dtype });
      const tbig = fromHost(Int32Array.from({ length: 2 * N }, (_, i) => (i % 2 ? -5 : tv[i >> 1])), [N, 2], 'i32', dev).view([N], [2]);
      assert.ok(!tbig.isContiguous || N === 1);
      await assertTensorsClose(ops.crossEntropy(gT.transpose(), tbig), ops.crossEntropy(cT.transpose(), tc), 1e-5, 1e-5, 'ce strided');
    }
  }
  // All rows ignored -> NaN (torch); a custom ignore index.
  const [cl, gl] = pair(dev, [3, 5], 1);
  const all = fromHost([-100, -100, -100], [3], 'i32', dev);
  assert.ok(Number.isNaN(await ops.crossEntropy(gl, all).item()));
  assert.ok(Number.isNaN(await ops.crossEntropy(cl, fromHost([-100, -100, -100], [3], 'i32', 'cpu')).item()));
  const t2 = [0, 4, 2];
  await assertTensorsClose(ops.crossEntropy(gl, fromHost(t2, [3], 'i32', dev), 0), ops.crossEntropy(cl, fromHost(t2, [3], 'i32', 'cpu'), 0), 1e-6, 1e-6, 'ignore 0');
  // CPU targets are validated; GPU ones give NaN.
  assert.throws(() => ops.crossEntropy(gl, fromHost([0, 5, 1], [3], 'i32', 'cpu')), /out of range/);
  assert.throws(() => ops.crossEntropy(cl, fromHost([0, -1, 1], [3], 'i32', 'cpu')), /out of range/);
  assert.ok(Number.isNaN(await ops.crossEntropy(gl, fromHost([0, 5, 1], [3], 'i32', dev)).item()));
  // CPU targets with GPU logits are uploaded.
  await assertTensorsClose(ops.crossEntropy(gl, fromHost(t2, [3], 'i32', 'cpu')), ops.crossEntropy(cl, fromHost(t2, [3], 'i32', 'cpu')), 1e-6, 1e-6, 'cpu targets');
  // Huge logits stay finite.
  const [cb, gb] = pair(dev, [2, 50], 2, { scale: 1e4 });
  const tb = fromHost([3, 7], [2], 'i32', 'cpu');
  await assertTensorsClose(ops.crossEntropy(gb, tb), ops.crossEntropy(cb, tb), 1e-2, 1e-5, 'ce large');
});

test.run();
