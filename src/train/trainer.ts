// AHAMask training loop (spec §5, §6): only the mask logits θ [L*(H+1)] are trained; SALMONN stays frozen and in
// eval mode. Per global step s (epoch e, iteration i):
//   lr = scheduler(e, i) (set BEFORE the forward); τ = tau(s)
//   batch = next(infinite shuffled drop_last loader); prompt = choice(prompt_dict[task]) per item
//   E ~ Exp(1) [B, N] (or replayed / all ones); m = hardGumbelSigmoid(θ, τ, E) (straight-through)
//   loss = CE(target text + </s>) + norm_lambda * mean_b Σ_j m[b, j];  backward to θ only;  AdamW (wd 0)
// Data-parallel workers (one objective per adapter): each takes its slice of the global batch, the host averages
// the K gradients (as DDP), one AdamW update runs on worker 0 and θ is copied to the others.
// Checkpoints each epoch (checkpoint_{e}.pth, atomic, torch.load-able, with everything an exact resume needs).
import { AhamaskError } from '../errors.js';
import type { TrainConfig } from '../io/config.js';
import { encodeNpy, parseNpy } from '../io/npy.js';
import { MemorySource } from '../io/bytes.js';
import { AdamW } from '../autograd/optim.js';
import { Rng } from '../autograd/rng.js';
import { gumbelSigmoid } from '../autograd/gumbel.js';
import { backwardMany, noGrad, requiresGrad } from '../autograd/tape.js';
import { Tensor, dataOf, fromHost, keep } from '../tensor/tensor.js';
import { checkTasks, choosePrompt, InfiniteLoader, parseAnnotations, parsePromptDict, sequentialBatches, type Annotation, type PromptDict } from './data.js';
import { makeSchedule, type TrainSchedule } from './schedule.js';
import { encodeTrainCheckpoint, findLastCheckpoint, readTrainCheckpoint, type AdamHyper, type ResumeState, type TrainCheckpoint } from './checkpoint.js';
import type { TrainFs } from './fs.js';
import type { MaskObjective, PreparedBatch } from './objective.js';
import type { ProbedEntry, SpeechSource } from './speech.js';
import { jsonLine, RateMeter, type EpochRecord, type LogRecord, type ProgressInfo, type SkipRecord, type StepRecord, type ValidRecord } from './log.js';
import { baseName, trainingHeatmapSvg } from './heatmap.js';

/** Where the Gumbel noise comes from. */
export type NoiseMode = { kind: 'sample' } | { kind: 'none' } | { kind: 'replay'; dir: string };

export interface TrainerOptions {
  cfg: TrainConfig;
  fs: TrainFs;
  speech: SpeechSource;
  /** One per data-parallel worker (adapter); all with the same layout. */
  objectives: MaskObjective[];
  /** Initial logits (--init-mask); default N(4, 0.02) from the seed. Ignored when resuming. */
  initLogits?: Float32Array | null;
  /** Resume from this checkpoint (see findResumeCheckpoint). */
  resume?: TrainCheckpoint | null;
  /** Stop after this many global steps in total. */
  maxSteps?: number;
  /** Reference dumps per step (.npy + training.json). */
  dumpDir?: string | null;
  noise?: NoiseMode;
  /** Default cfg.run.output_dir. */
  outputDir?: string;
  /** Validation after each epoch (default true when the validation set is non-empty). */
  validate?: boolean;
  /** Also write checkpoint_latest.pth every N steps (0: only at epoch ends and at a --max-steps stop). */
  saveEverySteps?: number;
  onProgress?(p: ProgressInfo): void;
  onRecord?(r: LogRecord): void;
  warn?(msg: string): void;
  info?(msg: string): void;
}

export interface TrainResult {
  logits: Float32Array;
  globalStep: number;
  epochsDone: number;
  history: StepRecord[];
  valid: ValidRecord[];
  skipped: SkipRecord[];
  checkpoints: string[];
  heatmapPath: string;
}

