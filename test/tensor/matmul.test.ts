import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { linear, matmul } from '../../src/index.js';
import type { MatmulOptions } from '../../src/index.js';
import { gemv } from '../../src/kernels/webgpu/gemv.js';
import { makePlan, useGemv } from '../../src/kernels/webgpu/matmul-index.js';
import { matmulRegister, subgroupsOf8 } from '../../src/kernels/webgpu/matmul.js';
import type { Device } from '../../src/index.js';
import type { DType } from '../../src/index.js';
import { Tensor, tidy } from '../../src/index.js';
import { assertTensorsClose, gpu, pair } from '../helpers/gpu.js';

let seed = 1;
type Pair = [Tensor, Tensor];
const mk = (dev: Device, shape: number[], dtype: DType = 'f32', scale = 1): Pair => pair(dev, shape, seed++, { dtype, scale });

/** Runs matmul on the CPU and the GPU and compares (tolerance scales with K). */
async function check(what: string, a: Pair, b: Pair, opts: { cpu?: MatmulOptions; gpu?: MatmulOptions } = {}, tol = 2e-5): Promise<void> {
  const g = matmul(a[1], b[1], opts.gpu);
  const c = matmul(a[0], b[0], opts.cpu);
  const K = opts.gpu?.transA ? a[0].shape[a[0].rank - 2] : a[0].shape[a[0].rank - 1];
  await assertTensorsClose(g, c, tol * Math.sqrt(K + 1), tol, what);
  g.dispose();
  c.dispose();
}

test('odd shapes (not multiples of any tile), f32', async () => {
  const dev = await gpu();
  const sizes = [1, 3, 17, 33, 65, 127];
  for (const M of sizes) {
    for (const K of [1, 3, 17, 65, 127]) {
      for (const N of [1, 17, 127]) {
        await check(`[${M},${K}]@[${K},${N}]`, mk(dev, [M, K]), mk(dev, [K, N]));
      }
    }
  }
  await check('N odd wide', mk(dev, [33, 20]), mk(dev, [20, 65]));
  await check('larger K', mk(dev, [9, 300]), mk(dev, [300, 40]));
});

test('transA / transB, incl. transposed views passed as plain operands', async () => {
  const dev = await gpu();
  for (const [M, K, N] of [[5, 17, 9], [33, 8, 17], [1, 40, 3], [17, 1, 33]]) {
    for (const tA of [false, true]) {
      for (const tB of [false, true]) {
        const a = mk(dev, tA ? [K, M] : [M, K]);
        const b = mk(dev, tB ? [N, K] : [K, N]);
        const o = { transA: tA, transB: tB };
        await check(`trans ${tA} ${tB} [${M},${K},${N}]`, a, b, { cpu: o, gpu: o });
        // the same through transposed views
        const av: Pair = tA ? [a[0].transpose(), a[1].transpose()] : a;
        const bv: Pair = tB ? [b[0].transpose(), b[1].transpose()] : b;
        await check(`views ${tA} ${tB} [${M},${K},${N}]`, av, bv);
      }
    }
  }
});

test('batched with broadcasting, size-1 dims', async () => {
  const dev = await gpu();
  const cases: [number[], number[]][] = [
    [[2, 3, 5, 7], [3, 7, 4]],
    [[5, 7], [2, 7, 4]],
    [[2, 1, 5, 7], [1, 4, 7, 3]],
    [[3, 1, 7], [3, 7, 1]],
    [[1, 1, 1], [1, 1, 1]],
    [[4, 17, 9], [9, 33]],
    [[2, 3, 17, 9], [9, 33]],
    [[2, 1, 9], [9, 33]],
    [[6, 2, 9], [1, 9, 5]],
  ];
  for (const [sa, sb] of cases) await check(`[${sa}]@[${sb}]`, mk(dev, sa), mk(dev, sb));
  // batched transB (attention scores: q [B,H,T,D] @ k [B,H,S,D]^T)
  const o = { transB: true };
  await check('qk^T', mk(dev, [2, 3, 9, 16]), mk(dev, [2, 3, 11, 16]), { cpu: o, gpu: o });
  // shapes
  const g = matmul(mk(dev, [2, 1, 5, 7])[1], mk(dev, [4, 7, 3])[1]);
  assert.equal(g.shape, [2, 4, 5, 3]);
  g.dispose();
  assert.throws(() => matmul(mk(dev, [2, 3])[1], mk(dev, [4, 5])[1]), /inner dimensions/);
  assert.throws(() => matmul(mk(dev, [2, 2, 3])[1], mk(dev, [3, 3, 5])[1]), /batch/);
});

