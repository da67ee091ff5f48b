// Matmul bench: our register-blocked kernel and GEMV against, in the same run and on the same adapter, the naive
// one-thread-per-output WGSL kernel, @tensorflow/tfjs-backend-webgpu and the CPU reference.
// Every row's `ratio` is ours vs that row's baseline (how many times faster ours is); baseline rows name
// `ours` as their baseline. Ours and tfjs are timed in interleaved rounds (best of each) since the machine is
// shared. --quick: 1024^3 f32 (ours, tfjs, one naive run on 256 of the 1024 rows, CPU reference at 256^3) and a
// small f16-weight linear.
import { nodeGpu } from '../src/node/gpu.js';
import { matmul, linear } from '../src/ops/matmul.js';
import { matmulNaive } from '../src/kernels/webgpu/matmul-naive.js';
import { fromHost, Tensor } from '../src/tensor/tensor.js';
import type { DType } from '../src/tensor/dtype.js';
import { Ctx, Timing, dispose, timeHost } from './harness.js';

type Tf = typeof import('@tensorflow/tfjs-core');
let tfPromise: Promise<Tf | string> | null = null;

/** tfjs-core + the WebGPU backend on the same Dawn instance (navigator.gpu = our GPU object). */
function loadTf(): Promise<Tf | string> {
  tfPromise ??= (async () => {
    try {
      const g = globalThis as { navigator?: { gpu?: GPU } };
      if (!g.navigator?.gpu) Object.defineProperty(globalThis, 'navigator', { value: { ...(g.navigator ?? {}), gpu: nodeGpu() }, configurable: true, writable: true });
      const tf = await import('@tensorflow/tfjs-core');
      await import('@tensorflow/tfjs-backend-webgpu');
      if (!(await tf.setBackend('webgpu'))) return 'tfjs webgpu backend failed to initialise';
      await tf.ready();
      return tf;
    } catch (e) {
      return `tfjs unavailable: ${e instanceof Error ? e.message : String(e)}`;
    }
  })();
  return tfPromise;
}

/**
 * A tfjs matMul prepared for timing: `once()` gives kernel time from tf.time (timestamp queries) and wall
 * time to a 1-element readback (which flushes tfjs's held-back dispatches).
 */
async function prepareTf(tf: Tf, M: number, K: number, N: number, transB: boolean): Promise<{ once(): Promise<Timing>; dispose(): void }> {
  const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 0.5);
  const a = tf.tensor2d(rnd(M * K), [M, K]);
  const b = tf.tensor2d(rnd(K * N), transB ? [N, K] : [K, N]);
  const run = async () => {
    const c = tf.matMul(a, b, false, transB);
    const s = tf.slice(c, [0, 0], [1, 1]);
    await s.data();
    c.dispose();
    s.dispose();
  };
  await run(); // warm-up: pipeline compile and uploads
  return {
    async once() {
      const t0 = performance.now();
      await run();
      const wall = performance.now() - t0;
      const info = await tf.time(() => void tf.matMul(a, b, false, transB).dispose());
      return { gpu_ms: typeof info.kernelMs === 'number' ? info.kernelMs : null, wall_ms: wall };
    },
    dispose() {
      a.dispose();
      b.dispose();
    },
  };
}

/** Best-of timings of several runners measured in interleaved rounds (the machine is shared and noisy). */
async function interleaved(runners: (() => Promise<Timing>)[], reps: number): Promise<Timing[]> {
  const best: Timing[] = runners.map(() => ({ gpu_ms: Infinity, wall_ms: Infinity }));
  for (let r = 0; r < reps; r++) {
    for (let i = 0; i < runners.length; i++) {
      const t = await runners[i]();
      best[i].wall_ms = Math.min(best[i].wall_ms, t.wall_ms);
      best[i].gpu_ms = t.gpu_ms === null || best[i].gpu_ms === null ? null : Math.min(best[i].gpu_ms!, t.gpu_ms);
    }
  }
  return best;
}

/** One timed run of our op: GPU time from timestamps, wall time around a sync. */
function oursRunner(dev: Ctx['dev'], f: () => Tensor): () => Promise<Timing> {
  return async () => {
    const g = await dev.timeGpu(() => void f().dispose());
    const t0 = performance.now();
    f().dispose();
    await dev.sync();
    return { gpu_ms: g, wall_ms: performance.now() - t0 };
  };
}

/** The time compared: GPU timestamps where they exist, but never more than the wall time (tfjs's summed
 * per-kernel times can exceed its wall time). */
const best = (t: Timing) => Math.min(t.gpu_ms ?? Infinity, t.wall_ms);

const rnd = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + s) * 0.5);

