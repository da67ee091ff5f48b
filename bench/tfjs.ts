// @tensorflow/tfjs-backend-webgpu as an in-run baseline, on the same Dawn instance (navigator.gpu = our GPU object).
// Timed like ours: warmed, repeated, interleaved with ours; each repetition's GPU time is tfjs's own timestamp
// time (tf.time's kernelMs: the sum of its kernels' compute passes) and its wall time brackets the same run up to
// the GPU finishing (flush + onSubmittedWorkDone), with no data readback, which ours does not pay either.
import { nodeGpu } from '../src/node/gpu.js';
import type { Sample } from './harness.js';

export type Tf = typeof import('@tensorflow/tfjs-core');
export type TfTensor = import('@tensorflow/tfjs-core').Tensor;

let tfPromise: Promise<Tf | string> | null = null;

/** tfjs-core with the WebGPU backend, or a string saying why it is unavailable. */
export function loadTf(): Promise<Tf | string> {
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

interface WebGpuBackend {
  commandEncoder: unknown;
  submitQueue(): void;
  queue: GPUQueue;
  supportTimestampQuery: boolean;
}

/** One timed run of a tfjs computation (its result is disposed). */
export function tfRunner(tf: Tf, op: () => TfTensor | TfTensor[]): () => Promise<Sample> {
  const backend = tf.backend() as unknown as WebGpuBackend;
  return async () => {
    const t0 = performance.now();
    const info = await tf.time(() => tf.tidy(() => void op()));
    if (backend.commandEncoder) backend.submitQueue();
    await backend.queue.onSubmittedWorkDone();
    const wall = performance.now() - t0;
    const k = info.kernelMs;
    return { gpu_ms: backend.supportTimestampQuery && typeof k === 'number' ? k : null, wall_ms: wall };
  };
}

/** Deterministic test values. */
export const tfValues = (n: number, seed: number): Float32Array => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 0.37 + seed) * 0.5);
