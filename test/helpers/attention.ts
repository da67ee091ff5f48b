// Shared by the attention test files: q/k/v on both backends and a GPU-vs-f64-reference check.
import * as ops from '../../src/ops/index.js';
import { Tensor, fromHost } from '../../src/index.js';
import type { Device } from '../../src/index.js';
import type { DType } from '../../src/index.js';
import { assertTensorsClose, randn } from './gpu.js';

/** q/k/v-like [B, H, T, D] tensors on both backends, optionally as a permuted view of [B, T, H, D]. */
export function qkv(dev: Device, B: number, H: number, T: number, D: number, seed: number, opts: { strided?: boolean; dtype?: DType; scale?: number } = {}): [Tensor, Tensor] {
  const v = randn(B * H * T * D, seed, opts.scale ?? 1);
  const dt = opts.dtype ?? 'f32';
  if (opts.strided) {
    const c = fromHost(v, [B, T, H, D], dt, 'cpu'), g = fromHost(v, [B, T, H, D], dt, dev);
    return [c.permute([0, 2, 1, 3]), g.permute([0, 2, 1, 3])];
  }
  return [fromHost(v, [B, H, T, D], dt, 'cpu'), fromHost(v, [B, H, T, D], dt, dev)];
}

type Opts = Parameters<typeof ops.attention>[3];

export async function check(dev: Device, B: number, H: number, Tq: number, Tk: number, D: number, o: Opts & { strided?: boolean; dtype?: DType } = {}, what = '', seed = 1) {
  const [qc, qg] = qkv(dev, B, H, Tq, D, seed, { strided: o.strided, dtype: o.dtype });
  const [kc, kg] = qkv(dev, B, H, Tk, D, seed + 1, { strided: o.strided, dtype: o.dtype });
  const [vc, vg] = qkv(dev, B, H, Tk, D, seed + 2, { strided: o.strided, dtype: o.dtype });
  const { strided: _s, dtype: _d, ...rest } = o;
  const name = `${what} B${B} H${H} Tq${Tq} Tk${Tk} D${D} ${JSON.stringify({ ...rest, bias: !!o.bias, headMask: !!o.headMask, keyLengths: o.keyLengths ? 'yes' : undefined })}`;
  const gopts = { ...rest }, copts = { ...rest };
  for (const key of ['bias', 'headMask', 'keyLengths'] as const) {
    const t = rest[key];
    if (t instanceof Tensor) {
      (copts as Record<string, unknown>)[key] = t;
      (gopts as Record<string, unknown>)[key] = await t.to(dev);
    }
  }
  const [og, lg] = ops.attentionWithLse(qg, kg, vg, gopts);
  const [oc, lc] = ops.attentionWithLse(qc, kc, vc, copts);
  await assertTensorsClose(og, oc, 1e-4, 1e-4, `${name} out`);
  await assertTensorsClose(lg, lc, 1e-4, 1e-4, `${name} lse`);
  // the inference entry point (may skip zero heads) agrees too
  await assertTensorsClose(ops.attention(qg, kg, vg, gopts), oc, 1e-4, 1e-4, `${name} out (no lse)`);
}

