// Tile-configuration sweep of the register-blocked matmul kernel (llm.c-style variant runner):
// `npx tsx bench/variants/matmul-tune.ts [size] [TMxTNxWY[b][gG][kKM] | tTMxTNkBK | gLxRxU | naive ...]`
// (register kernel, b = subgroup-shared A; tiled workgroup-memory kernel; GEMV; naive), interleaved rounds.
// Env: M (rows, default size), DTB (f32|f16), TRANSB=1, ROUNDS.
import '../../src/index.js';
import { getDevice } from '../../src/node/gpu.js';
import { makePlan } from '../../src/kernels/webgpu/matmul-index.js';
import { matmulRegister, MatmulConfig } from '../../src/kernels/webgpu/matmul.js';
import { gemv, GemvConfig } from '../../src/kernels/webgpu/gemv.js';
import { matmulNaive } from '../../src/kernels/webgpu/matmul-naive.js';
import { fromHost } from '../../src/tensor/tensor.js';
import type { DType } from '../../src/tensor/dtype.js';

const dev = await getDevice();
const args = process.argv.slice(2);
const size = Number(args[0] ?? 1024);
const specs = args.slice(1);
const rounds = Number(process.env.ROUNDS ?? 3);
const dtB = (process.env.DTB ?? 'f32') as DType;
const transB = process.env.TRANSB === '1';
const M = Number(process.env.M ?? size), N = size, K = size;
const rnd = (n: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37) * 0.5);
const a = fromHost(rnd(M * K), [M, K], 'f32', dev);
const b = fromHost(rnd(K * N), transB ? [N, K] : [K, N], dtB, dev);
const attrs = { transA: false, transB, activation: 'none' as const, alpha: 1, hasBias: false, hasResidual: false };
type Cand = { name: string; run: () => void };
const cands: Cand[] = [];
for (const s of specs) {
  if (s === 'naive') {
    cands.push({ name: s, run: () => matmulNaive(a, b).dispose() });
    continue;
  }
  const g = /^g(\d+)x(\d+)x(\d+)$/.exec(s);
  if (g) {
    const cfg: GemvConfig = { L: +g[1], R: +g[2], U: +g[3] };
    cands.push({ name: s, run: () => { const p = makePlan([a, b], attrs); gemv(p, cfg); p.y.dispose(); } });
    continue;
  }
  const t = /^t(\d+)x(\d+)k(\d+)$/.exec(s);
  if (t) {
    const cfg: MatmulConfig = { TM: +t[1], TN: +t[2], WY: 16, bcast: false, tiled: true, BK: +t[3] };
    cands.push({ name: s, run: () => { const p = makePlan([a, b], attrs); matmulRegister(p, cfg); p.y.dispose(); } });
    continue;
  }
  const m = /^(\d+)x(\d+)x(\d+)(b?)(?:g(\d+))?(?:k(\d+))?(?:u(\d+))?$/.exec(s);
  if (!m) throw new Error(`bad spec ${s}`);
  const cfg: MatmulConfig = { TM: +m[1], TN: +m[2], WY: +m[3], bcast: m[4] === 'b', G: m[5] ? +m[5] : 0, KM: m[6] ? +m[6] : 1, KU: m[7] ? +m[7] : 8 };
  cands.push({ name: s, run: () => { const p = makePlan([a, b], attrs); matmulRegister(p, cfg); p.y.dispose(); } });
}
// GPU time (wall clock on lavapipe, noisy on a shared machine) and process CPU time (lavapipe's worker
// threads; far less sensitive to other load): CPU-time GFLOP/s x cores estimates an idle machine.
const best = cands.map(() => Infinity), bestCpu = cands.map(() => Infinity);
for (const c of cands) { c.run(); await dev.sync(); }
for (let r = 0; r < rounds; r++) {
  for (let i = 0; i < cands.length; i++) {
    const t = await dev.timeGpu(cands[i].run);
    best[i] = Math.min(best[i], t ?? Infinity);
    const u0 = process.cpuUsage();
    cands[i].run();
    await dev.sync();
    const u = process.cpuUsage(u0);
    bestCpu[i] = Math.min(bestCpu[i], (u.user + u.system) / 1000);
  }
}
const cores = Number(process.env.CORES ?? 2);
for (let i = 0; i < cands.length; i++) {
  const gf = (ms: number) => ((2 * M * N * K) / ms / 1e6).toFixed(2).padStart(7);
  console.log(`${cands[i].name.padEnd(12)} ${best[i].toFixed(1).padStart(8)} ms ${gf(best[i])} GFLOP/s | cpu ${bestCpu[i].toFixed(0).padStart(7)} ms ${gf(bestCpu[i] / cores)} GFLOP/s at ${cores} idle cores`);
}
process.exit(0);
