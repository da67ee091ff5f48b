import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ops from '../../src/ops/index.js';
import { assertTensorsClose, gpu, pair } from '../helpers/gpu.js';

const UNARY = ['exp', 'log', 'sqrt', 'rsqrt', 'neg', 'abs', 'square', 'relu', 'gelu', 'geluGrad', 'erf', 'silu', 'siluGrad', 'sigmoid', 'tanh'] as const;
const SHAPES = [[1], [7], [3, 5], [2, 1, 13], [4, 3, 2, 5], [257, 3]];

test('unary ops match the CPU reference on odd shapes, f32 and f16 storage', async () => {
  const dev = await gpu();
  let seed = 1;
  for (const op of UNARY) {
    for (const shape of SHAPES) {
      for (const dtype of ['f32', 'f16'] as const) {
        const positive = ['log', 'sqrt', 'rsqrt'].includes(op);
        const [c, g] = pair(dev, shape, seed++, { dtype, scale: 3 });
        const cin = positive ? ops.addScalar(ops.abs(c), 0.1) : c;
        const gin = positive ? ops.addScalar(ops.abs(g), 0.1) : g;
        const f = (ops as unknown as Record<string, (x: typeof c) => typeof c>)[op];
        await assertTensorsClose(f(gin), f(cin), 2e-6, 2e-6, `${op} ${dtype} [${shape}]`);
      }
    }
  }
});

test('powScalar follows torch.pow on both backends: negative bases take integer exponents only (else NaN)', async () => {
  const dev = await gpu();
  // negative, zero and positive bases (odd count, so not a multiple of any tile); f16-exact values
  const base = [-3, -2, -1.5, -1, -0.5, -0.25, 0, 0.25, 0.5, 1, 1.5, 2, 3];
  const f32 = (v: number) => Math.fround(v);
  for (const p of [0.5, 1.5, -0.5, 2.5, 2, 3, -1, -2, 1, 0]) {
    // the reference: torch.pow in f64, rounded to f32 (NaN for a negative base and a non-integer exponent)
    const expect = base.map((b) => (p < 0 && b === 0 ? Infinity : f32(p === 0 ? 1 : b < 0 && !Number.isInteger(p) ? NaN : Math.sign(b) ** (Number.isInteger(p) ? p : 1) * Math.abs(b) ** p)));
    for (const dtype of ['f32', 'f16'] as const) {
      const [c, g] = pair(dev, [base.length], 0, { dtype, values: base });
      const got = { cpu: await ops.powScalar(c, p).data(), gpu: await ops.powScalar(g, p).data() };
      for (const [where, y] of Object.entries(got)) {
        for (let i = 0; i < base.length; i++) {
          const e = expect[i], a = y[i];
          const ok = Number.isNaN(e) ? Number.isNaN(a) : !Number.isFinite(e) ? a === e : Math.abs(a - e) <= 2e-6 * Math.max(1, Math.abs(e));
          assert.ok(ok, `powScalar(${base[i]}, ${p}) on ${where} (${dtype}): ${a}, expected ${e}`);
        }
      }
    }
  }
  // the case the GPU got wrong: (-2)^0.5 was -1.414 on the GPU, NaN on the CPU and in torch
  assert.ok(Number.isNaN((await ops.powScalar(pair(dev, [1], 0, { values: [-2] })[1], 0.5).data())[0]));
  assert.equal(Array.from(await ops.powScalar(pair(dev, [2], 0, { values: [-2, -3] })[1], 3).data()), [-8, -27]);
});

test('binary ops broadcast like NumPy, including size-1 dims and non-contiguous views', async () => {
  const dev = await gpu();
  const cases: [number[], number[]][] = [[[3, 5], [5]], [[2, 1, 7], [1, 4, 1]], [[1], [6, 1]], [[5, 3], [5, 1]], [[17, 9], [17, 9]]];
  let seed = 100;
  for (const op of ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'] as const) {
    for (const [sa, sb] of cases) {
      const [ca, ga] = pair(dev, sa, seed++);
      const [cb, gb] = pair(dev, sb, seed++);
      await assertTensorsClose(ops[op](ga, gb), ops[op](ca, cb), 1e-6, 1e-6, `${op} [${sa}] [${sb}]`);
    }
    // Non-contiguous operands: a transposed view and a slice.
    const [ca, ga] = pair(dev, [6, 4], seed++);
    const [cb, gb] = pair(dev, [4, 9], seed++, { dtype: 'f16' });
    const tA = (t: typeof ca) => t.transpose(0, 1);
    const sB = (t: typeof cb) => t.slice(1, 2, 8);
    await assertTensorsClose(ops[op](tA(ga), sB(gb)), ops[op](tA(ca), sB(cb)), 1e-6, 1e-6, `${op} strided`);
  }
});

test('affine, axpy, clamp and contiguous/cast copies', async () => {
  const dev = await gpu();
  const [c, g] = pair(dev, [5, 7], 7);
  await assertTensorsClose(ops.affine(g, 1.5, -2), ops.affine(c, 1.5, -2), 1e-6, 1e-6, 'affine');
  await assertTensorsClose(ops.clamp(g, -0.5, 0.25), ops.clamp(c, -0.5, 0.25), 0, 0, 'clamp');
  const [c2, g2] = pair(dev, [5, 7], 8);
  await assertTensorsClose(ops.axpy(g, g2, -0.25), ops.axpy(c, c2, -0.25), 1e-6, 1e-6, 'axpy');
  const gv = g.permute([1, 0]).slice(0, 1, 6);
  const cv = c.permute([1, 0]).slice(0, 1, 6);
  assert.not.ok(gv.isContiguous);
  await assertTensorsClose(gv.contiguous(), cv.contiguous(), 0, 0, 'contiguous');
  for (const dt of ['f16', 'i32', 'f32'] as const) {
    const a = gv.cast(dt), b = cv.cast(dt);
    assert.is(a.dtype, dt);
    await assertTensorsClose(a, b, 0, 0, `cast ${dt}`);
  }
  // odd-length f16 output written in packed pairs
  const [c3, g3] = pair(dev, [3, 5, 7], 9);
  await assertTensorsClose(g3.transpose(0, 2).cast('f16'), c3.transpose(0, 2).cast('f16'), 0, 0, 'f16 pairs');
});

test('views share storage; reshape of a non-contiguous view copies', async () => {
  const dev = await gpu();
  const [c, g] = pair(dev, [4, 6], 11);
  const v = g.reshape([2, 12]);
  assert.is(v.storage, g.storage);
  const t = g.transpose().reshape([24]);
  assert.is.not(t.storage, g.storage);
  await assertTensorsClose(t, c.transpose().reshape([24]), 0, 0, 'reshape copy');
  const b = g.slice(0, 1, 2).broadcastTo([3, 1, 6]);
  await assertTensorsClose(b.contiguous(), c.slice(0, 1, 2).broadcastTo([3, 1, 6]).contiguous(), 0, 0, 'broadcast');
});

test.run();
