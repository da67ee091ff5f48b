// Shared bench machinery: GPU time from timestamp queries, wall time around onSubmittedWorkDone.
import type { Device } from '../src/tensor/device.js';
import { tidy, Tensor } from '../src/tensor/tensor.js';

export interface Row {
  kernel: string;
  shape: string;
  dtype: string;
  gpu_ms: number | null;
  wall_ms: number;
  gflops?: number;
  gbps?: number;
  baseline?: string;
  ratio?: number;
  note?: string;
}

export interface Ctx {
  dev: Device;
  quick: boolean;
  json: boolean;
  report(row: Row): void;
}

export interface Timing {
  gpu_ms: number | null;
  wall_ms: number;
}

/**
 * Best-of-`reps` timing of the work `record` records (after `warmup` untimed runs). Tensors created by
 * `record` are disposed after each run.
 */
export async function time(dev: Device, record: () => unknown, reps = 5, warmup = 1): Promise<Timing> {
  const once = () => tidy(() => void record());
  for (let i = 0; i < warmup; i++) {
    once();
    await dev.sync();
  }
  let gpu: number | null = Infinity, wall = Infinity;
  for (let i = 0; i < reps; i++) {
    const g = await dev.timeGpu(once);
    if (g === null) gpu = null;
    else if (gpu !== null) gpu = Math.min(gpu, g);
    const t0 = performance.now();
    once();
    await dev.sync();
    wall = Math.min(wall, performance.now() - t0);
  }
  return { gpu_ms: gpu, wall_ms: wall };
}

/** Best-of-`reps` wall time of a host function (CPU references, peer libraries). */
export async function timeHost(f: () => unknown | Promise<unknown>, reps = 3, warmup = 1): Promise<number> {
  for (let i = 0; i < warmup; i++) await f();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    await f();
    best = Math.min(best, performance.now() - t0);
  }
  return best;
}

export function ms(t: Timing): number {
  return t.gpu_ms ?? t.wall_ms;
}

export function dispose(...ts: Tensor[]): void {
  for (const t of ts) t.dispose();
}
