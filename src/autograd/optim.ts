// Optimizers with torch.optim semantics (AdamW, SGD with momentum), written with ops so they run on every
// backend. Parameters are updated in place (their storage is overwritten), so models keep their tensors.
// State (step counts, moments) exports to plain arrays for checkpoints.
import { AhamaskError, ShapeError } from '../errors.js';
import { add, affine, axpy, div, mul, scale, sqrt, sub, addScalar } from '../ops/elementwise.js';
import { BYTES_PER_ELEMENT } from '../tensor/dtype.js';
import { Tensor, fromHost, keep, tidy } from '../tensor/tensor.js';
import { targetOf } from './grads/util.js';
import { noGrad } from './tape.js';

/** Overwrites the values of `dst` (contiguous; f32, f16 or i32) with those of `src` (same shape, any layout). */
export function assign(dst: Tensor, src: Tensor): void {
  dst.checkLive();
  src.checkLive();
  if (dst.shape.join() !== src.shape.join()) throw new ShapeError(`assign: [${src.shape}] into [${dst.shape}]`);
  if (!dst.isContiguous) throw new ShapeError('assign: the destination must be contiguous');
  if (dst.backend !== src.backend) throw new AhamaskError('assign: tensors on different backends');
  noGrad(() => {
    let s = src.dtype === dst.dtype ? src : src.cast(dst.dtype);
    if (!s.isContiguous) {
      const c = s.contiguous();
      if (s !== src) s.dispose();
      s = c;
    }
    if (dst.backend === 'cpu') {
      dst.storage.host!.set(s.storage.host!.subarray(s.offset, s.offset + s.size), dst.offset);
    } else {
      const bpe = BYTES_PER_ELEMENT[dst.dtype];
      const so = s.offset * bpe, dO = dst.offset * bpe, bytes = dst.size * bpe;
      if (so % 4 || dO % 4 || bytes % 4) throw new AhamaskError('assign: f16 GPU tensors need an even offset and size');
      if (bytes) dst.device!.copy(s.storage.buffer!, so, dst.storage.buffer!, dO, bytes);
    }
    if (s !== src) s.dispose();
  });
}

export interface ParamGroup<O> {
  params: Tensor[];
  /** Per-group overrides (e.g. weightDecay: 0 for biases and norms). */
  options?: Partial<O>;
}

export interface ParamState {
  step: number;
  /** Named moment tensors (AdamW: expAvg, expAvgSq; SGD: momentumBuffer). */
  buffers: Record<string, Tensor>;
}

/** Plain-data optimizer state (JSON-able). `params` follows the order of the parameters across groups. */
export interface OptimizerStateDict {
  type: string;
  lr: number;
  /** Hyper-parameters of each group (as torch's param_groups). */
  groups?: Record<string, unknown>[];
  params: ({ step: number; shape: number[]; buffers: Record<string, number[]> } | null)[];
}

export abstract class Optimizer<O extends { lr: number }> {
  readonly groups: { params: Tensor[]; options: O }[];
  readonly state = new Map<Tensor, ParamState>();
  protected defaults: O;

  constructor(params: Tensor[] | ParamGroup<O>[], defaults: O) {
    this.defaults = defaults;
    const list = params as (Tensor | ParamGroup<O>)[];
    const groups = list.length && !(list[0] instanceof Tensor) ? (list as ParamGroup<O>[]) : [{ params: list as Tensor[] }];
    this.groups = groups.map((g) => ({ params: g.params, options: { ...defaults, ...g.options } }));
    for (const g of this.groups) for (const p of g.params) {
      if (!p.requiresGrad) throw new AhamaskError('optimizer: every parameter must require grad');
      if (!p.isContiguous) throw new AhamaskError('optimizer: parameters must be contiguous tensors');
    }
  }

  /** The learning rate of every group (what schedulers set). */
  get lr(): number {
    return this.groups[0]?.options.lr ?? this.defaults.lr;
  }
  set lr(v: number) {
    this.defaults.lr = v;
    for (const g of this.groups) g.options.lr = v;
  }

