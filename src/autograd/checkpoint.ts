// Activation checkpointing (recomputation) per block, as torch.utils.checkpoint: the forward runs the block
// without recording (only its inputs are kept); backward re-runs it with recording on and backpropagates
// through the recomputed graph. Parameters the block reads (trainable leaves in its closure) receive their
// gradients during that inner backward. The block must be deterministic (draw random noise outside it).
import { registerGrad, backwardMany, detach, enableGrad, freeGraph, isGradEnabled, isTracked, probeTracked, recordOp } from './tape.js';
import type { Tensor } from '../tensor/tensor.js';

type Block = (...xs: Tensor[]) => Tensor | Tensor[];

interface CheckpointAttrs {
  fn: Block;
  many: boolean;
}

registerGrad<CheckpointAttrs>('checkpoint', {
  // Every input is needed to recompute, tracked or not.
  save: ({ inputs }) => inputs,
  backward(c, grads) {
    const xs = c.saved.map((s, i) => {
      const x = detach(s!);
      x.requiresGrad = c.needs[i] && x.dtype !== 'i32';
      return x;
    });
    const r = enableGrad(() => c.attrs.fn(...xs));
    const outs = Array.isArray(r) ? r : [r];
    const roots: Tensor[] = [], seeds: Tensor[] = [];
    outs.forEach((o, i) => {
      if (grads[i] && isTracked(o)) {
        roots.push(o);
        seeds.push(grads[i]!);
      }
    });
    if (roots.length) backwardMany(roots, seeds);
    for (const o of outs) freeGraph(o);
    const result = xs.map((x, i) => (c.needs[i] ? x.grad : null));
    for (const x of xs) {
      x.grad = null;
      x.requiresGrad = false;
      x.dispose();
    }
    for (const o of outs) o.dispose();
    return result;
  },
});

/**
 * Runs `fn(...inputs)` keeping only `inputs` for backward; the block's activations are recomputed during
 * backward. Returns what `fn` returns.
 */
export function checkpoint<R extends Tensor | Tensor[]>(fn: (...xs: Tensor[]) => R, inputs: Tensor[]): R {
  if (!isGradEnabled()) return fn(...inputs);
  const { result, touched } = probeTracked(() => fn(...inputs));
  if (!touched && !inputs.some(isTracked)) return result;
  const outs: Tensor[] = Array.isArray(result) ? (result as Tensor[]) : [result as Tensor];
  recordOp('checkpoint', inputs, { fn, many: Array.isArray(result) } satisfies CheckpointAttrs, outs, { force: true });
  return result;
}
