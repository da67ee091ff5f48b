// What the page's worker does, as plain browser-clean code (no DOM, no worker API, no node:): open a SALMONN folder
// through a Directory, describe it (examples, masks, tasks, prompts), run a clip with an instruction or a mask with
// streamed tokens and cancellation, and train a mask with the library's Trainer. Node can import it too (the
// page's bench compares the same calls in Node and in Chromium).
import '../src/index.js';
import '../src/autograd/index.js';
import { AhamaskError } from '../src/errors.js';
import { readAll, readText, type Directory } from '../src/io/bytes.js';
import { decodeAudio, prepareWaveform, type DecodedAudio } from '../src/io/audio.js';
import { parseDecodeConfig, type DecodeConfig, type TrainConfig } from '../src/io/config.js';
import { encodeMaskCheckpoint, readMaskCheckpoint } from '../src/io/mask.js';
import { MemorySource } from '../src/io/bytes.js';
import { Salmonn, checkMaskLength, type SalmonnLoadOptions } from '../src/models/salmonn.js';
import { generate as runGenerate, generateOptionsFromConfig, GENERATE_DEFAULTS, type GenerateOptions, type StepModel } from '../src/models/generate.js';
import type { Device } from '../src/tensor/device.js';
import { SpeechCache } from '../src/train/cache.js';
import { MemoryFs, type TrainFs } from '../src/train/fs.js';
import { SalmonnSpeechEncoder, salmonnObjective } from '../src/train/salmonn.js';
import { SpeechSource } from '../src/train/speech.js';
import { Trainer, headsOn } from '../src/train/trainer.js';
import type { StepRecord } from '../src/train/log.js';

export type Target = 'cpu' | Device;

export interface ExampleClip {
  path: string;
  label: string;
}
export interface ModelMask {
  name: string;
  path: string;
}
export interface ModelInfo {
  name: string;
  config: string;
  layers: number;
  heads: number;
  /** Whisper d_model, LLM hidden size and vocabulary (shown in the header). */
  summary: string;
  examples: ExampleClip[];
  masks: ModelMask[];
  /** The decode config's weight_mask_path (a `masks` entry) or null. */
  defaultMask: string | null;
  /** The decode config's instruction. */
  prompt: string;
  /** Instructions known to the model's prompt files (the <Speech> prefix removed). */
  prompts: string[];
  /** The test instruction of each task (test_prompt_path), for one-click choice. */
  taskPrompts: { task: string; prompt: string }[];
  /** Tasks the page can train a mask for (annotations with a mask/train prompt). */
  tasks: string[];
  generate: { numBeams: number; maxNewTokens: number };
}

export type AudioInput =
  | { kind: 'path'; path: string }
  | { kind: 'bytes'; name: string; bytes: Uint8Array }
  | { kind: 'pcm'; samples: Float32Array; sampleRate: number };

export interface RunOptions {
  audio: AudioInput;
  prompt: string;
  /** Mask logits L x (H + 1) (null: no mask). */
  mask: Float32Array | null;
  numBeams: number;
  maxNewTokens: number;
}
export interface RunResult {
  text: string;
  tokens: number;
  ms: number;
  stopReason: string;
  cancelled: boolean;
}

export interface TrainOptions {
  task: string;
  steps: number;
  lr: number;
  /** Starting logits (default: N(4, 0.02) from the seed, as AHAMask). */
  init?: Float32Array | null;
  seed?: number;
  batchSize?: number;
}
export interface TrainStep {
  step: number;
  loss: number;
  ce: number;
  lr: number;
  tau: number;
  headsOn: number;
  headsTotal: number;
  logits: Float32Array;
}

/** Thrown inside generation/training when the user pressed Cancel. */
export class Cancelled extends AhamaskError {
  constructor() {
    super('cancelled');
  }
}

const SPEECH_PREFIX = /^\s*<Speech><SpeechHere><\/Speech>\s*/;
const td = new TextDecoder();