test('non-contiguous views: slices, permutes, broadcast, odd offsets', async () => {
  const dev = await gpu();
  const [ca, ga] = mk(dev, [6, 40, 50]);
  const [cb, gb] = mk(dev, [50, 70]);
  const sl = (t: Tensor) => t.slice(0, 1, 4).slice(1, 3, 36).slice(2, 5, 38); // [3, 33, 33], odd offset
  const bs = (t: Tensor) => t.slice(0, 5, 38).slice(1, 1, 66); // [33, 65]
  await check('sliced', [sl(ca), sl(ga)], [bs(cb), bs(gb)]);
  const pm = (t: Tensor) => t.permute([1, 0, 2]).slice(1, 0, 3).slice(2, 0, 33); // [40, 3, 33]: batch stride 50*40?
  await check('permuted batch', [pm(ca).slice(0, 0, 5), pm(ga).slice(0, 0, 5)], [bs(cb).slice(0, 0, 33), bs(gb).slice(0, 0, 33)]);
  // broadcast view as an operand (stride-0 rows)
  const [cr, gr] = mk(dev, [1, 33]);
  await check('broadcast rows', [cr.broadcastTo([17, 33]), gr.broadcastTo([17, 33])], [bs(cb).slice(0, 0, 33), bs(gb).slice(0, 0, 33)]);
});

test('f16 storage for either operand (packed pair fast paths and odd offsets)', async () => {
  const dev = await gpu();
  for (const [dA, dB] of [['f16', 'f32'], ['f32', 'f16'], ['f16', 'f16']] as const) {
    for (const [M, K, N] of [[17, 64, 33], [9, 33, 7], [33, 130, 9]]) {
      await check(`${dA}x${dB} nn [${M},${K},${N}]`, mk(dev, [M, K], dA), mk(dev, [K, N], dB));
      const o = { transB: true };
      await check(`${dA}x${dB} nt [${M},${K},${N}]`, mk(dev, [M, K], dA), mk(dev, [N, K], dB), { cpu: o, gpu: o });
    }
  }
  // odd element offsets: pairs are misaligned and must fall back to scalar reads
  const a = mk(dev, [9, 35], 'f16'), b = mk(dev, [20, 35], 'f16');
  const s = (t: Tensor) => t.slice(1, 1, 34);
  const o = { transB: true };
  await check('f16 odd offset', [s(a[0]), s(a[1])], [s(b[0]), s(b[1])], { cpu: o, gpu: o });
});

test('epilogues: alpha, bias (f32/f16, strided), activations, residual (broadcast)', async () => {
  const dev = await gpu();
  for (const [M, K, N] of [[17, 33, 65], [1, 40, 33], [5, 8, 3]]) {
    const a = mk(dev, [2, M, K]), b = mk(dev, [N, K]);
    for (const activation of ['none', 'relu', 'gelu', 'silu'] as const) {
      for (const biasDt of ['f32', 'f16'] as const) {
        const bias = mk(dev, [N], biasDt);
        const res = mk(dev, [2, M, N]);
        const mo = (i: 0 | 1): MatmulOptions => ({ transB: true, alpha: 0.75, bias: bias[i], activation, residual: res[i] });
        await check(`epilogue ${activation} ${biasDt} [${M},${K},${N}]`, a, b, { cpu: mo(0), gpu: mo(1) }, 5e-5);
      }
    }
    const resRow = mk(dev, [N]);
    const strided = mk(dev, [N, 2]);
    const mo = (i: 0 | 1): MatmulOptions => ({ transB: true, residual: resRow[i], bias: strided[i].slice(1, 1, 2).reshape([N]) });
    await check(`broadcast residual, strided bias [${M},${K},${N}]`, a, b, { cpu: mo(0), gpu: mo(1) });
    const resT = mk(dev, [N, M]);
    const mt = (i: 0 | 1): MatmulOptions => ({ transB: true, residual: resT[i].transpose(), activation: 'gelu' });
    await check(`transposed residual [${M},${K},${N}]`, [a[0].slice(0, 0, 1).reshape([M, K]), a[1].slice(0, 0, 1).reshape([M, K])], b, { cpu: mt(0), gpu: mt(1) });
  }
  assert.throws(() => matmul(mk(dev, [2, 3])[1], mk(dev, [3, 4])[1], { bias: mk(dev, [3])[1] }), /bias/);
  assert.throws(() => matmul(mk(dev, [2, 3])[1], mk(dev, [3, 4])[1], { residual: mk(dev, [3, 4])[1] }), /residual/);
});