/** Independent seeds for the RNG streams of a run (loader, prompts, Gumbel noise, init, validation). */
export function streamSeed(seed: number, stream: number): number {
  let x = (Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(stream + 1, 0x85ebca77)) >>> 0;
  x = Math.imul(x ^ (x >>> 15), 0x2c1b3c6d) >>> 0;
  return (x ^ (x >>> 12)) >>> 0;
}
const STREAM = { loader: 1, prompt: 2, gumbel: 3, init: 4, valid: 5 } as const;

/** N(4, 0.02) logits as SimpleTensorModel initialises them (from our generator, not torch's). */
export function initialLogits(n: number, seed: number): Float32Array {
  return new Rng(streamSeed(seed, STREAM.init)).normalArray(n, 4, 0.02);
}

/** Heads on (logit >= 0), FFN slots excluded. */
export function headsOn(logits: ArrayLike<number>, L: number, H: number): number {
  let n = 0;
  for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) if (Math.fround(logits[l * (H + 1) + h]) >= 0) n++;
  return n;
}

/** The checkpoint to resume from in `dir`: the later (by global step) of the last epoch checkpoint and checkpoint_latest.pth. */
export async function findResumeCheckpoint(fs: TrainFs, dir: string): Promise<{ path: string; ckpt: TrainCheckpoint } | null> {
  const cands: string[] = [];
  const last = await findLastCheckpoint(fs, dir);
  if (last) cands.push(last.path);
  const latest = fs.join(dir, 'checkpoint_latest.pth');
  if (await fs.readIfExists(latest)) cands.push(latest);
  let best: { path: string; ckpt: TrainCheckpoint } | null = null;
  for (const p of cands) {
    const ckpt = await readTrainCheckpoint(new MemorySource(await fs.read(p), p));
    if (!ckpt.resume) continue;
    if (!best || ckpt.resume.globalStep > best.ckpt.resume!.globalStep) best = { path: p, ckpt };
  }
  return best;
}

/**
 * Reads the prompt file and the annotation files and checks every task key (cheap; run before loading the
 * model). Throws TrainDataError naming the key, the annotation and the prompt file.
 */
export async function checkTrainData(cfg: TrainConfig, fs: TrainFs, validate = true): Promise<{ prompts: PromptDict; train: Annotation[]; valid: Annotation[] }> {
  const td = new TextDecoder();
  const promptFile = cfg.model.prompt_path;
  if (!promptFile) throw new AhamaskError(`${cfg.file}: model.prompt_path is required for training`);
  const prompts = parsePromptDict(td.decode(await fs.read(promptFile)), promptFile, cfg.model.prompt_template);
  const train = parseAnnotations(td.decode(await fs.read(cfg.datasets.train_ann_path)), cfg.datasets.train_ann_path, cfg.cwd);
  checkTasks(train, prompts, promptFile, cfg.datasets.train_ann_path);
  let valid: Annotation[] = [];
  if (validate && cfg.datasets.valid_ann_path) {
    valid = parseAnnotations(td.decode(await fs.read(cfg.datasets.valid_ann_path)), cfg.datasets.valid_ann_path, cfg.cwd);
    checkTasks(valid, prompts, promptFile, cfg.datasets.valid_ann_path);
  }
  return { prompts, train, valid };
}

interface Worker {
  obj: MaskObjective;
  theta: Tensor;
}

export class Trainer {
  readonly cfg: TrainConfig;
  readonly L: number;
  readonly H: number;
  readonly N: number;
  readonly outDir: string;
  readonly schedule: TrainSchedule;
  private readonly o: TrainerOptions;
  private readonly fs: TrainFs;
  private workers: Worker[] = [];
  private opt!: AdamW;
  private promptDict!: PromptDict;
  private train: ProbedEntry[] = [];
  private valid: ProbedEntry[] = [];
  private loader!: InfiniteLoader;
  private rngPrompt!: Rng;
  private rngGumbel!: Rng;
  private globalStep = 0;
  private epochStats = { loss: 0, ce: 0, n: 0 };
  private readonly history: StepRecord[] = [];
  private readonly validRecords: ValidRecord[] = [];
  private readonly skipped: SkipRecord[] = [];
  private readonly checkpoints: string[] = [];
  private readonly dumpRows: { step: number; lr: number; tau: number; loss: number; ce: number; norm_loss: number; normalizer: number }[] = [];
  private logPath: string;

