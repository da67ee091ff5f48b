// Training log records (one JSON object per line in `output_dir/log.jsonl`) and the progress line.

export interface StepRecord {
  type: 'step';
  /** Global step (0-based). */
  step: number;
  epoch: number;
  /** Step within the epoch. */
  iter: number;
  loss: number;
  ce: number;
  /** mean over the batch of the sum of all mask entries (the sparsity term before norm_lambda). */
  normalizer: number;
  lr: number;
  tau: number;
  /** Heads on after the step's update (logit >= 0; FFN slots excluded). */
  heads_on: number;
  heads_total: number;
  /** Seconds the step took. */
  time_s: number;
}

export interface ValidRecord {
  type: 'valid';
  epoch: number;
  step: number;
  loss: number;
  ce: number;
  batches: number;
}

export interface EpochRecord {
  type: 'epoch';
  epoch: number;
  step: number;
  train_loss: number;
  train_ce: number;
  heads_on: number;
  checkpoint: string;
}

export interface SkipRecord {
  type: 'skipped';
  id: string;
  path: string;
  reason: string;
}

export type LogRecord = StepRecord | ValidRecord | EpochRecord | SkipRecord;

/** JSON with non-finite numbers as strings ("NaN", "Infinity"), one line. */
export function jsonLine(r: object): string {
  return JSON.stringify(r, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? String(v) : v)) + '\n';
}

function fmtTime(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '--:--';
  s = Math.round(s);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
  const mm = String(m).padStart(2, '0'), ss = String(sec).padStart(2, '0');
  return h ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export interface ProgressInfo {
  epoch: number;
  maxEpoch: number;
  iter: number;
  itersPerEpoch: number;
  loss: number;
  ce: number;
  lr: number;
  tau: number;
  headsOn: number;
  headsTotal: number;
  /** Steps per second (smoothed). */
  rate: number;
  /** Steps left in the run. */
  stepsLeft: number;
}

/** Epochs are numbered from 0 everywhere (progress, summaries, checkpoint_{epoch}.pth, log.jsonl), as train.py.
 * `epoch 2 of 0-29 [#######.......] 1200/3000 loss 8.6689 ce 8.6674 lr 1.00e-2 tau 3.21 heads 1200/1600 2.10 it/s eta 14:17` */
export function progressLine(p: ProgressInfo, width = 20): string {
  const frac = p.itersPerEpoch > 0 ? Math.min(1, p.iter / p.itersPerEpoch) : 0;
  const fill = Math.round(frac * width);
  const bar = '#'.repeat(fill) + '.'.repeat(width - fill);
  return (
    `epoch ${p.epoch} of 0-${p.maxEpoch - 1} [${bar}] ${p.iter}/${p.itersPerEpoch} ` +
    `loss ${p.loss.toFixed(4)} ce ${p.ce.toFixed(4)} lr ${p.lr.toExponential(2)} tau ${p.tau.toFixed(3)} ` +
    `heads ${p.headsOn}/${p.headsTotal} ${p.rate.toFixed(2)} it/s eta ${fmtTime(p.rate > 0 ? p.stepsLeft / p.rate : NaN)}`
  );
}

/** Exponentially smoothed rate. */
export class RateMeter {
  private rate = 0;
  private n = 0;
  update(seconds: number): number {
    const r = seconds > 0 ? 1 / seconds : 0;
    this.n++;
    this.rate = this.n === 1 ? r : 0.9 * this.rate + 0.1 * r;
    return this.rate;
  }
  get value(): number {
    return this.rate;
  }
}
