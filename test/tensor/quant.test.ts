// Quantized linear weights (int8 LLM.int8, q4 groups): host quantizer error bounds, the CPU reference against
// plain formulas, and the WGSL kernels (GEMV rows 1..8, GEMM row tiles, epilogues, chunked weights, dequantize)
// against the CPU reference on random inputs with odd shapes (K not a multiple of the group or of a word, N odd).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../src/index.js';
import { int8Activations } from '../../src/kernels/cpu/quant.js';
import { qTesting } from '../../src/kernels/webgpu/qmatmul.js';
import { linear } from '../../src/ops/matmul.js';
import { dequantize, quantizeHost, quantizeWeight, type QuantFormat } from '../../src/ops/quant.js';
import { roundF16 } from '../../src/tensor/dtype.js';
import { fromHost, type Tensor } from '../../src/tensor/tensor.js';
import { assertClose, gpu, maxAbsDiff, randn } from '../helpers/gpu.js';

let seed = 100;

function naive(x: Float32Array, w: ArrayLike<number>, M: number, N: number, K: number): Float64Array {
  const y = new Float64Array(M * N);
  for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
    let s = 0;
    for (let k = 0; k < K; k++) s += x[m * K + k] * w[n * K + k];
    y[m * N + n] = s;
  }
  return y;
}

test('host quantizers: dequantized weights within half a step of the originals', async () => {
  for (const [N, K, G] of [[7, 37, 32], [5, 130, 128], [3, 200, 64]]) {
    const w = randn(N * K, seed++, 0.05);
    for (const f of ['int8', 'q4'] as QuantFormat[]) {
      const q = quantizeWeight(w, [N, K], f, 'cpu', G);
      const d = await dequantize(q).data();
      const { scales } = quantizeHost(w, N, K, f, f === 'int8' ? K : G);
      for (let n = 0; n < N; n++) for (let k = 0; k < K; k++) {
        const step = f === 'int8' ? scales[n] : scales[(n * Math.ceil(K / G) + Math.floor(k / G)) * 2];
        // half a step, plus the f16 rounding of the scale (int8: clamping at 127 moves by at most 127·ulp)
        const bound = step * 0.5 + (f === 'int8' ? 127 * step * 2 ** -10 : step * 2 ** -9 + Math.abs(w[n * K + k]) * 2 ** -10);
        const e = Math.abs(d[n * K + k] - w[n * K + k]);
        if (!(e <= bound)) assert.unreachable(`${f} [${N},${K}] (${n},${k}): |err| ${e} > ${bound}`);
      }
      // q4: a constant group is exact (scale 0, min = the value)
      const c = new Float32Array(N * K).fill(0.25);
      if (f === 'q4') assertClose(await dequantize(quantizeWeight(c, [N, K], f, 'cpu', G)).data(), c, 0, 0, `${f} constant`);
    }
  }
});

test('CPU reference: q4 equals x @ dequant(W)^T; int8 equals LLM.int8 (all-outlier x is exact, otherwise within the activation rounding bound)', async () => {
  const M = 5, N = 9, K = 70;
  const w = randn(N * K, seed++, 0.1);
  for (const f of ['int8', 'q4'] as QuantFormat[]) {
    const q = quantizeWeight(w, [N, K], f, 'cpu', 32);
    const d = await dequantize(q).data();
    const x = randn(M * K, seed++);
    const y = await linear(fromHost(x, [M, K], 'f32', 'cpu'), q).data();
    const ref = naive(x, d, M, N, K);
    if (f === 'q4') assertClose(y, ref, 1e-5, 1e-5, 'q4 cpu');
    else {
      // the per-token rounding of x moves each product by at most absmax/254·|w|
      const { rowScale } = int8Activations(x, M, K);
      for (let m = 0; m < M; m++) for (let n = 0; n < N; n++) {
        let b = 0;
        for (let k = 0; k < K; k++) b += (rowScale[m] / 2) * Math.abs(d[n * K + k]);
        const e = Math.abs(y[m * N + n] - ref[m * N + n]);
        if (!(e <= b * 1.001 + 1e-6)) assert.unreachable(`int8 (${m},${n}): |err| ${e} > ${b}`);
      }
      const big = x.map((v) => (v >= 0 ? 6 + v : -6 + v));
      assertClose(await linear(fromHost(big, [M, K], 'f32', 'cpu'), q).data(), naive(big, d, M, N, K), 1e-4, 1e-5, 'int8 all outliers');
    }
  }
});

test('LLM.int8 activations: outlier columns over all rows, absmax without them, half-to-even rounding', () => {
  const x = Float32Array.from([0.5, 7, -1, 0.25, 0.1, 0.2, -6, 0.3]);
  const { outlier, rowScale, xq } = int8Activations(x, 2, 4);
  assert.equal([...outlier], [0, 1, 1, 0]);
  // row 0's -1 sits in an outlier column but is no outlier value: it sets the absmax (as bitsandbytes)
  assert.ok(Math.abs(rowScale[0] - 1 / 127) < 1e-9 && Math.abs(rowScale[1] - 0.3 / 127) < 1e-9);
  assert.equal([...xq], [64, 0, 0, 32, 42, 0, 0, 127]); // 63.5 -> 64, 31.75 -> 32, 42.33 -> 42
});

