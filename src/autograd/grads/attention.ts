// Gradient of fused attention (inputs [q, k, v, bias?, headMask?, keyLengths?]; outputs [o] or [o, lse]) via
// the 'attentionBackward' kernel: dq, dk, dv and dHeadMask (AHAMask's per-head multiplier). When the forward
// did not return lse (plain attention()), o and lse are recomputed in backward from the saved q, k, v
// (FlashAttention-style: no Tq×Tk storage, no activation kept beyond the inputs). The additive bias and the
// key lengths are constants: a bias that requires grad is an error.
import { runKernel } from '../../kernels/registry.js';
import type { AttentionAttrs } from '../../ops/attention.js';
import type { Tensor } from '../../tensor/tensor.js';
import { AutogradError, registerGrad } from '../tape.js';

function layout(a: AttentionAttrs): { ib: number; im: number; il: number } {
  let i = 3;
  const ib = a.hasBias ? i++ : -1;
  const im = a.hasMask ? i++ : -1;
  const il = a.hasLensTensor ? i++ : -1;
  return { ib, im, il };
}

registerGrad<AttentionAttrs>('attention', {
  save({ inputs, outputs, attrs, needs }) {
    const { ib } = layout(attrs);
    if (ib >= 0 && needs[ib]) throw new AutogradError('attention: the additive bias has no gradient (it must not require grad)');
    return [...inputs, ...(attrs.returnLse ? outputs : [])];
  },
  backward(c, grads) {
    const [dO, dLse] = grads;
    if (dLse) throw new AutogradError("attention: a gradient through the returned logsumexp is not supported");
    if (!dO) return c.inputs.map(() => null);
    const a = c.attrs;
    const n = c.inputs.length;
    const ins = c.saved.slice(0, n) as Tensor[];
    const [q, k, v] = ins;
    const extras = ins.slice(3);
    let o: Tensor, lse: Tensor;
    if (a.returnLse) {
      o = c.saved[n]!;
      lse = c.saved[n + 1]!;
    } else {
      [o, lse] = runKernel('attention', ins, { ...a, returnLse: true });
    }
    const outs = runKernel('attentionBackward', [q, k, v, o, dO, lse, ...extras], { ...a, returnLse: false });
    const { im } = layout(a);
    const res: (Tensor | null)[] = c.inputs.map(() => null);
    res[0] = c.needs[0] ? outs[0] : null;
    res[1] = c.needs[1] ? outs[1] : null;
    res[2] = c.needs[2] ? outs[2] : null;
    if (im >= 0 && c.needs[im]) res[im] = outs[3];
    return res;
  },
});