  constructor(opts: TrainerOptions) {
    this.o = opts;
    this.cfg = opts.cfg;
    this.fs = opts.fs;
    if (!opts.objectives.length) throw new AhamaskError('trainer: no objective (model) given');
    const o0 = opts.objectives[0];
    for (const ob of opts.objectives) {
      if (ob.nLayers !== o0.nLayers || ob.nHeads !== o0.nHeads) throw new AhamaskError('trainer: data-parallel workers have different layouts');
    }
    this.L = o0.nLayers;
    this.H = o0.nHeads;
    this.N = this.L * (this.H + 1);
    this.outDir = opts.outputDir ?? this.cfg.run.output_dir;
    this.schedule = makeSchedule(this.cfg.run);
    this.logPath = this.fs.join(this.outDir, 'log.jsonl');
  }

  private warn(m: string): void {
    this.o.warn?.(m);
  }
  private info(m: string): void {
    this.o.info?.(m);
  }
  private async record(r: LogRecord): Promise<void> {
    this.o.onRecord?.(r);
    await this.fs.append(this.logPath, jsonLine(r));
  }

  get worldSize(): number {
    return this.o.objectives.length;
  }
  get batchPerWorker(): number {
    return this.cfg.run.batch_size_train;
  }

  /** Reads the data, prompts and audio (skipping unreadable entries), sets up θ, AdamW and the RNG streams. */
  async setup(): Promise<void> {
    const { cfg } = this;
    const prevLog = await this.fs.readIfExists(this.logPath);
    if (prevLog && prevLog.length && prevLog[prevLog.length - 1] !== 10) await this.fs.append(this.logPath, '\n'); // a line torn by a crash
    const d = await checkTrainData(cfg, this.fs, this.o.validate ?? true);
    this.promptDict = d.prompts;
    this.train = await this.probeAll(d.train);
    this.valid = await this.probeAll(d.valid);
    const seed = cfg.run.seed;
    const K = this.worldSize;
    this.loader = new InfiniteLoader(this.train.length, K * this.batchPerWorker, new Rng(streamSeed(seed, STREAM.loader)));
    this.rngPrompt = new Rng(streamSeed(seed, STREAM.prompt));
    this.rngGumbel = new Rng(streamSeed(seed, STREAM.gumbel));

    const r = this.o.resume ?? null;
    let theta: Float32Array;
    if (r) {
      theta = r.logits;
      if (!r.resume) throw new AhamaskError('cannot resume: the checkpoint has no training state (a released mask? use --init-mask)');
    } else theta = this.o.initLogits ?? initialLogits(this.N, seed);
    if (theta.length !== this.N) throw new AhamaskError(`the mask has ${theta.length} logits; this model needs ${this.N} = ${this.L} layers x (${this.H} heads + 1)`);
    this.workers = this.o.objectives.map((obj) => ({ obj, theta: keep(requiresGrad(fromHost(theta, [this.N], 'f32', obj.target))) }));
    this.thetaHost = Float32Array.from(theta);
    const oc = cfg.run.optims;
    // LAVIS puts the 1-D mask in the no-weight-decay group: effective weight decay 0.
    this.opt = new AdamW([this.workers[0].theta], { lr: this.schedule.lr(0, 0), betas: [0.9, oc.beta2], eps: 1e-8, weightDecay: 0 });
    if (r?.resume) {
      const rs = r.resume;
      if (r.adam) {
        this.opt.importState({
          type: 'AdamW',
          lr: r.hyper.lr ?? this.opt.lr,
          params: [{ step: r.adam.step, shape: [this.N], buffers: { expAvg: Array.from(r.adam.expAvg), expAvgSq: Array.from(r.adam.expAvgSq) } }],
        });
      }
      if (rs.worldSize !== K) this.warn(`resuming a run of ${rs.worldSize} worker(s) with ${K}: batches and noise will differ from an uninterrupted run`);
      this.loader.setState(rs.loader);
      if (rs.rng.prompt) this.rngPrompt.setState(rs.rng.prompt);
      if (rs.rng.gumbel) this.rngGumbel.setState(rs.rng.gumbel);
      this.globalStep = rs.globalStep;
      if (rs.epochStats) this.epochStats = { ...rs.epochStats };
      this.info(`resumed at global step ${rs.globalStep} (epoch ${Math.floor(rs.globalStep / this.schedule.itersPerEpoch)})`);
    }
  }