async function readJsonIf(dir: Directory, path: string): Promise<unknown | null> {
  if (!path || !(await dir.exists(path))) return null;
  const text = await readText(await dir.open(path));
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AhamaskError(`${path}: invalid JSON: ${(e as Error).message}`);
  }
}

/** Yields to the event loop (lets a Cancel message in, even on the CPU backend). */
const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 0));

/** A TrainFs that reads the model folder and keeps everything it writes in memory. */
class OverlayTrainFs extends MemoryFs implements TrainFs {
  constructor(readonly dir: Directory) {
    super();
  }
  override async read(path: string): Promise<Uint8Array> {
    const own = await super.readIfExists(path);
    if (own) return own;
    return (await readAll(await this.dir.open(path))).slice();
  }
  override async readIfExists(path: string): Promise<Uint8Array | null> {
    const own = await super.readIfExists(path);
    if (own) return own;
    return (await this.dir.exists(path)) ? this.read(path) : null;
  }
}

export class Engine {
  private speechCache: SpeechCache | null = null;
  private trainData: { annPath: string; promptPath: string } | null = null;

  private constructor(readonly model: Salmonn, readonly cfg: DecodeConfig, readonly dir: Directory, readonly configPath: string, readonly info: ModelInfo) {}

  /** Reads the decode config and loads SALMONN (no mask: the page passes one per run). */
  static async open(dir: Directory, configPath: string, target: Target, onProgress?: SalmonnLoadOptions['onProgress']): Promise<Engine> {
    const text = await readText(await dir.open(configPath));
    const warnings: string[] = [];
    const cfg = parseDecodeConfig(text, { file: configPath, cwd: '', warn: (m) => warnings.push(m) });
    const model = await Salmonn.load({ model: cfg.model, fs: dir, target, mask: null, probThreshold: cfg.prob_threshold, cwd: '', onProgress, warn: (m) => warnings.push(m) });
    const e = new Engine(model, cfg, dir, configPath, null as unknown as ModelInfo);
    (e as { info: ModelInfo }).info = await e.describe();
    return e;
  }

  get layers(): number {
    return this.model.configs.llama.num_hidden_layers;
  }
  get heads(): number {
    return this.model.configs.llama.num_attention_heads;
  }