  get params(): Tensor[] {
    return this.groups.flatMap((g) => g.params);
  }

  /** Disposes and clears every parameter's gradient. */
  zeroGrad(): void {
    for (const p of this.params) {
      p.grad?.dispose();
      p.grad = null;
    }
  }

  /** One update of every parameter that has a gradient (parameters without one are skipped, as torch). */
  step(): void {
    noGrad(() => {
      for (const g of this.groups) {
        for (const p of g.params) {
          if (!p.grad || p.grad.isDisposed) continue;
          let st = this.state.get(p);
          if (!st) this.state.set(p, (st = { step: 0, buffers: {} }));
          const s = st;
          const before = { ...s.buffers };
          const next = tidy(() => this.update(p, p.grad!, s, g.options));
          for (const [k, t] of Object.entries(next)) {
            keep(t);
            if (before[k] && before[k] !== t) before[k].dispose();
            s.buffers[k] = t;
          }
        }
      }
    });
  }

  /** Updates `p` in place (assign) and returns the new state buffers. */
  protected abstract update(p: Tensor, grad: Tensor, st: ParamState, o: O): Record<string, Tensor>;

  abstract get type(): string;

  async exportState(): Promise<OptimizerStateDict> {
    const params = [];
    for (const p of this.params) {
      const st = this.state.get(p);
      if (!st) {
        params.push(null);
        continue;
      }
      const buffers: Record<string, number[]> = {};
      for (const [k, t] of Object.entries(st.buffers)) buffers[k] = Array.from(await t.data());
      params.push({ step: st.step, shape: [...p.shape], buffers });
    }
    return { type: this.type, lr: this.lr, groups: this.groups.map((g) => ({ ...g.options })), params };
  }

  importState(sd: OptimizerStateDict): void {
    if (sd.type !== this.type) throw new AhamaskError(`optimizer state is for ${sd.type}, not ${this.type}`);
    const ps = this.params;
    if (sd.params.length !== ps.length) throw new AhamaskError(`optimizer state has ${sd.params.length} parameters, the optimizer ${ps.length}`);
    for (const st of this.state.values()) for (const t of Object.values(st.buffers)) t.dispose();
    this.state.clear();
    ps.forEach((p, i) => {
      const e = sd.params[i];
      if (!e) return;
      if (e.shape.join() !== p.shape.join()) throw new ShapeError(`optimizer state for parameter ${i} has shape [${e.shape}], parameter [${p.shape}]`);
      const buffers: Record<string, Tensor> = {};
      for (const [k, v] of Object.entries(e.buffers)) buffers[k] = keep(fromHost(v, p.shape, 'f32', targetOf(p)));
      this.state.set(p, { step: e.step, buffers });
    });
    if (sd.groups) {
      if (sd.groups.length !== this.groups.length) throw new AhamaskError(`optimizer state has ${sd.groups.length} groups, the optimizer ${this.groups.length}`);
      sd.groups.forEach((o, i) => Object.assign(this.groups[i].options, o));
    }
    this.lr = sd.lr;
  }

  /** Frees the state tensors. */
  dispose(): void {
    for (const st of this.state.values()) for (const t of Object.values(st.buffers)) t.dispose();
    this.state.clear();
  }
}

export interface AdamWOptions {
  lr: number;
  betas: [number, number];
  eps: number;
  weightDecay: number;
}

/**
 * torch.optim.AdamW (amsgrad off, maximize off), same update order:
 *   step += 1; p *= 1 - lr·wd; m = lerp(m, g, 1-β1); v = β2·v + (1-β2)·g²;
 *   denom = sqrt(v) / sqrt(1-β2^step) + eps; p -= lr / (1-β1^step) · m / denom
 * Defaults as torch: lr 1e-3, betas (0.9, 0.999), eps 1e-8, weightDecay 1e-2.
 */