export async function run(ctx: Ctx): Promise<void> {
  const dev = ctx.dev;
  const tf = await loadTf();
  const gf = (flop: number, t: number) => flop / t / 1e6;

  const square = async (n: number, reps: number, naive: number, cpuN: number | null) => {
    const flop = 2 * n ** 3;
    const a = fromHost(rnd(n * n, 1), [n, n], 'f32', dev), b = fromHost(rnd(n * n, 2), [n, n], 'f32', dev);
    const oursRun = oursRunner(dev, () => matmul(a, b));
    await oursRun(); // warm-up (pipeline compile)
    const tfRun = typeof tf !== 'string' ? await prepareTf(tf, n, n, n, false) : null;
    const [t, tfT] = await interleaved(tfRun ? [oursRun, () => tfRun.once()] : [oursRun], reps);
    tfRun?.dispose();
    const ours = best(t);
    const shape = `${n}x${n}x${n}`;
    ctx.report({
      kernel: 'matmul', shape, dtype: 'f32', ...t, gflops: gf(flop, ours),
      ...(tfT ? { baseline: 'tfjs-webgpu', ratio: best(tfT) / ours } : { note: String(tf) }),
    });
    if (tfT) ctx.report({ kernel: 'tfjs-webgpu matMul', shape, dtype: 'f32', ...tfT, gflops: gf(flop, best(tfT)), baseline: 'ours', ratio: best(tfT) / ours });
    if (naive) {
      // one timed run (it is slow), on the first `naive` rows of A (rows are independent work, so GFLOP/s carry
      // over); compile first on a small problem
      const s = fromHost(rnd(64 * 64, 5), [64, 64], 'f32', dev);
      matmulNaive(s, s).dispose();
      await dev.sync();
      s.dispose();
      const rows = Math.min(n, naive);
      const ar = rows < n ? a.slice(0, 0, rows) : a;
      const t0 = performance.now();
      const nt = await dev.timeGpu(() => void matmulNaive(ar, b).dispose());
      const nT = { gpu_ms: nt, wall_ms: performance.now() - t0 };
      const nflop = 2 * rows * n * n;
      ctx.report({
        kernel: 'naive WGSL (1 thread/output)', shape: `${rows}x${n}x${n}`, dtype: 'f32', ...nT, gflops: gf(nflop, best(nT)), baseline: 'ours',
        ratio: gf(flop, ours) / gf(nflop, best(nT)),
        ...(rows < n ? { note: `first ${rows} rows of the ${n}^3 problem; ratio = GFLOP/s ratio` } : {}),
      });
      if (ar !== a) ar.dispose();
    }
    if (cpuN) {
      const ca = fromHost(rnd(cpuN * cpuN, 1), [cpuN, cpuN], 'f32', 'cpu'), cb = fromHost(rnd(cpuN * cpuN, 2), [cpuN, cpuN], 'f32', 'cpu');
      const cpuMs = await timeHost(() => matmul(ca, cb).dispose(), 1, 0);
      const cpuGf = gf(2 * cpuN ** 3, cpuMs);
      ctx.report({
        kernel: 'cpu reference (f64 loops)', shape: `${cpuN}x${cpuN}x${cpuN}`, dtype: 'f32', gpu_ms: null, wall_ms: cpuMs, gflops: cpuGf,
        baseline: 'ours', ratio: gf(flop, ours) / cpuGf,
        ...(cpuN !== n ? { note: `measured at ${cpuN}^3; ratio = ours at ${n}^3 / this GFLOP/s (extrapolated)` } : {}),
      });
      dispose(ca, cb);
    }
    dispose(a, b);
  };

  /** x [M, K] @ W[N, K]^T with W in `wdt` (tfjs has no f16 storage: its weight is f32). */
  const lin = async (name: string, M: number, K: number, N: number, wdt: DType, reps: number, useTf: boolean) => {
    const flop = 2 * M * K * N;
    const x = fromHost(rnd(M * K, 3), [M, K], 'f32', dev);
    const w = fromHost(rnd(N * K, 4), [N, K], wdt, dev);
    const oursRun = oursRunner(dev, () => linear(x, w));
    await oursRun();
    const tfRun = useTf && typeof tf !== 'string' ? await prepareTf(tf, M, K, N, true) : null;
    const [t, tfT] = await interleaved(tfRun ? [oursRun, () => tfRun.once()] : [oursRun], reps);
    tfRun?.dispose();
    const ours = best(t);
    const shape = `${M}x${K} @ [${N},${K}]^T`;
    const w32 = wdt === 'f16' ? ' (tfjs: f32 weight)' : '';
    ctx.report({
      kernel: name, shape, dtype: `x f32, W ${wdt}`, ...t, gflops: gf(flop, ours), ...(M <= 8 ? { gbps: (N * K * (wdt === 'f16' ? 2 : 4)) / ours / 1e6 } : {}),
      ...(tfT ? { baseline: `tfjs-webgpu${w32}`, ratio: best(tfT) / ours } : {}),
    });
    if (tfT) ctx.report({ kernel: `tfjs-webgpu matMul${w32}`, shape, dtype: 'f32', ...tfT, gflops: gf(flop, best(tfT)), baseline: 'ours', ratio: best(tfT) / ours });
    dispose(x, w);
  };

  if (ctx.quick) {
    await square(1024, 2, 256, 256);
    await lin('linear f16 weight', 64, 1024, 1024, 'f16', 2, false);
    return;
  }
  await square(512, 3, 512, 512);
  await square(1024, 3, 1024, 256);
  await square(2048, 2, 0, null);
  await lin('linear f16 weight', 256, 1280, 5120, 'f16', 3, true);
  await lin('gemv f16 weight (decode)', 1, 5120, 5120, 'f16', 5, true);
  await lin('gemv f16 weight (13B MLP, chunked > 128 MiB)', 1, 5120, 13824, 'f16', 3, false);
}