  private async describe(): Promise<ModelInfo> {
    const { dir, cfg } = this;
    const c = this.model.configs;
    // examples: the demo's clips.json, else the decode config's test annotations
    const examples: ExampleClip[] = [];
    const clips = (await readJsonIf(dir, 'data/test/clips.json')) as { clips?: Array<{ id: string; path: string; digits?: number[]; gender?: string; beeps?: number; tone?: string }> } | null;
    if (clips?.clips?.length) {
      for (const k of clips.clips) {
        const bits = [k.digits ? k.digits.join(' ') : '', k.gender ?? '', k.beeps !== undefined ? `${k.beeps} ${k.tone ?? ''} beep${k.beeps === 1 ? '' : 's'}` : ''].filter(Boolean);
        examples.push({ path: k.path, label: `${k.id}${bits.length ? ` (${bits.join(', ')})` : ''}` });
      }
    } else {
      for (const p of [cfg.test_data_path ?? '', 'data/test.json', 'data/train.json']) {
        const ann = (await readJsonIf(dir, p)) as { annotation?: Array<{ path: string }> } | null;
        for (const a of ann?.annotation ?? []) {
          if (!examples.some((x) => x.path === a.path)) examples.push({ path: a.path, label: a.path.split('/').pop()!.replace(/\.(wav|flac)$/i, '') });
        }
        if (examples.length) break;
      }
    }
    // prompts
    const prompts = new Set<string>();
    const strip = (s: string): string => s.replace(SPEECH_PREFIX, '').trim();
    if (cfg.prompt) prompts.add(strip(cfg.prompt));
    const tp = (await readJsonIf(dir, cfg.model.test_prompt_path)) as Record<string, string | string[]> | null;
    const trp = (await readJsonIf(dir, cfg.model.prompt_path)) as Record<string, string | string[]> | null;
    const taskNames = new Set<string>();
    const taskPrompts: { task: string; prompt: string }[] = [];
    for (const [task, v] of Object.entries(tp ?? {})) {
      const p = strip(Array.isArray(v) ? v[0] ?? '' : v);
      if (p) taskPrompts.push({ task, prompt: p });
    }
    for (const d of [tp, trp]) {
      for (const [task, v] of Object.entries(d ?? {})) {
        taskNames.add(task);
        for (const s of Array.isArray(v) ? v : [v]) if (strip(s)) prompts.add(strip(s));
      }
    }
    // training data: annotations with a mask prompt per task
    const annCands = ['data/train.json', 'data/train/all.json', 'data/test/all.json', cfg.test_data_path ?? ''];
    const promptCands = ['prompts/mask_prompt.json', 'data/test/prompts/mask_prompt.json', cfg.model.prompt_path];
    let tasks: string[] = [];
    for (const annPath of annCands) {
      const ann = (await readJsonIf(dir, annPath)) as { annotation?: Array<{ task?: string }> } | null;
      if (!ann?.annotation?.length) continue;
      for (const promptPath of promptCands) {
        const pd = (await readJsonIf(dir, promptPath)) as Record<string, unknown> | null;
        if (!pd) continue;
        const have = new Set(ann.annotation.map((a) => a.task ?? 'asr'));
        tasks = [...have].filter((t) => t in pd).sort();
        if (tasks.length) {
          this.trainData = { annPath, promptPath };
          break;
        }
      }
      if (tasks.length) break;
    }
    for (const t of tasks) taskNames.add(t);
    // masks: the config's, then masks/<task>/checkpoint.pth for every task name the model's files mention
    const masks: ModelMask[] = [];
    const listed = await dir.list?.().catch(() => []) ?? [];
    const cands = new Set<string>();
    if (cfg.model.weight_mask_path) cands.add(cfg.model.weight_mask_path);
    for (const f of listed) if (/(^|\/)masks\/[^/]+\/checkpoint\.pth$/.test(f)) cands.add(f);
    for (const t of taskNames) cands.add(`masks/${t}/checkpoint.pth`);
    for (const p of cands) {
      if (!(await dir.exists(p))) continue;
      const name = p.split('/').slice(-2, -1)[0] || p;
      if (!masks.some((m) => m.name === name)) masks.push({ name, path: p });
    }
    const defaultMask = cfg.model.weight_mask_path ? masks.find((m) => m.path === cfg.model.weight_mask_path)?.name ?? null : null;
    const beams = cfg.generate.num_beams;
    return {
      name: dir.name,
      config: this.configPath,
      layers: c.llama.num_hidden_layers,
      heads: c.llama.num_attention_heads,
      summary: `Whisper d${c.whisper.d_model}×${c.whisper.encoder_layers}L${c.beats ? `, BEATs ${c.beats.encoder_embed_dim}×${c.beats.encoder_layers}L` : ''}, LLM d${c.llama.hidden_size}×${c.llama.num_hidden_layers}L×${c.llama.num_attention_heads}H, vocab ${c.llama.vocab_size}`,
      examples,
      masks,
      defaultMask,
      prompt: strip(cfg.prompt),
      prompts: [...prompts],
      taskPrompts,
      tasks,
      generate: { numBeams: beams, maxNewTokens: cfg.generate.max_new_tokens },
    };
  }

  /** A model mask's logits (checked against the LLM). */
  async readMask(path: string): Promise<Float32Array> {
    return Salmonn.readMask(this.dir, path, this.model.configs.llama);
  }