/** GPU qmatmul against the CPU reference; int8 may differ by one rounding step of x where x·127/absmax falls
 * within an ulp of .5 (WGSL division is not correctly rounded): allow two such flips per output. */
async function compare(f: QuantFormat, M: number, N: number, K: number, G: number, opts: { bias?: boolean; act?: 'silu' | 'gelu' | 'relu'; res?: boolean; outliers?: boolean; f16x?: boolean } = {}): Promise<void> {
  const dev = await gpu();
  const w = randn(N * K, seed++, 0.1);
  const x = randn(M * K, seed++);
  if (opts.outliers) for (let m = 0; m < M; m++) x[m * K + (7 % K)] = 8 + m; // one outlier column
  const b = randn(N, seed++), r = randn(M * N, seed++);
  const run = async (target: 'cpu' | typeof dev): Promise<Float32Array> => {
    const q = quantizeWeight(w, [N, K], f, target, G);
    const xt = fromHost(x, [M, K], opts.f16x ? 'f16' : 'f32', target);
    const y = linear(xt, q, opts.bias ? fromHost(b, [N], 'f32', target) : undefined, { activation: opts.act, residual: opts.res ? fromHost(r, [M, N], 'f32', target) : undefined });
    const v = (await y.data()) as Float32Array;
    q.dispose();
    return v;
  };
  const g = await run(dev), c = await run('cpu');
  const what = `${f} M=${M} N=${N} K=${K} G=${G} ${JSON.stringify(opts)}`;
  if (f === 'q4') assertClose(g, c, 2e-5 * Math.sqrt(K), 1e-5, what);
  else {
    const { rowScale } = int8Activations(x, M, K);
    const flip = Math.max(...rowScale) * 0.1 * 127 * 2; // two flips of one quantum x |w|max (<= 127 steps of the scale)
    assertClose(g, c, 2e-5 * Math.sqrt(K) + flip * 0.1, 1e-5, what);
  }
}

test('GEMV rows 1..8 and GEMM row tiles, both formats, odd shapes', async () => {
  for (const f of ['q4', 'int8'] as QuantFormat[]) {
    for (const M of [1, 2, 3, 4, 5, 8, 13]) await compare(f, M, 33, 77, 32);
    for (const [N, K] of [[1, 5], [7, 128], [9, 130], [17, 200], [65, 61]]) await compare(f, 3, N, K, 64);
    await compare(f, 1, 40, 256, 128);
    await compare(f, 21, 19, 99, 32);
  }
});

test('epilogues (bias, activation, residual), f16 activations, int8 outlier columns', async () => {
  for (const f of ['q4', 'int8'] as QuantFormat[]) {
    await compare(f, 1, 17, 45, 32, { bias: true, act: 'silu', res: true });
    await compare(f, 6, 17, 45, 32, { bias: true, act: 'gelu' });
    await compare(f, 11, 9, 45, 32, { res: true, act: 'relu', f16x: true });
  }
  for (const M of [1, 4, 9]) await compare('int8', M, 21, 50, 50, { outliers: true });
});

test('weights split over several bindings (chunked N) give the same result', async () => {
  for (const f of ['q4', 'int8'] as QuantFormat[]) {
    qTesting.maxElems = 400; // a few rows per binding
    try {
      await compare(f, 1, 37, 100, 32);
      await compare(f, 10, 37, 100, 32, { bias: true, res: true });
    } finally {
      qTesting.maxElems = undefined;
    }
  }
});

test('the configuration of GPUs without 8-lane subgroups: 64 lanes, workgroup-memory reduction, lanes sharing a q4 group', async () => {
  qTesting.config = { L: 64, R: 2, LPG: 0 };
  try {
    for (const f of ['q4', 'int8'] as QuantFormat[]) {
      await compare(f, 1, 21, 1030, 32);
      await compare(f, 5, 13, 517, 128, { bias: true, res: true });
    }
  } finally {
    qTesting.config = undefined;
  }
});

test('dequantize on the GPU equals the CPU reference, also for a row range', async () => {
  const dev = await gpu();
  for (const f of ['q4', 'int8'] as QuantFormat[]) {
    const [N, K] = [13, 83];
    const w = randn(N * K, seed++, 0.1);
    const qc = quantizeWeight(w, [N, K], f, 'cpu', 32), qg = quantizeWeight(w, [N, K], f, dev, 32);
    for (const [n0, n1] of [[0, N], [3, 11]] as const) {
      const g: Tensor = dequantize(qg, n0, n1), c = dequantize(qc, n0, n1);
      assert.equal(g.shape, [n1 - n0, K]);
      const d = maxAbsDiff(await g.data(), await c.data());
      assert.ok(d === 0, `${f} dequantize rows ${n0}..${n1}: max diff ${d}`);
    }
    qg.dispose();
  }
});

test('bad input: wrong K and a disposed weight fail with one clear line', async () => {
  const q = quantizeWeight(randn(12, 1), [3, 4], 'q4', 'cpu', 8);
  assert.throws(() => linear(fromHost(new Float32Array(5), [1, 5], 'f32', 'cpu'), q), /does not end in 4/);
  q.dispose();
  assert.throws(() => linear(fromHost(new Float32Array(4), [1, 4], 'f32', 'cpu'), q), /disposed/);
  assert.throws(() => quantizeHost(new Float32Array(12), 3, 4, 'q4', 12), /multiple of 8/);
  assert.ok(roundF16(1) === 1);
});

test.run();