  /** Reads and hashes every entry's audio (8 at a time, order kept); unreadable ones are reported and skipped. */
  private async probeAll(entries: Annotation[]): Promise<ProbedEntry[]> {
    const res: (ProbedEntry | Error)[] = new Array(entries.length);
    let next = 0;
    const worker = async (): Promise<void> => {
      while (next < entries.length) {
        const k = next++;
        try {
          res[k] = await this.o.speech.probe(entries[k]);
        } catch (err) {
          res[k] = err as Error;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(8, entries.length) }, worker));
    const out: ProbedEntry[] = [];
    for (let k = 0; k < entries.length; k++) {
      const r = res[k];
      if (!(r instanceof Error)) {
        out.push(r);
        continue;
      }
      const e = entries[k];
      const rec: SkipRecord = { type: 'skipped', id: e.id, path: e.path, reason: r.message };
      this.skipped.push(rec);
      this.warn(`skipping ${e.id}: ${rec.reason}`);
      await this.record(rec);
    }
    return out;
  }

  private async noiseFor(step: number, rows: number): Promise<Float32Array> {
    const mode = this.o.noise ?? { kind: 'sample' };
    const n = rows * this.N;
    if (mode.kind === 'none') return new Float32Array(n).fill(1);
    if (mode.kind === 'sample') return this.rngGumbel.exponentialArray(n);
    const p = this.fs.join(mode.dir, `exp_noise_step${step}.npy`);
    const a = parseNpy(await this.fs.read(p), p);
    if (a.dtype !== 'f4' || a.data.length !== n) throw new AhamaskError(`${p}: expected float32 [${rows}, ${this.N}], got ${a.dtype} [${a.shape}]`);
    return a.data as Float32Array;
  }

  /**
   * Loss and gradient of one worker's batch (no update). Gradient scaled by `gradScale` (1/K for DP averaging,
   * 1/accum for accumulation). Returns host values.
   */
  private async lossAndGrad(w: Worker, items: ProbedEntry[], prompts: string[], tau: number, noise: Float32Array, gradScale: number, wantGrad: boolean): Promise<{ ce: number; normalizer: number; hard: Float32Array; grad: Float32Array | null; tokens: number }> {
    const B = items.length;
    const speech = await this.o.speech.embeds(items);
    // Every upload before the first dispatch (an upload after recorded work ends the command buffer): the
    // backward seeds (cached), the noise, then the batch; the step is then recorded into one command buffer.
    const seeds = wantGrad ? this.seeds(w, B, gradScale) : null;
    const noiseT = fromHost(noise, [B, this.N], 'f32', w.obj.target);
    const tauT = fromHost([tau], [], 'f32', w.obj.target);
    let batch: PreparedBatch;
    try {
      if (!(tau > 0)) throw new AhamaskError(`gumbelSigmoid: tau must be > 0, got ${tau}`);
      batch = w.obj.prepare(items.map((p, b) => ({ prompt: prompts[b], text: p.entry.text, speech: speech[b] })));
    } catch (e) {
      noiseT.dispose();
      tauT.dispose();
      throw e;
    }
    try {
      if (!seeds) {
        const { ce, m } = noGrad(() => {
          const m = gumbelSigmoid(w.theta, { tau: tauT, batch: B, noise: noiseT });
          return { m, ce: w.obj.ce(batch, m) };
        });
        const [c, hard] = await dataOf([ce, m]); // one readback
        ce.dispose();
        m.dispose();
        return { ce: c[0], normalizer: sumRows(hard as Float32Array, B), hard: hard as Float32Array, grad: null, tokens: batch.nTargets };
      }
      const m = gumbelSigmoid(w.theta, { tau: tauT, batch: B, noise: noiseT });
      const ce = w.obj.ce(batch, m);
      backwardMany([ce, m], [seeds.ce, seeds.m]);
      const g = w.theta.grad;
      if (!g) throw new AhamaskError('no gradient reached the mask logits');
      const [c, hard, grad] = await dataOf([ce, m, g]); // loss, mask and gradient in one readback
      ce.dispose();
      m.dispose();
      g.dispose();
      w.theta.grad = null;
      return { ce: c[0], normalizer: sumRows(hard as Float32Array, B), hard: hard as Float32Array, grad: grad as Float32Array, tokens: batch.nTargets };
    } finally {
      noiseT.dispose();
      tauT.dispose();
      w.obj.release(batch);
    }
  }