  /** An uploaded checkpoint.pth's logits (checked against the LLM). */
  async readMaskBytes(bytes: Uint8Array, name: string): Promise<Float32Array> {
    const m = await readMaskCheckpoint(new MemorySource(bytes, name));
    checkMaskLength(m.logits.length, this.model.configs.llama, name);
    return m.logits;
  }

  /** The SALMONN waveform (16 kHz, channel 0, 1..30 s) of an input. */
  async wave(a: AudioInput): Promise<Float64Array> {
    if (a.kind === 'pcm') {
      const audio: DecodedAudio = { sampleRate: a.sampleRate, numChannels: 1, bitsPerSample: 32, encoding: 'float', container: 'wav', channels: [Float64Array.from(a.samples)] };
      return prepareWaveform(audio, 'microphone');
    }
    const [bytes, name] = a.kind === 'path' ? [(await readAll(await this.dir.open(a.path))).slice(), a.path] : [a.bytes, a.name];
    return prepareWaveform(await decodeAudio(bytes, name, { firstChannelOnly: true }), name);
  }

  /** Generates for one clip, calling `onText` with the decoded text so far after every token. */
  async run(o: RunOptions, onText: (text: string) => void, stop: () => boolean): Promise<RunResult> {
    const t0 = performance.now();
    const { model } = this;
    if (o.mask) checkMaskLength(o.mask.length, model.configs.llama, 'mask');
    const wave = await this.wave(o.audio);
    const lc = model.configs.llama;
    const g: GenerateOptions = {
      ...GENERATE_DEFAULTS, bosTokenId: lc.bos_token_id, eosTokenId: lc.eos_token_id, padTokenId: lc.pad_token_id, stopSequences: [[lc.eos_token_id]],
      ...generateOptionsFromConfig(this.cfg.generate), numBeams: Math.max(1, o.numBeams | 0), maxNewTokens: Math.max(1, o.maxNewTokens | 0),
    };
    const speech = await model.encodeSpeech([wave]);
    await tick();
    const ids = model.promptIds(o.prompt);
    const embeds = model.wrapPrompt(speech, ids);
    speech.dispose();
    const sess = model.session(embeds, o.mask ? { logits: o.mask } : null, g.maxNewTokens);
    // Row histories follow beam reorders so row 0 (the best beam) streams as it grows.
    let hist: number[][] = [];
    let shown = 0;
    const feed = async (tokens: number[]): Promise<void> => {
      if (!hist.length) hist = tokens.map(() => []);
      tokens.forEach((t, r) => hist[r].push(t));
      shown = hist[0].length;
      onText(model.tokenizer.decode(hist[0].filter((t) => t !== lc.eos_token_id), { skipSpecialTokens: true }));
      await tick();
      if (stop()) throw new Cancelled();
    };
    const streamed: StepModel = {
      vocab: sess.vocab,
      prefill: (c) => sess.prefill(c),
      step: async (t) => (await feed(t), sess.step(t)),
      reorder: (idx) => {
        if (hist.length) hist = idx.map((i) => hist[i].slice());
        sess.reorder(idx);
      },
      prefillArgmax: (c) => sess.prefillArgmax(c),
      stepArgmax: async (t) => (await feed(t), sess.stepArgmax(t)),
    };
    try {
      const r = await runGenerate(streamed, 1, g);
      const text = model.tokenizer.decode(r.sequences[0], { skipSpecialTokens: true });
      onText(text);
      return { text, tokens: r.tokens[0].length, ms: performance.now() - t0, stopReason: r.stopReasons[0], cancelled: false };
    } catch (e) {
      if (!(e instanceof Cancelled)) throw e;
      const text = model.tokenizer.decode(hist[0] ?? [], { skipSpecialTokens: true });
      return { text, tokens: shown, ms: performance.now() - t0, stopReason: 'cancelled', cancelled: true };
    } finally {
      sess.dispose();
      embeds.dispose();
    }
  }