export class AdamW extends Optimizer<AdamWOptions> {
  constructor(params: Tensor[] | ParamGroup<AdamWOptions>[], opts: Partial<AdamWOptions> = {}) {
    super(params, { lr: 1e-3, betas: [0.9, 0.999], eps: 1e-8, weightDecay: 1e-2, ...opts });
  }
  get type(): string {
    return 'AdamW';
  }
  protected update(p: Tensor, g: Tensor, st: ParamState, o: AdamWOptions): Record<string, Tensor> {
    const [b1, b2] = o.betas;
    st.step += 1;
    const t = st.step;
    const m0 = st.buffers.expAvg, v0 = st.buffers.expAvgSq;
    // Zero-initialised moments: the first update needs no zeros tensor.
    let m: Tensor, v: Tensor;
    if (!m0) m = scale(g, 1 - b1);
    else m = axpy(m0, sub(g, m0), 1 - b1); // torch lerp_(g, w) with w < 0.5: m + w·(g - m)
    if (!v0) v = mul(scale(g, 1 - b2), g);
    else v = add(scale(v0, b2), mul(scale(g, 1 - b2), g)); // torch addcmul_: v + ((1-β2)·g)·g
    const bc1 = 1 - b1 ** t, bc2 = 1 - b2 ** t;
    const stepSize = o.lr / bc1;
    const denom = addScalar(scale(sqrt(v), 1 / Math.sqrt(bc2)), o.eps);
    const decayed = o.weightDecay !== 0 ? affine(p, 1 - o.lr * o.weightDecay, 0) : p;
    const next = axpy(decayed, div(m, denom), -stepSize);
    assign(p, next);
    return { expAvg: m, expAvgSq: v };
  }
}

export interface SGDOptions {
  lr: number;
  momentum: number;
  dampening: number;
  weightDecay: number;
  nesterov: boolean;
}

/**
 * torch.optim.SGD: d = g + wd·p; with momentum: buf = d on the first step, then buf = μ·buf + (1-dampening)·d;
 * d = nesterov ? d + μ·buf : buf; p -= lr·d.
 */
export class SGD extends Optimizer<SGDOptions> {
  constructor(params: Tensor[] | ParamGroup<SGDOptions>[], opts: Partial<SGDOptions> & { lr: number }) {
    super(params, { momentum: 0, dampening: 0, weightDecay: 0, nesterov: false, ...opts });
    if (opts.nesterov && (!(opts.momentum ?? 0) || (opts.dampening ?? 0) !== 0)) {
      throw new AhamaskError('SGD: nesterov needs momentum > 0 and zero dampening');
    }
  }
  get type(): string {
    return 'SGD';
  }
  protected update(p: Tensor, g: Tensor, st: ParamState, o: SGDOptions): Record<string, Tensor> {
    st.step += 1;
    let d = o.weightDecay !== 0 ? axpy(g, p, o.weightDecay) : g;
    const out: Record<string, Tensor> = {};
    if (o.momentum !== 0) {
      const b0 = st.buffers.momentumBuffer;
      const buf = b0 ? axpy(scale(b0, o.momentum), d, 1 - o.dampening) : d === g ? affine(g, 1, 0) : d;
      out.momentumBuffer = buf;
      d = o.nesterov ? axpy(d, buf, o.momentum) : buf;
    }
    assign(p, axpy(p, d, -o.lr));
    return out;
  }
}

/** Scales all gradients so their global L2 norm is at most `maxNorm` (torch clip_grad_norm_); returns the norm. */
export async function clipGradNorm(params: Tensor[], maxNorm: number): Promise<number> {
  let total = 0;
  for (const p of params) if (p.grad) for (const x of await p.grad.data()) total += x * x;
  const norm = Math.sqrt(total);
  const coef = maxNorm / (norm + 1e-6);
  if (coef < 1) {
    noGrad(() => {
      for (const p of params) {
        if (!p.grad) continue;
        const s = scale(p.grad, coef);
        p.grad.dispose();
        p.grad = keep(s);
      }
    });
  }
  return norm;
}
