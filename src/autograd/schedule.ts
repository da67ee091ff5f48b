// Learning-rate schedules. LinearWarmupCosineLRScheduler is AHAMask's (LAVIS/SALMONN optims.py), spec §6.3:
//   total = epoch·itersPerEpoch + i
//   total < warmupSteps: lr = min(initLr, warmupStartLr + (initLr - warmupStartLr)·i / max(warmupSteps, 1))
//                        (i = the step within the epoch, as the reference does)
//   otherwise:           lr = (initLr - minLr)·0.5·(1 + cos(π·total / (maxEpoch·itersPerEpoch))) + minLr

/** LAVIS warmup_lr_schedule. */
export function warmupLr(step: number, maxStep: number, initLr: number, maxLr: number): number {
  return Math.min(maxLr, initLr + ((maxLr - initLr) * step) / Math.max(maxStep, 1));
}

/** LAVIS cosine_lr_schedule. */
export function cosineLr(epoch: number, maxEpoch: number, initLr: number, minLr: number): number {
  return (initLr - minLr) * 0.5 * (1.0 + Math.cos((Math.PI * epoch) / maxEpoch)) + minLr;
}

export interface LinearWarmupCosineOptions {
  maxEpoch: number;
  itersPerEpoch: number;
  minLr: number;
  /** Peak learning rate. */
  initLr: number;
  warmupSteps?: number;
  /** Negative (default): start the warmup at initLr. */
  warmupStartLr?: number;
}

export class LinearWarmupCosineLRScheduler {
  readonly maxEpoch: number;
  readonly itersPerEpoch: number;
  readonly minLr: number;
  readonly initLr: number;
  readonly warmupSteps: number;
  readonly warmupStartLr: number;
  /** The learning rate the last step() set. */
  lr: number;

  /** `optimizer` (anything with a settable `lr`) receives the rate on each step(). */
  constructor(readonly optimizer: { lr: number } | null, o: LinearWarmupCosineOptions) {
    this.maxEpoch = o.maxEpoch;
    this.itersPerEpoch = o.itersPerEpoch;
    this.minLr = o.minLr;
    this.initLr = o.initLr;
    this.warmupSteps = o.warmupSteps ?? 0;
    const ws = o.warmupStartLr ?? -1;
    this.warmupStartLr = ws >= 0 ? ws : o.initLr;
    this.lr = this.initLr;
  }

  /** The rate at (epoch, step within the epoch), without side effects. */
  lrAt(curEpoch: number, curStep: number): number {
    const total = curEpoch * this.itersPerEpoch + curStep;
    if (total < this.warmupSteps) return warmupLr(curStep, this.warmupSteps, this.warmupStartLr, this.initLr);
    return cosineLr(total, this.maxEpoch * this.itersPerEpoch, this.initLr, this.minLr);
  }

  /** Sets the optimizer's rate for (epoch, step within the epoch), called before each forward; returns it. */
  step(curEpoch: number, curStep: number): number {
    this.lr = this.lrAt(curEpoch, curStep);
    if (this.optimizer) this.optimizer.lr = this.lr;
    return this.lr;
  }
}

/** AHAMask's released run config: peak 1e-2, warmup from 1e-6 over 3000 steps, cosine to 1e-4 over 30 × 3000. */
export function ahamaskScheduler(optimizer: { lr: number } | null, o: Partial<LinearWarmupCosineOptions> = {}): LinearWarmupCosineLRScheduler {
  return new LinearWarmupCosineLRScheduler(optimizer, {
    maxEpoch: 30,
    itersPerEpoch: 3000,
    minLr: 1e-4,
    initLr: 1e-2,
    warmupSteps: 3000,
    warmupStartLr: 1e-6,
    ...o,
  });
}