  /** Backward seeds d(loss)/d(ce) = gradScale and d(loss)/d(m) = λ/B·gradScale, constant per worker and batch size. */
  private seedCache = new Map<Worker, { key: string; ce: Tensor; m: Tensor }>();
  private seeds(w: Worker, B: number, gradScale: number): { ce: Tensor; m: Tensor } {
    const lambda = this.cfg.run.norm_lambda;
    const key = `${B}:${gradScale}:${lambda}`;
    const c = this.seedCache.get(w);
    if (c?.key === key) return c;
    if (c) c.ce.dispose(), c.m.dispose();
    const s = {
      key,
      ce: keep(fromHost([gradScale], [], 'f32', w.obj.target)),
      m: keep(fromHost(new Float32Array(B * this.N).fill((lambda / B) * gradScale), [B, this.N], 'f32', w.obj.target)),
    };
    this.seedCache.set(w, s);
    return s;
  }

  /** Host copy of θ while it matches the device (set at setup and at each read; cleared by an update). */
  private thetaHost: Float32Array | null = null;
  private async readTheta(): Promise<Float32Array> {
    if (!this.thetaHost) this.thetaHost = Float32Array.from(await this.workers[0].theta.data());
    return Float32Array.from(this.thetaHost);
  }

  /** The current mask logits θ (a host copy; callers may keep it). */
  async logits(): Promise<Float32Array> {
    return this.readTheta();
  }

  private async setTheta(values: Float32Array, from = 1): Promise<void> {
    for (let r = from; r < this.workers.length; r++) {
      const w = this.workers[r];
      const t = keep(requiresGrad(fromHost(values, [this.N], 'f32', w.obj.target)));
      w.theta.dispose();
      w.theta = t;
    }
  }

  private async dumpNpy(name: string, data: Float32Array, shape: number[]): Promise<void> {
    if (!this.o.dumpDir) return;
    await this.fs.writeAtomic(this.fs.join(this.o.dumpDir, name), encodeNpy(data, shape));
  }