test('GEMV path (M <= 8): f16/f32 weights, odd K and N, epilogue, 3-D input', async () => {
  const dev = await gpu();
  for (const dW of ['f16', 'f32'] as const) {
    for (const M of [1, 3]) {
      for (const [K, N] of [[64, 33], [67, 9], [1030, 100], [5, 8], [1, 17]]) {
        const x = mk(dev, [M, K]), w = mk(dev, [N, K], dW);
        const plan = makePlan([x[1], w[1]], { transA: false, transB: true, activation: 'none', alpha: 1, hasBias: false, hasResidual: false });
        assert.ok(useGemv(plan), `gemv chosen for [${M},${K}]x[${N},${K}]^T`);
        plan.y.dispose();
        const bias = mk(dev, [N]), res = mk(dev, [1, M, N]);
        const o = (i: 0 | 1): MatmulOptions => ({ transB: true, bias: bias[i], activation: 'silu', residual: res[i], alpha: 1.5 });
        await check(`gemv ${dW} M=${M} [${K},${N}]`, x, w, { cpu: { transB: true }, gpu: { transB: true } });
        const x3: Pair = [x[0].reshape([1, M, K]), x[1].reshape([1, M, K])];
        await check(`gemv ${dW} M=${M} epilogue [${K},${N}]`, x3, w, { cpu: o(0), gpu: o(1) });
      }
    }
  }
  // 8 rows from a batch folded into M; 9 rows take the register kernel
  const wt = mk(dev, [9, 40]).map((t) => t.transpose()) as Pair; // [40, 9], contiguous along K
  await check('gemv M=8 folded batch', mk(dev, [2, 4, 40]), wt);
  await check('M=9 register kernel', mk(dev, [9, 40]), wt);
  // a strided x (a column of a matrix)
  const xs = mk(dev, [40, 3]), w = mk(dev, [21, 40], 'f16');
  const o = { transB: true };
  await check('gemv strided x', [xs[0].transpose().slice(0, 1, 2), xs[1].transpose().slice(0, 1, 2)], w, { cpu: o, gpu: o });
});

test('both kernel configurations (with and without subgroup sharing), and both GEMV reductions', async () => {
  const dev = await gpu();
  const attrs = (hasBias: boolean) => ({ transA: false, transB: true, activation: 'gelu' as const, alpha: 1, hasBias, hasResidual: false });
  const run = async (what: string, f: (p: ReturnType<typeof makePlan>) => void, M: number, K: number, N: number, dt: DType) => {
    const [ca, ga] = mk(dev, [M, K], dt), [cb, gb] = mk(dev, [N, K], dt), [cbias, gbias] = mk(dev, [N]);
    const p = makePlan([ga, gb, gbias], attrs(true));
    f(p);
    const c = matmul(ca, cb, { transB: true, bias: cbias, activation: 'gelu' });
    await assertTensorsClose(p.y, c, 1e-4, 1e-4, what);
    p.y.dispose();
  };
  await run('register 4x4 direct f16', (p) => matmulRegister(p, { TM: 4, TN: 4, WY: 8, bcast: false, KU: 2 }), 37, 70, 45, 'f16');
  await run('tiled 4x4 BK16 f16 (the real-GPU kernel)', (p) => matmulRegister(p, { TM: 4, TN: 4, WY: 16, bcast: false, tiled: true, BK: 16 }), 77, 70, 69, 'f16');
  {
    // tiled with M-contiguous A and N-contiguous B (the other load mappings), batched, f32
    const [ca, ga] = mk(dev, [2, 40, 70]), [cb, gb] = mk(dev, [2, 40, 66]);
    const p = makePlan([ga, gb], { transA: true, transB: false, activation: 'none', alpha: 1, hasBias: false, hasResidual: false });
    matmulRegister(p, { TM: 2, TN: 4, WY: 16, bcast: false, tiled: true, BK: 8 });
    await assertTensorsClose(p.y, matmul(ca, cb, { transA: true }), 1e-4, 1e-4, 'tiled transA batched');
    p.y.dispose();
  }
  if (subgroupsOf8(dev)) await run('register 4x3 bcast f16', (p) => matmulRegister(p, { TM: 4, TN: 3, WY: 2, bcast: true }), 37, 70, 45, 'f16');
  await run('gemv tree reduction f32', (p) => gemv(p, { L: 64, R: 4, U: 2 }), 1, 301, 45, 'f32');
  await run('gemv tree reduction f16 M=3', (p) => gemv(p, { L: 32, R: 3, U: 1 }), 3, 301, 45, 'f16');
});

test('linear: x [..., in] @ W[out, in]^T + b with activation and residual; rank-1 x', async () => {
  const dev = await gpu();
  const x = mk(dev, [2, 5, 24]), w = mk(dev, [40, 24], 'f16'), b = mk(dev, [40]), r = mk(dev, [2, 5, 40]);
  const gy = linear(x[1], w[1], b[1], { activation: 'relu', residual: r[1] });
  const cy = linear(x[0], w[0], b[0], { activation: 'relu', residual: r[0] });
  assert.equal(gy.shape, [2, 5, 40]);
  await assertTensorsClose(gy, cy, 1e-4, 1e-4, 'linear');
  const x1 = mk(dev, [24]);
  const g1 = linear(x1[1], w[1]);
  assert.equal(g1.shape, [40]);
  await assertTensorsClose(g1, linear(x1[0], w[0]), 1e-4, 1e-4, 'linear rank 1');
  assert.throws(() => linear(x[1], mk(dev, [40, 23])[1]), /does not end/);
});

test('no leaks: intermediate views are released', async () => {
  const dev = await gpu();
  const [, x] = mk(dev, [24]), [, w] = mk(dev, [40, 24]);
  const before = x.storage.refs;
  const y = tidy(() => linear(x, w));
  assert.is(x.storage.refs, before);
  y.dispose();
});

test.run();
