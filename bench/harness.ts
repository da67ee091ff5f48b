// Shared bench machinery.
//
// Every measurement is a list of repetitions (after untimed warm-up runs), each giving a GPU time and a wall time
// of the SAME run: the wall clock brackets the timestamped submission (timestamps written at the start and end of
// its compute pass) up to the readback of those two timestamps, so GPU ≤ wall in every repetition. The time a row
// is judged by is the GPU time where the adapter has timestamp queries, else the wall time; rows report the
// repetitions and the min / median / max of that time. Baselines (tfjs-webgpu, naive WGSL, the CPU reference) are
// warmed and repeated exactly as ours, interleaved with ours where they share the GPU.
//
// Ratios: a baseline row carries `speedup` = ours' throughput ÷ that baseline's throughput (work per median time;
// for the same work this is baseline median time ÷ ours median time); > 1 means ours is faster. Our own rows
// carry no ratio, so no number is printed twice.
import type { Device } from '../src/tensor/device.js';
import { tidy, Tensor } from '../src/tensor/tensor.js';

/** One repetition: GPU time (null without timestamp queries) and the wall time around the same run. */
export interface Sample {
  gpu_ms: number | null;
  wall_ms: number;
}

/** A measurement: its repetitions and summary (medians; min / median / max of the judged time). */
export interface Stats {
  reps: number;
  /** median GPU time, null when the adapter (or the baseline) has no timestamps */
  gpu_ms: number | null;
  /** median wall time */
  wall_ms: number;
  /** which time min / median / max describe */
  basis: 'gpu' | 'wall';
  min_ms: number;
  median_ms: number;
  max_ms: number;
}

export interface Row extends Stats {
  kernel: string;
  shape: string;
  dtype: string;
  /** 'ours' (the default) rows first; each 'baseline' row follows the ours row it is compared with */
  role?: 'ours' | 'baseline';
  gflops?: number;
  gbps?: number;
  /** baseline rows: ours' throughput ÷ this baseline's throughput (from median times) */
  speedup?: number;
  /** baseline rows: the kernel of the ours row they are compared with */
  vs?: string;
  note?: string;
}

export interface Ctx {
  dev: Device;
  quick: boolean;
  json: boolean;
  report(row: Row): void;
  /** A transient progress line (stderr, cleared before anything else is printed; silent when not a terminal). */
  progress(text: string): void;
}

const median = (v: number[]): number => {
  const s = [...v].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** Summarises repetitions (a repetition whose GPU time exceeds its wall time means broken timestamps: warned). */
export function summarize(samples: Sample[]): Stats {
  if (!samples.length) throw new Error('bench: no repetitions');
  const bad = samples.filter((s) => s.gpu_ms !== null && s.gpu_ms > s.wall_ms);
  if (bad.length) process.stderr.write(`bench: GPU time > wall time in ${bad.length} repetition(s) (${bad[0].gpu_ms} > ${bad[0].wall_ms} ms): timestamps unreliable\n`);
  const gpu = samples.every((s) => s.gpu_ms !== null);
  const judged = samples.map((s) => (gpu ? s.gpu_ms! : s.wall_ms));
  return {
    reps: samples.length,
    gpu_ms: gpu ? median(samples.map((s) => s.gpu_ms!)) : null,
    wall_ms: median(samples.map((s) => s.wall_ms)),
    basis: gpu ? 'gpu' : 'wall',
    min_ms: Math.min(...judged),
    median_ms: median(judged),
    max_ms: Math.max(...judged),
  };
}

/** One timed run of GPU work that `record` records (tensors it creates are disposed). */
export function gpuRunner(dev: Device, record: () => unknown): () => Promise<Sample> {
  const once = () => tidy(() => void record());
  return async () => {
    const t0 = performance.now();
    const g = await dev.timeGpu(once);
    return { gpu_ms: g, wall_ms: performance.now() - t0 };
  };
}

/** One timed run of host work (CPU reference, whole pipelines): wall time only. */
export function hostRunner(f: () => unknown | Promise<unknown>): () => Promise<Sample> {
  return async () => {
    const t0 = performance.now();
    await f();
    return { gpu_ms: null, wall_ms: performance.now() - t0 };
  };
}

/**
 * Runs each runner `warmup` times untimed, then `reps` timed rounds in which every runner runs once (interleaved,
 * so a noisy shared machine weighs on all of them alike). Returns one Stats per runner.
 */
export async function measure(runners: (() => Promise<Sample>)[], reps: number, warmup = 1): Promise<Stats[]> {
  for (const r of runners) for (let i = 0; i < warmup; i++) await r();
  const samples: Sample[][] = runners.map(() => []);
  for (let k = 0; k < reps; k++) {
    for (let i = 0; i < runners.length; i++) samples[i].push(await runners[i]());
  }
  return samples.map(summarize);
}

/** `reps` timed runs of our GPU work after `warmup` untimed ones. */
export async function time(dev: Device, record: () => unknown, reps = 5, warmup = 1): Promise<Stats> {
  return (await measure([gpuRunner(dev, record)], reps, warmup))[0];
}

/** `reps` timed runs of host work after `warmup` untimed ones. */
export async function timeHost(f: () => unknown | Promise<unknown>, reps = 3, warmup = 1): Promise<Stats> {
  return (await measure([hostRunner(f)], reps, warmup))[0];
}

/** Stats of a single run that cannot be repeated cheaply (model load, a whole generation). */
export function once(wall_ms: number): Stats {
  return summarize([{ gpu_ms: null, wall_ms }]);
}

/** The time a row is judged by (median). */
export function ms(t: Stats): number {
  return t.median_ms;
}

/** Work per millisecond → GFLOP/s or GB/s (work in flop or bytes). */
export const rate = (work: number, t: Stats): number => work / t.median_ms / 1e6;

/**
 * Reports our row and its baselines. `work` (flop or bytes) may differ per baseline (a baseline run on part of the
 * problem); speedup = ours' work per median time ÷ the baseline's.
 */
export function compare(
  ctx: Ctx,
  ours: Omit<Row, keyof Stats | 'role'> & { stats: Stats; work: number },
  baselines: (Omit<Row, keyof Stats | 'role' | 'speedup' | 'vs'> & { stats: Stats; work: number })[],
): void {
  const { stats, work, ...o } = ours;
  ctx.report({ ...o, ...stats, role: 'ours' });
  for (const b of baselines) {
    const { stats: bs, work: bw, ...rest } = b;
    ctx.report({ ...rest, ...bs, role: 'baseline', vs: o.kernel, speedup: work / stats.median_ms / (bw / bs.median_ms) });
  }
}

export function dispose(...ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}