  /** One global step; returns its log record. */
  async step(): Promise<StepRecord> {
    const t0 = performance.now();
    const s = this.globalStep;
    const it = this.schedule.itersPerEpoch;
    const epoch = Math.floor(s / it), i = s % it;
    const lr = this.schedule.lr(epoch, i);
    this.opt.lr = lr; // scheduler.step(epoch, i) before the forward
    const tau = this.schedule.tau(s);
    const K = this.worldSize, Bw = this.batchPerWorker, N = this.N;
    const idx = this.loader.next();
    const items = idx.map((j) => this.train[j]);
    const prompts = items.map((p) => choosePrompt(p.entry, this.promptDict, this.rngPrompt));
    const noise = await this.noiseFor(s, K * Bw);
    // LAVIS/SALMONN runners sum the gradients of accum_grad_iters iterations (no 1/accum) and step on (i+1) % accum == 0
    const accum = Math.max(1, this.cfg.run.accum_grad_iters);
    const scale = 1 / K;
    // Workers run concurrently: each records its forward/backward synchronously (the tape never interleaves) and
    // submits before any readback is awaited.
    const results = await Promise.all(this.workers.map((w, r) => {
      const a = r * Bw, b = (r + 1) * Bw;
      return this.lossAndGrad(w, items.slice(a, b), prompts.slice(a, b), tau, noise.subarray(a * N, b * N), scale, true);
    }));
    const lambda = this.cfg.run.norm_lambda;
    const ce = mean(results.map((x) => x.ce));
    const normalizer = mean(results.map((x) => x.normalizer));
    const loss = mean(results.map((x) => x.ce + lambda * x.normalizer));
    const grad = new Float32Array(N);
    for (const x of results) for (let j = 0; j < N; j++) grad[j] += x.grad![j];
    this.accumulate(grad);
    const hard = new Float32Array(K * Bw * N);
    results.forEach((x, r) => hard.set(x.hard, r * Bw * N));
    await this.dumpNpy(`weights_tensor_step${s}.npy`, hard, [K * Bw, N]);
    await this.dumpNpy(`grad_step${s}.npy`, grad, [N]);
    if ((i + 1) % accum === 0) await this.applyUpdate();
    const theta = await this.readTheta();
    await this.dumpNpy(`mask_after_step${s + 1}.npy`, theta, [N]);
    if (this.o.dumpDir) {
      this.dumpRows.push({ step: s, lr, tau, loss, ce, norm_loss: lambda * normalizer, normalizer });
      await this.fs.writeAtomic(this.fs.join(this.o.dumpDir, 'training.json'), JSON.stringify({ steps: this.dumpRows }, null, 2) + '\n');
    }
    this.globalStep = s + 1;
    this.epochStats.loss += loss;
    this.epochStats.ce += ce;
    this.epochStats.n++;
    const rec: StepRecord = {
      type: 'step', step: s, epoch, iter: i, loss, ce, normalizer, lr, tau,
      heads_on: headsOn(theta, this.L, this.H), heads_total: this.L * this.H, time_s: (performance.now() - t0) / 1000,
    };
    this.history.push(rec);
    await this.record(rec);
    return rec;
  }

  private gradAcc: Float32Array | null = null;
  private accumulate(g: Float32Array): void {
    if (!this.gradAcc) this.gradAcc = Float32Array.from(g);
    else for (let j = 0; j < g.length; j++) this.gradAcc[j] += g[j];
  }

  private async applyUpdate(): Promise<void> {
    const g = this.gradAcc;
    this.gradAcc = null;
    if (!g) return;
    const w0 = this.workers[0];
    w0.theta.grad?.dispose();
    w0.theta.grad = keep(fromHost(g, [this.N], 'f32', w0.obj.target));
    this.thetaHost = null;
    this.opt.step();
    this.opt.zeroGrad();
    if (this.workers.length > 1) await this.setTheta(await this.readTheta());
  }