  /** The training config the page runs: the model's data for one task, constant LR, τ 4 -> 0.05 over 30 % of the steps. */
  trainConfig(o: TrainOptions, annPath: string, promptPath: string): TrainConfig {
    const steps = Math.max(1, o.steps | 0);
    return {
      file: '<page>',
      cwd: '',
      model: { ...this.cfg.model, prompt_path: promptPath, weight_mask_path: null },
      datasets: { train_ann_path: annPath, valid_ann_path: '', test_ann_path: '', whisper_path: this.cfg.model.whisper_path },
      run: {
        seed: o.seed ?? 42, output_dir: 'page-train', evaluate: false, log_freq: 1, epoch_based: false, iters_per_epoch: steps,
        accum_grad_iters: 1, batch_size_train: o.batchSize ?? 2, batch_size_eval: 2, num_workers: 0, device: 'webgpu',
        use_distributed: false, amp: false, world_size: 1, dist_url: '', tau_decay_steps: 0.3, tau_temp_begin: 4, tau_temp_end: 0.05,
        norm_lambda: 1e-4,
        optims: { max_epoch: 1, warmup_steps: 0, warmup_start_lr: -1, init_lr: o.lr, min_lr: o.lr, weight_decay: 0, beta2: 0.999 },
      },
      raw: null,
    };
  }

  /** Trains a mask for `o.task` on the model's data; `onStep` after every step. Returns the final logits. */
  async train(o: TrainOptions, onStep: (s: TrainStep) => void, stop: () => boolean): Promise<Float32Array> {
    if (!this.trainData) throw new AhamaskError(`${this.dir.name}: no training data (data/*.json with a task and prompts/*.json)`);
    if (!this.info.tasks.includes(o.task)) throw new AhamaskError(`unknown task '${o.task}' (this model's data has: ${this.info.tasks.join(', ')})`);
    if (!(o.lr > 0)) throw new AhamaskError(`learning rate must be > 0, got ${o.lr}`);
    const fs = new OverlayTrainFs(this.dir);
    const { annPath, promptPath } = this.trainData;
    // the task's annotations only, with a batch no larger than the data
    const ann = JSON.parse(td.decode(await fs.read(annPath))) as { annotation: Array<{ task?: string }> };
    const mine = ann.annotation.filter((a) => (a.task ?? 'asr') === o.task);
    await fs.writeAtomic('page-train/train.json', JSON.stringify({ annotation: mine }));
    const cfg = this.trainConfig({ ...o, batchSize: Math.min(o.batchSize ?? 2, mine.length) }, 'page-train/train.json', promptPath);
    this.speechCache ??= new SpeechCache({ modelId: `${this.dir.name}|${this.configPath}` });
    const encoder = new SalmonnSpeechEncoder(this.model, `${this.dir.name}|${this.configPath}`);
    const trainer = new Trainer({
      cfg, fs, speech: new SpeechSource(fs, encoder, this.speechCache), objectives: [salmonnObjective(this.model, cfg.model)],
      initLogits: o.init ?? null, maxSteps: cfg.run.iters_per_epoch, validate: false, outputDir: 'page-train/out',
    });
    try {
      await trainer.setup();
      let logits = await trainer.logits();
      for (let s = 0; s < cfg.run.iters_per_epoch; s++) {
        await tick();
        if (stop()) break;
        const r: StepRecord = await trainer.step();
        logits = await trainer.logits();
        onStep({ step: r.step, loss: r.loss, ce: r.ce, lr: r.lr, tau: r.tau, headsOn: headsOn(logits, this.layers, this.heads), headsTotal: r.heads_total, logits });
      }
      return logits;
    } finally {
      trainer.dispose();
    }
  }

  dispose(): void {
    this.model.dispose();
  }
}

/** The released mask format (torch.load-able `{'model': {'tensor': float32[N]}}`). */
export function maskCheckpointBytes(logits: Float32Array): Uint8Array {
  return encodeMaskCheckpoint(Float32Array.from(logits));
}

