// Page side of `node bench web`: our matmul and attention next to @tensorflow/tfjs-backend-webgpu in the same
// Chromium page and on the same adapter (each with its own GPUDevice). Time = wall time of a dispatch flushed by a
// 1-element readback, best of `reps`, the two libraries interleaved round by round (the machine is shared).
// tfjs has no fused attention: its attention is the composed softmax(q kᵀ · scale) v a browser developer writes.
import * as A from '../src/index.js';
import { mulberry32 } from '../src/models/generate.js';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-webgpu';

export interface PageRow {
  op: string;
  shape: string;
  ours_ms: number;
  tfjs_ms: number;
}

function rnd(n: number, seed: number): Float32Array {
  const r = mulberry32(seed);
  return Float32Array.from({ length: n }, () => r() * 2 - 1);
}

async function bestOf(reps: number, fns: Array<() => Promise<void>>): Promise<number[]> {
  const best = fns.map(() => Infinity);
  for (let r = 0; r < reps + 1; r++) {
    for (let i = 0; i < fns.length; i++) {
      const t0 = performance.now();
      await fns[i]();
      const dt = performance.now() - t0;
      if (r > 0) best[i] = Math.min(best[i], dt); // round 0 compiles pipelines
    }
  }
  return best;
}

async function run(opts: { quick: boolean }): Promise<{ adapter: string; rows: PageRow[] }> {
  const dev = await A.Device.create();
  if (!(await tf.setBackend('webgpu'))) throw new Error('tfjs webgpu backend failed to initialise');
  await tf.ready();
  const reps = opts.quick ? 2 : 4;
  const rows: PageRow[] = [];
  const first = async (t: A.Tensor): Promise<void> => {
    const s = t.reshape([-1]).slice(0, 0, 1);
    await s.data();
    s.dispose();
    t.dispose();
  };
  const tfFirst = async (t: tf.Tensor): Promise<void> => {
    const s = tf.slice(t, new Array(t.rank).fill(0), new Array(t.rank).fill(1));
    await s.data();
    s.dispose();
    t.dispose();
  };
  for (const n of opts.quick ? [256, 512] : [256, 512, 1024]) {
    const av = rnd(n * n, 1), bv = rnd(n * n, 2);
    const a = A.fromHost(av, [n, n], 'f32', dev), b = A.fromHost(bv, [n, n], 'f32', dev);
    const ta = tf.tensor2d(av, [n, n]), tb = tf.tensor2d(bv, [n, n]);
    const [ours, theirs] = await bestOf(reps, [() => first(A.matmul(a, b)), () => tfFirst(tf.matMul(ta, tb))]);
    rows.push({ op: 'matmul', shape: `${n}³ f32`, ours_ms: ours, tfjs_ms: theirs });
    a.dispose(); b.dispose(); ta.dispose(); tb.dispose();
  }
  for (const [B, H, T, D] of opts.quick ? [[1, 8, 128, 32]] : [[1, 8, 128, 32], [1, 8, 512, 64]]) {
    const n = B * H * T * D, scale = 1 / Math.sqrt(D);
    const [qv, kv, vv] = [rnd(n, 3), rnd(n, 4), rnd(n, 5)];
    const [q, k, v] = [qv, kv, vv].map((x) => A.fromHost(x, [B, H, T, D], 'f32', dev));
    const [tq, tk, tv] = [qv, kv, vv].map((x) => tf.tensor4d(x, [B, H, T, D]));
    const causalBias = tf.mul(tf.sub(tf.linalg.bandPart(tf.ones([T, T]), -1, 0), 1), 1e9);
    const tfAttn = (causal: boolean): tf.Tensor => tf.tidy(() => {
      let s = tf.mul(tf.matMul(tf.reshape(tq, [B * H, T, D]), tf.reshape(tk, [B * H, T, D]), false, true), scale);
      if (causal) s = tf.add(s, causalBias);
      return tf.reshape(tf.matMul(tf.softmax(s), tf.reshape(tv, [B * H, T, D])), [B, H, T, D]);
    });
    for (const causal of [false, true]) {
      const [ours, theirs] = await bestOf(reps, [() => first(A.attention(q, k, v, { causal, scale })), () => tfFirst(tfAttn(causal))]);
      rows.push({ op: `attention${causal ? ' (causal)' : ''}`, shape: `[${B},${H},${T},${D}] f32`, ours_ms: ours, tfjs_ms: theirs });
    }
    [q, k, v, tq, tk, tv, causalBias].forEach((t) => t.dispose());
  }
  const ai = dev.adapterInfo;
  return { adapter: [ai.vendor, ai.architecture, ai.description].filter(Boolean).join(' '), rows };
}

(globalThis as { __kernels?: unknown }).__kernels = { run };