  /**
   * Validation loss (τ = 1, noise from a per-epoch stream, no gradient), averaged over batches weighted by their
   * target-token counts as the SALMONN runner's valid_epoch aggregates it.
   */
  async validate(epoch: number): Promise<ValidRecord | null> {
    if (!this.valid.length) return null;
    const rng = new Rng(streamSeed(this.cfg.run.seed, STREAM.valid) ^ epoch);
    const lambda = this.cfg.run.norm_lambda;
    const bs = this.cfg.run.batch_size_eval;
    let loss = 0, ce = 0, n = 0, tokens = 0;
    const batches = sequentialBatches(this.valid.length, bs);
    for (let k = 0; k < batches.length; k++) {
      const items = batches[k].map((j) => this.valid[j]);
      const prompts = items.map((p) => choosePrompt(p.entry, this.promptDict, rng));
      const mode = this.o.noise ?? { kind: 'sample' };
      const noise = mode.kind === 'none' ? new Float32Array(items.length * this.N).fill(1) : rng.exponentialArray(items.length * this.N);
      const w = this.workers[k % this.workers.length];
      const r = await this.lossAndGrad(w, items, prompts, 1, noise, 1, false);
      ce += r.ce * r.tokens;
      loss += (r.ce + lambda * r.normalizer) * r.tokens;
      tokens += r.tokens;
      n++;
    }
    const rec: ValidRecord = { type: 'valid', epoch, step: this.globalStep, loss: loss / tokens, ce: ce / tokens, batches: n };
    this.validRecords.push(rec);
    await this.record(rec);
    return rec;
  }

  private hyper(): AdamHyper {
    return { lr: this.opt.lr, beta1: 0.9, beta2: this.cfg.run.optims.beta2, eps: 1e-8, weightDecay: 0, configWeightDecay: this.cfg.run.optims.weight_decay };
  }

  /** Writes a checkpoint (atomic). `epoch`: the epoch it belongs to (finished, or in progress for 'latest'). */
  async saveCheckpoint(name: string, epoch: number): Promise<string> {
    const sd = await this.opt.exportState();
    const p0 = sd.params[0];
    const adam = p0 ? { step: p0.step, expAvg: Float32Array.from(p0.buffers.expAvg), expAvgSq: Float32Array.from(p0.buffers.expAvgSq) } : null;
    const resume: ResumeState = {
      version: 1,
      globalStep: this.globalStep,
      epochsDone: Math.floor(this.globalStep / this.schedule.itersPerEpoch),
      worldSize: this.worldSize,
      rng: { prompt: this.rngPrompt.getState(), gumbel: this.rngGumbel.getState() },
      loader: this.loader.getState(),
      epochStats: { ...this.epochStats },
    };
    const path = this.fs.join(this.outDir, name);
    const bytes = encodeTrainCheckpoint({
      logits: await this.readTheta(), adam, hyper: this.hyper(), config: this.cfg.raw, epoch, resume, archiveName: name.replace(/\.[^.]*$/, ''),
    });
    await this.fs.writeAtomic(path, bytes);
    this.checkpoints.push(path);
    return path;
  }

  /** The whole run: setup, steps until max_epoch x iters_per_epoch (or maxSteps), epoch ends, final figure. */
  async run(): Promise<TrainResult> {
    await this.setup();
    const sch = this.schedule;
    const total = Math.min(sch.totalSteps, this.o.maxSteps ?? Infinity);
    const rate = new RateMeter();
    this.info(`training ${this.N} mask logits (${this.L} layers x ${this.H} heads + FFN slot) on ${this.train.length} utterance(s), ` +
      `batch ${this.batchPerWorker} x ${this.worldSize} worker(s), ${sch.totalSteps} steps (epochs 0-${sch.maxEpoch - 1} x ${sch.itersPerEpoch})` +
      (this.skipped.length ? `; ${this.skipped.length} skipped` : ''));
    if (this.cfg.run.evaluate) {
      await this.validate(Math.floor(this.globalStep / sch.itersPerEpoch));
      return this.finish();
    }
    const every = this.o.saveEverySteps ?? 0;
    if (this.cfg.run.accum_grad_iters > 1 && sch.itersPerEpoch % this.cfg.run.accum_grad_iters !== 0) {
      this.warn(`accum_grad_iters ${this.cfg.run.accum_grad_iters} does not divide iters_per_epoch: gradients pending at an epoch end carry over (as the reference) but are not saved in checkpoints`);
    }
    while (this.globalStep < total) {
      const rec = await this.step();
      this.o.onProgress?.({
        epoch: rec.epoch, maxEpoch: sch.maxEpoch, iter: rec.iter + 1, itersPerEpoch: sch.itersPerEpoch, loss: rec.loss, ce: rec.ce, lr: rec.lr, tau: rec.tau,
        headsOn: rec.heads_on, headsTotal: rec.heads_total, rate: rate.update(rec.time_s), stepsLeft: total - this.globalStep,
      });
      if (rec.iter === sch.itersPerEpoch - 1) await this.endEpoch(rec.epoch);
      else if (every > 0 && this.globalStep % every === 0) await this.saveCheckpoint('checkpoint_latest.pth', rec.epoch);
    }
    if (this.globalStep % sch.itersPerEpoch !== 0) await this.saveCheckpoint('checkpoint_latest.pth', Math.floor(this.globalStep / sch.itersPerEpoch));
    return this.finish();
  }

  private async endEpoch(epoch: number): Promise<void> {
    const v = await this.validate(epoch);
    const path = await this.saveCheckpoint(`checkpoint_${epoch}.pth`, epoch);
    const st = this.epochStats;
    const theta = await this.readTheta();
    const rec: EpochRecord = {
      type: 'epoch', epoch, step: this.globalStep, train_loss: st.n ? st.loss / st.n : NaN, train_ce: st.n ? st.ce / st.n : NaN,
      heads_on: headsOn(theta, this.L, this.H), checkpoint: path,
    };
    this.epochStats = { loss: 0, ce: 0, n: 0 };
    await this.record(rec);
    this.info(`epoch ${epoch} of 0-${this.schedule.maxEpoch - 1}: train loss ${rec.train_loss.toFixed(5)}` + (v ? `, valid loss ${v.loss.toFixed(5)}` : '') + `, ${rec.heads_on}/${this.L * this.H} heads on -> ${path}`);
  }

  /** Step records of the whole run: log.jsonl (earlier sessions of a resumed run; the last record of a step wins) and this session. */
  private async fullHistory(): Promise<StepRecord[]> {
    const bySteps = new Map<number, StepRecord>();
    const bytes = await this.fs.readIfExists(this.logPath);
    if (bytes) {
      for (const line of new TextDecoder().decode(bytes).split('\n')) {
        if (!line.trim()) continue;
        try {
          const r = JSON.parse(line) as StepRecord;
          if (r.type === 'step' && typeof r.step === 'number') bySteps.set(r.step, r);
        } catch {
          // a torn last line after a crash
        }
      }
    }
    for (const r of this.history) bySteps.set(r.step, r);
    return [...bySteps.values()].filter((r) => r.step < this.globalStep).sort((a, b) => a.step - b.step);
  }

  private async finish(): Promise<TrainResult> {
    const theta = await this.readTheta();
    const heatmapPath = this.fs.join(this.outDir, 'mask_heatmap.svg');
    const h = await this.fullHistory();
    await this.fs.writeAtomic(heatmapPath, trainingHeatmapSvg(theta, this.L, this.H, {
      title: `${baseName(this.outDir)}: mask after step ${this.globalStep}`,
      history: { step: h.map((r) => r.step), loss: h.map((r) => r.loss), headsOn: h.map((r) => r.heads_on) },
    }));
    return {
      logits: theta, globalStep: this.globalStep, epochsDone: Math.floor(this.globalStep / this.schedule.itersPerEpoch), history: this.history,
      valid: this.validRecords, skipped: this.skipped, checkpoints: this.checkpoints, heatmapPath,
    };
  }

  dispose(): void {
    this.opt?.dispose();
    for (const s of this.seedCache.values()) s.ce.dispose(), s.m.dispose();
    this.seedCache.clear();
    for (const w of this.workers) {
      w.theta.grad?.dispose();
      w.theta.dispose();
    }
    this.workers = [];
  }
}

function mean(a: number[]): number {
  return a.reduce((x, y) => x + y, 0) / a.length;
}

/** mean over rows of the row sums of a [B, N] array (the normalizer). */
function sumRows(a: Float32Array, B: number): number {
  let s = 0;
  for (let j = 0; j < a.length; j++) s += a[j];
  return s / B;
}
