// SALMONN + AHAMask end to end (spec §2): loading from a decode config, every stage on its own (features, Whisper,
// BEATs, fusion, Q-Former, projection, prompt wrap, LLM logits) and generation with an optional head mask.
import { AhamaskError, FormatError, ShapeError } from '../errors.js';
import { readAll, readText, type ByteSource, type Directory } from '../io/bytes.js';
import type { LoadProgress, ProgressCallback, UrlDirectoryOptions } from '../io/directories.js';
import { openCheckpoint, type Checkpoint } from '../io/checkpoint.js';
import {
  configKeyError, parseBeatsConfig, parseBertConfig, parseLlamaConfig, parseWhisperConfig, parseWhisperPreprocessorConfig, resolvePath,
  type BeatsConfig, type BertConfig, type DecodeConfig, type GenerateConfig, type LlamaConfig, type SalmonnModelConfig, type Warn, type WhisperConfig,
} from '../io/config.js';
import { beatsSpecs, llamaSpecs, mapBeats, mapLlama, mapSalmonn, mapWhisperEncoder, salmonnKeyConfig, salmonnSpecs, whisperEncoderSpecs, type KeySpec, type WeightMap } from '../io/keymaps.js';
import { evaluatePyPercentOn, headMask as thresholdMask, inferMaskLayout, readMaskCheckpoint } from '../io/mask.js';
import { argmax, concat, layerNorm, linear } from '../ops/index.js';
import { Q4_GROUP, llmWeightFormatOf, weightBytes, type LlmWeightFormat } from '../ops/quant.js';
import { Tensor, fromHost, tidy, zeros } from '../tensor/tensor.js';
import { BeatsEncoder, beatsValidTokens } from './beats.js';
import { beatsFbankBatch, whisperLogMel, whisperWindow, WHISPER_N_MELS, WHISPER_WINDOW_30S, type WhisperWindow } from './features.js';
import { generate as runGenerate, generateOptionsFromConfig, GENERATE_DEFAULTS, type GenerateOptions, type GenerateResult, type StepModel, type TokenEvent } from './generate.js';
import { Device } from '../tensor/device.js';
import { pretrainedPlatform, readPretrainedConfig, resolvePretrainedSource, type PretrainedSource } from './pretrained.js';
import { Llama, headMaskTensors, type HeadMasks, type KVCache } from './llama.js';
import { loadLora } from './lora.js';
import { buildPromptText, promptIds, type PromptIds, type TextEncoderLike } from './prompt.js';
import { QFormer, unfoldWindows, windowGeometry } from './qformer.js';
import { LlamaTokenizer, postprocessEvaluateOutput } from './tokenizer.js';
import { WhisperEncoder } from './whisper.js';
import { Loader, disposeTree, storedBytes, type LinearW, type NormW, type OnTensor, type Target, type WeightDType } from './weights.js';

export type { LoadProgress };

// ---------------------------------------------------------------------------------------------------------
// Files

/** A Directory rooted at `path` inside another (paths joined with '/'). */
export function subDirectory(fs: Directory, path: string): Directory {
  const base = path.replace(/[\\/]+$/, '');
  const j = (rel: string): string => (base ? `${base}/${rel}` : rel);
  return { name: base, open: (rel) => fs.open(j(rel)), exists: (rel) => fs.exists(j(rel)) };
}

async function readJson(fs: Directory, path: string): Promise<unknown> {
  if (!(await fs.exists(path))) throw new FormatError(path, 'file not found');
  const src = await fs.open(path);
  try {
    const text = await readText(src);
    try {
      return JSON.parse(text);
    } catch (e) {
      throw new FormatError(src.name, `invalid JSON: ${(e as Error).message}`);
    }
  } finally {
    await src.close?.();
  }
}

async function readBytes(fs: Directory, path: string): Promise<{ bytes: Uint8Array; src: ByteSource }> {
  if (!(await fs.exists(path))) throw new FormatError(path, 'file not found');
  const src = await fs.open(path);
  try {
    return { bytes: (await readAll(src)).slice(), src };
  } finally {
    await src.close?.();
  }
}

// ---------------------------------------------------------------------------------------------------------
// Architecture (from configs alone)

/** bert-base-uncased (what SALMONN's BertConfig.from_pretrained("bert-base-uncased") fetches). */
export const BERT_BASE_UNCASED: BertConfig = parseBertConfig({});

export interface SalmonnConfigs {
  whisper: WhisperConfig;
  beats: BeatsConfig | null;
  bert: BertConfig;
  llama: LlamaConfig;
  model: SalmonnModelConfig;
  /** The Whisper input window from `<whisper_path>/preprocessor_config.json` (default 30 s). */
  whisperWindow?: WhisperWindow;
}

export interface SalmonnArchitecture {
  configs: SalmonnConfigs;
  /** Whisper output frames (max_source_positions). */
  frames: number;
  windowKernel: number;
  windowStride: number;
  windows: number;
  /** Speech tokens fed to the LLM (windows x query tokens). */
  speechTokens: number;
  /** Q-Former encoder width (Whisper d_model + BEATs dim). */
  encoderWidth: number;
  /** AHAMask vector length L x (H + 1). */
  maskLength: number;
  qformerLayers: number;
  /** Every checkpoint's expected tensors (validated before any weight is read). */
  specs: { whisper: KeySpec[]; beats: KeySpec[]; salmonn: KeySpec[]; llama: KeySpec[] };
}

/** SALMONN's Q-Former has 2 layers whatever bert-base says (num_hidden_layers = 2 in init_speech_Qformer). */
export const QFORMER_LAYERS = 2;

export function salmonnArchitecture(c: SalmonnConfigs): SalmonnArchitecture {
  const frames = c.whisper.max_source_positions;
  let g: ReturnType<typeof windowGeometry>;
  try {
    g = windowGeometry(frames, c.model.second_per_window, c.model.second_stride);
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    // name the key: the window and the stride must each cover at least one of Whisper's frames, the window at most all
    const frames30 = (sec: number): number => (frames * sec) / 30;
    const key = frames30(c.model.second_per_window) < 0.5 || c.model.second_per_window > 30 ? 'second_per_window' : 'second_stride';
    throw configKeyError(c.model, key, `= ${c.model[key]} s is ${frames30(c.model[key]).toPrecision(3)} of Whisper's ${frames} frames per 30 s; it must round to at least one frame: more than ${30 / frames / 2} s (and at most 30 s)`);
  }
  const kc = salmonnKeyConfig({ whisper: c.whisper, beats: c.beats, bert: c.bert, llama: c.llama, model: c.model });
  return {
    configs: c,
    frames,
    windowKernel: g.kernel,
    windowStride: g.stride,
    windows: g.windows,
    speechTokens: g.windows * c.model.num_speech_query_token,
    encoderWidth: c.whisper.d_model + (c.beats ? c.beats.encoder_embed_dim : 0),
    maskLength: c.llama.num_hidden_layers * (c.llama.num_attention_heads + 1),
    qformerLayers: QFORMER_LAYERS,
    specs: {
      whisper: whisperEncoderSpecs(c.whisper),
      beats: c.beats ? beatsSpecs(c.beats) : [],
      salmonn: salmonnSpecs(kc),
      llama: llamaSpecs(c.llama),
    },
  };
}

/** Weight bytes on the device per part (Vicuna in its checkpoint dtype or quantized, the rest f32) and activation peaks. */
export interface MemoryEstimate {
  mode: 'inference' | 'training';
  llmWeights: LlmWeightFormat;
  weights: { whisper: number; beats: number; salmonn: number; llama: number; total: number };
  /** Largest transient activation set while encoding one 30 s clip (bytes). */
  encoderPeak: number;
  /** KV cache for generation (bytes; 0 in training). */
  kvCache: number;
  /** Inference: prefill activations and logits; training: activations kept for backward plus the recomputed layer, logits and their gradient. */
  llmTransient: number;
  /** Weights + max(encoder transient, KV cache + LLM transient): the computed peak GPU memory. */
  gpuPeak: number;
  /** Host: the largest single tensor read from a checkpoint at a time (quantized: its f32 copy and packed words) plus the decoded audio/features (training: plus the 1 GiB speech cache). */
  hostPeak: number;
}

export interface MemoryEstimateOptions {
  /** Inference: items per batch (batch_size_eval); training: batch_size_train. */
  batch?: number;
  numBeams?: number;
  maxNewTokens?: number;
  promptTokens?: number;
  /** Bytes per Vicuna parameter when `llmWeights` is not given (legacy: 2). */
  llamaBytesPerParam?: number;
  /** fp16 / int8 / q4 (src/ops/quant.ts layouts; q4 also quantizes lm_head, int8 keeps it 16-bit). */
  llmWeights?: LlmWeightFormat;
  mode?: 'inference' | 'training';
  /** Training: target text tokens per item incl. </s> (default 32). */
  targetTokens?: number;
  /** Training: per-layer activation checkpointing (default: on for int8/q4, as `ahamask train` does). */
  checkpointLayers?: boolean;
}

const LLAMA_LINEAR = /^(layers\.\d+\.(self_attn|mlp)\.\w+_proj|lm_head)\.weight$/;

export function memoryEstimate(a: SalmonnArchitecture, opts: MemoryEstimateOptions = {}): MemoryEstimate {
  const mode = opts.mode ?? 'inference';
  const training = mode === 'training';
  const B = opts.batch ?? 1, nb = training ? 1 : opts.numBeams ?? 4, maxNew = opts.maxNewTokens ?? 100;
  const fmt = opts.llmWeights ?? 'fp16';
  const c = a.configs;
  const size = (k: KeySpec): number => (k.shape ?? [0]).reduce((x, y) => x * y, 1);
  const numel = (s: KeySpec[]): number => s.reduce((acc, k) => acc + (k.optional ? 0 : size(k)), 0);
  const largest = (s: KeySpec[]): number => s.reduce((acc, k) => Math.max(acc, size(k)), 0);
  const lb = opts.llamaBytesPerParam ?? 2;
  let llama = numel(a.specs.llama) * lb;
  if (opts.llmWeights) {
    llama = 0;
    for (const k of a.specs.llama) {
      if (k.optional) continue;
      const lin = LLAMA_LINEAR.test(k.name) && k.shape?.length === 2;
      const f: LlmWeightFormat = lin && (fmt === 'q4' || (fmt === 'int8' && k.name !== 'lm_head.weight')) ? fmt : 'fp16';
      // norms are uploaded as f32 (4 bytes), everything else 16-bit or quantized
      llama += lin ? weightBytes(f, k.shape![0], k.shape![1], Q4_GROUP) : k.name.endsWith('norm.weight') ? 4 * size(k) : 2 * size(k);
    }
  }
  const w = {
    whisper: numel(a.specs.whisper) * 4,
    beats: numel(a.specs.beats) * 4,
    salmonn: numel(a.specs.salmonn) * 4,
    llama,
    total: 0,
  };
  w.total = w.whisper + w.beats + w.salmonn + w.llama;
  // training encodes one utterance at a time (--speech-batching utterance) and caches the embeddings
  const Be = training ? 1 : B;
  const d = c.whisper.d_model, T = a.frames, Hw = c.whisper.encoder_attention_heads;
  // Whisper: conv1 output at 3000 frames, residual stream + qkv + ffn, attention probabilities per head block
  const whisperPeak = 4 * Be * (2 * T * d + 4 * T * d + T * c.whisper.encoder_ffn_dim + Hw * T * T);
  let beatsPeak = 0;
  if (c.beats) {
    const Np = 1496, De = c.beats.encoder_embed_dim, He = c.beats.encoder_attention_heads;
    // cached [H, Np, Np] position bias (+ its gather transient at first use) and one item's gated bias at a time
    beatsPeak = 4 * Be * (2998 * 128 + 6 * Np * De + Np * c.beats.encoder_ffn_embed_dim) + 3 * 4 * He * Np * Np;
  }
  const encoderPeak = Math.max(whisperPeak, beatsPeak) + 4 * Be * T * (a.encoderWidth + d);
  const L = c.llama.num_hidden_layers, Hl = c.llama.num_attention_heads, dl = c.llama.hidden_size, hd = dl / Hl, I = c.llama.intermediate_size, V = c.llama.vocab_size;
  // quantized backward dequantizes up to 32 MiB (f32) of a weight at a time
  const linMax = a.specs.llama.filter((k) => LLAMA_LINEAR.test(k.name)).reduce((m, k) => Math.max(m, size(k)), 0);
  const dequantChunk = fmt === 'fp16' ? 0 : Math.min(32 * 2 ** 20, 4 * linMax);
  let kvCache = 0, llmTransient: number;
  if (!training) {
    const ctx = (opts.promptTokens ?? 18) + a.speechTokens + maxNew;
    kvCache = 2 * L * B * nb * Hl * ctx * hd * 4;
    llmTransient = 4 * B * nb * ctx * (4 * dl + 2 * I) + 4 * B * nb * V;
  } else {
    const S = 1 + (opts.promptTokens ?? 18) + a.speechTokens + (opts.targetTokens ?? 32);
    const R = B * S;
    // f32 kept for backward per row and layer: norm inputs, q/k/v, attention output, gate/up outputs and
    // their product, the MLP input (about 10·d + 3·I values), plus the attention probabilities
    const layerActs = 4 * R * (10 * dl + 3 * I) + 4 * B * Hl * S * S;
    const ckpt = opts.checkpointLayers ?? fmt !== 'fp16';
    const kept = ckpt ? L * 4 * R * dl + layerActs : L * layerActs;
    // logits of the target positions, their softmax and gradient
    const logits = 3 * 4 * B * (opts.targetTokens ?? 32) * V;
    llmTransient = kept + logits + dequantChunk;
  }
  const gpuPeak = w.total + Math.max(encoderPeak, kvCache + llmTransient);
  // quantizing: the f16 shard bytes, their f32 copy and the packed words of one tensor
  const quantHost = fmt === 'fp16' ? 0 : linMax * (2 + 4 + 1);
  const hostPeak = Math.max(largest(a.specs.llama) * lb * 2, largest(a.specs.whisper) * 4 * 2, quantHost) + Be * (480000 * 8 + 80 * 3000 * 4 + 2998 * 128 * 4) + (training ? 2 ** 30 : 0);
  return { mode, llmWeights: fmt, weights: w, encoderPeak, kvCache, llmTransient, gpuPeak, hostPeak };
}

/** The CPU backend's largest single tensor (host typed arrays; one KV cache layer is one tensor). */
export const CPU_MAX_TENSOR_BYTES = 2 ** 31 - 1;

/** The largest single buffer `target` can hold, and what that limit is called. */
export function tensorByteLimit(target: Target): { limit: number; name: string } {
  return target === 'cpu'
    ? { limit: CPU_MAX_TENSOR_BYTES, name: 'the CPU backend\'s largest tensor' }
    : { limit: target.limits.maxBufferSize, name: 'the adapter\'s maxBufferSize' };
}

export interface KvCacheFit {
  /** One layer's K (or V) cache: rows x heads x capacity x head_dim x 4 bytes. */
  layerBytes: number;
  /** Every layer's K and V. */
  totalBytes: number;
  limit: number;
  limitName: string;
  fits: boolean;
  /** The most beams that fit at this length (0: not even one). */
  maxBeams: number;
  /** The most new tokens that fit with these beams (0: none). */
  maxNewTokens: number;
}

/**
 * Whether generation's KV cache fits the target: each layer's cache is one buffer of batch x beams x heads x
 * (prompt + max_new_tokens + 1) x head_dim f32 values, which must not exceed the largest buffer the target allows.
 */
export function kvCacheFit(llama: LlamaConfig, target: Target, o: { batch: number; numBeams: number; maxNewTokens: number; promptTokens: number }): KvCacheFit {
  const H = llama.num_attention_heads, hd = llama.hidden_size / H;
  const perToken = H * hd * 4;
  const cap = o.promptTokens + o.maxNewTokens + 1;
  const layerBytes = o.batch * o.numBeams * cap * perToken;
  const { limit, name } = tensorByteLimit(target);
  return {
    layerBytes, totalBytes: 2 * llama.num_hidden_layers * layerBytes, limit, limitName: name, fits: layerBytes <= limit,
    maxBeams: Math.floor(limit / (o.batch * cap * perToken)),
    maxNewTokens: Math.max(0, Math.floor(limit / (o.batch * o.numBeams * perToken)) - o.promptTokens - 1),
  };
}

/**
 * Checks a decode config's `generate` section against the loaded model before any item runs: the KV cache of
 * batch_size_eval x num_beams rows over the prompt (`prompt` in the template), speech tokens and max_new_tokens
 * must fit the target.
 * A FormatError names the config file, the key, what it needs, the limit and what would fit.
 */
export function checkGenerateConfig(model: Salmonn, gen: GenerateConfig, batch: number, prompt = ''): void {
  // [BOS] + the templated prompt around the speech tokens, as wrapPrompt builds it (interactive prompts are not
  // known in advance: their length is checked again when the cache is created)
  const ids = model.promptIds(prompt);
  const promptTokens = 1 + ids.before.length + model.arch.speechTokens + ids.after.length;
  const fit = kvCacheFit(model.configs.llama, model.target, { batch, numBeams: gen.num_beams, maxNewTokens: gen.max_new_tokens, promptTokens });
  if (fit.fits) return;
  const est = memoryEstimate(model.arch, { batch, numBeams: gen.num_beams, maxNewTokens: gen.max_new_tokens, promptTokens });
  const need = `needs a KV cache of ${gib(fit.layerBytes)} per layer (${gib(fit.totalBytes)} in all, ${gib(est.gpuPeak)} peak with the weights) for ${batch} item(s) x ${gen.num_beams} beam(s) x up to ${promptTokens + gen.max_new_tokens + 1} positions; ${fit.limitName} is ${gib(fit.limit)}`;
  if (fit.maxBeams >= 1 && fit.maxBeams < gen.num_beams) {
    throw configKeyError(gen, 'num_beams', `= ${gen.num_beams} ${need}: at most ${fit.maxBeams} beam(s) fit with max_new_tokens ${gen.max_new_tokens}`);
  }
  throw configKeyError(gen, 'max_new_tokens', `= ${gen.max_new_tokens} ${need}: at most ${fit.maxNewTokens} new token(s) fit with ${gen.num_beams} beam(s)`);
}

function gib(n: number): string {
  return n >= 2 ** 30 ? `${(n / 2 ** 30).toFixed(1)} GiB` : `${(n / 2 ** 20).toFixed(1)} MiB`;
}

// ---------------------------------------------------------------------------------------------------------
// Masks

/** A head mask: thresholded logits (the released checkpoints) or raw multipliers (research: continuous masks). */
export type MaskSpec =
  | { logits: Float32Array; probThreshold?: number }
  /** L*H multipliers layer-major (FFN slots dropped), or rows*L*H for one mask per batch row. */
  | { multipliers: Float32Array; rows?: number };

// ---------------------------------------------------------------------------------------------------------
// The model

export interface SalmonnParams {
  lnSpeech: NormW;
  lnAudio: NormW | null;
  proj: LinearW;
}

export interface SalmonnLoadOptions {
  /** The `model:` section (paths already resolved; src/io/config.ts). */
  model: SalmonnModelConfig;
  /** Opens the config's paths. */
  fs: Directory;
  target: Target;
  /** Top-level prob_threshold (default 0.5). */
  probThreshold?: number;
  /** Overrides the mask named by weight_mask_path (null: no mask). */
  mask?: MaskSpec | null;
  /** The Q-Former base config (default: `<cwd>/bert-base-uncased/config.json` when present, else bert-base-uncased). */
  bert?: BertConfig;
  /**
   * The working directory the original scripts run in: BertConfig.from_pretrained("bert-base-uncased") reads a
   * local `bert-base-uncased/` folder there when one exists. Default: the folder the config's relative paths
   * were resolved against (`model.cwd`), i.e. the root of `fs` for a config parsed without `cwd`.
   */
  cwd?: string;
  /** 'keep' (default): checkpoint precision (Vicuna fp16 stays fp16 on the GPU). */
  weightDType?: WeightDType;
  /**
   * The LLM's linear weights: 'fp16' (checkpoint precision), 'int8' (LLM.int8, as `low_resource: True`) or 'q4'
   * (4-bit groups); overrides the config (default: `model.llm_weight_format`, else int8 when `low_resource`).
   */
  llmWeights?: LlmWeightFormat;
  /** Progress events (transformers.js shape): per checkpoint `initiate` / `progress` / `done`, then `ready` at 100 %. */
  onProgress?: ProgressCallback;
  /** Stops loading: the weights placed so far are released and the promise rejects with the signal's reason. */
  signal?: AbortSignal;
  warn?: Warn;
}

export interface SpeechFeatures {
  batch: number;
  /** [B, 80, 3000] row-major. */
  logmel: Float32Array;
  /** [B, frames, 128] row-major (zero-padded audio across the batch, as the collater does). */
  fbank: Float32Array;
  frames: number;
  sampleLengths: number[];
  paddedSamples: number;
}

/** Intermediate activations handed to `onStage` (batch dimension kept). */
export type StageName = 'whisper_logmel' | 'beats_fbank' | 'whisper_encoder_out' | 'beats_out' | 'qformer_input' | 'qformer_out' | 'speech_embeds' | 'llm_input_embeds' | 'first_step_logits';
export type StageHook = (name: StageName, t: Tensor) => void | Promise<void>;

export interface SalmonnGenerateOptions {
  /** Instruction ('' with a mask); or the full prompt text when `rawPrompt`. */
  prompt?: string;
  rawPrompt?: boolean;
  /** 'default': the loaded mask; null: none. */
  mask?: MaskSpec | null | 'default';
  generate?: Partial<GenerateOptions>;
  onStage?: StageHook;
  /**
   * Each new token as it is produced, with the row's text so far (AHAMask decode: special tokens skipped) and
   * what it added. Greedy/sampling: live; beam search: the winner's tokens once decoding ends.
   */
  onToken?: (e: SalmonnTokenEvent) => void | Promise<void>;
  /** Stops generation between steps (and between encoder stages); device memory is released, the call rejects. */
  signal?: AbortSignal;
}

export interface SalmonnTokenEvent extends TokenEvent {
  /** The row's decoded text so far. */
  text: string;
  /** The text this token added ('' when it completes nothing printable yet). */
  delta: string;
}

export interface FromPretrainedOptions {
  /** 'cpu', a Device, or (default) the platform's GPU: Dawn under `ahamask/node`, `navigator.gpu` in browsers. */
  target?: Target;
  /** Weight precision policy (default 'keep': checkpoint precision, Vicuna f16). */
  dtype?: WeightDType;
  /** The LLM's linear weights: 'fp16', 'int8' or 'q4' (default: the config's `model.llm_weight_format`, else int8 when `low_resource`). */
  llmWeights?: LlmWeightFormat;
  /** Progress events (transformers.js shape), per checkpoint, ending with `ready` at 100 %. */
  onProgress?: ProgressCallback;
  /** Cancels loading (weights placed so far are released). */
  signal?: AbortSignal;
  /** The decode config inside the source (default: the first of DECODE_CONFIG_NAMES that exists). */
  config?: string;
  /** Overrides the config's mask (null: no mask). */
  mask?: MaskSpec | null;
  /** LAVIS-style `key.path=value` overrides of the config. */
  overrides?: string[];
  /** URL sources: fetch, headers, Cache Storage name (default in browsers: 'ahamask-models'), manifest. */
  url?: Omit<UrlDirectoryOptions, 'onProgress' | 'signal'>;
  warn?: Warn;
}

export interface SalmonnGenerateResult extends GenerateResult {
  /** AHAMask: batch_decode(skip_special_tokens=True). */
  texts: string[];
  /** evaluate.py post-processing of texts. */
  outputs: string[];
  /** SALMONN's decode (special tokens kept). */
  rawTexts: string[];
  promptText: string;
  inputLength: number;
}

export class Salmonn {
  /** Per-layer head-mask tensors of the loaded mask (null: none). */
  private defaultMasks: HeadMasks = null;
  /**
   * The decode config this model was loaded from (fromPretrained, loadFromConfig): generate() then uses its
   * `generate:` section and `prompt` as defaults.
   */
  decodeConfig: DecodeConfig | null = null;

  constructor(
    readonly arch: SalmonnArchitecture,
    readonly whisper: WhisperEncoder,
    readonly beats: BeatsEncoder | null,
    readonly qformer: QFormer,
    readonly llama: Llama,
    readonly tokenizer: LlamaTokenizer,
    readonly p: SalmonnParams,
    /** The loaded mask's logits (null: original SALMONN). */
    readonly maskLogits: Float32Array | null,
    readonly probThreshold: number,
  ) {
    if (maskLogits) this.defaultMasks = this.headMasks({ logits: maskLogits, probThreshold });
  }

  get target(): Target {
    return this.llama.target;
  }
  get configs(): SalmonnConfigs {
    return this.arch.configs;
  }
  /** The Whisper input window (preprocessor_config.json; 30 s by default). */
  get whisperWindow(): WhisperWindow {
    return this.arch.configs.whisperWindow ?? WHISPER_WINDOW_30S;
  }

  /** Reads the configs the architecture needs (LLM, Whisper, BEATs cfg) without loading any weight. */
  static async readConfigs(fs: Directory, model: SalmonnModelConfig, bert: BertConfig = BERT_BASE_UNCASED): Promise<SalmonnConfigs> {
    const llama = parseLlamaConfig(await readJson(fs, `${model.llama_path}/config.json`), `${model.llama_path}/config.json`);
    const whisper = parseWhisperConfig(await readJson(fs, `${model.whisper_path}/config.json`), `${model.whisper_path}/config.json`);
    let beats: BeatsConfig | null = null;
    if (model.beats_path) {
      const ck = await openCheckpoint(await fs.open(model.beats_path), { select: 'model' });
      try {
        const root = ck.root;
        if (!(root instanceof Map) || !root.has('cfg')) throw new FormatError(ck.file, "BEATs checkpoint has no 'cfg' dict");
        beats = parseBeatsConfig(root.get('cfg') as never, `${ck.file}: cfg`);
      } finally {
        await ck.close();
      }
    }
    let whisperWin = WHISPER_WINDOW_30S;
    const ppPath = `${model.whisper_path}/preprocessor_config.json`;
    if (await fs.exists(ppPath)) whisperWin = whisperWindow(parseWhisperPreprocessorConfig(await readJson(fs, ppPath), ppPath).chunk_length);
    // HF's encoder adds exactly max_source_positions positions after the stride-2 conv
    if (2 * whisper.max_source_positions !== whisperWin.nbMaxFrames) {
      throw new FormatError(`${model.whisper_path}/config.json`, `'max_source_positions' = ${whisper.max_source_positions} does not match the feature window of ${ppPath} (nb_max_frames ${whisperWin.nbMaxFrames} / 2 = ${whisperWin.nbMaxFrames / 2})`);
    }
    return { whisper, beats, bert, llama, model, whisperWindow: whisperWin };
  }

  /** Reads and checks a mask checkpoint against the LLM config: L x (H + 1) entries, else a ShapeError. */
  static async readMask(fs: Directory, path: string, llama: LlamaConfig): Promise<Float32Array> {
    if (!(await fs.exists(path))) {
      // exists() is false for a directory, FIFO or device too: open() says which (a missing file stays "not found")
      await fs.open(path).then((x) => x.close?.(), (e: unknown) => {
        if (e instanceof FormatError && /not a regular file/.test(e.message)) throw e;
      });
      throw new FormatError(path, 'mask checkpoint not found');
    }
    const src = await fs.open(path);
    try {
      const m = await readMaskCheckpoint(src);
      checkMaskLength(m.logits.length, llama, m.file);
      return m.logits;
    } finally {
      await src.close?.();
    }
  }

  /**
   * Loads SALMONN from a decode config's model section: configs, then the mask (checked against the LLM's
   * layers x heads), then every checkpoint's keys and shapes, and only then the weights, tensor by tensor.
   */
  static async load(opts: SalmonnLoadOptions): Promise<Salmonn> {
    const { fs, model, target, signal } = opts;
    const warn = opts.warn ?? ((m: string) => console.warn(`warning: ${m}`));
    signal?.throwIfAborted();
    let bert = opts.bert;
    const cwd = opts.cwd ?? model.cwd ?? '';
    if (!bert) {
      const bp = resolvePath(cwd, 'bert-base-uncased/config.json');
      if (await fs.exists(bp)) bert = parseBertConfig(await readJson(fs, bp), bp);
    }
    if (!bert && model.ckpt) {
      // not in the original: a `bert-base-uncased/config.json` beside the SALMONN checkpoint (the demo model ships
      // its small Q-Former config there, and commands run from the repository root, not from its folder)
      const bp = `${model.ckpt.replace(/[\\/][^\\/]*$/, '')}/bert-base-uncased/config.json`;
      if (bp !== `${model.ckpt}/bert-base-uncased/config.json` && (await fs.exists(bp))) bert = parseBertConfig(await readJson(fs, bp), bp);
    }
    const configs = await Salmonn.readConfigs(fs, model, bert ?? BERT_BASE_UNCASED);
    const arch = salmonnArchitecture(configs);
    const probThreshold = opts.probThreshold ?? 0.5;
    // 1. the mask, before anything heavy
    let maskLogits: Float32Array | null = null;
    if (opts.mask !== undefined) {
      if (opts.mask && 'logits' in opts.mask) {
        checkMaskLength(opts.mask.logits.length, configs.llama, 'mask');
        maskLogits = opts.mask.logits;
      }
    } else if (model.weight_mask_path) {
      maskLogits = await Salmonn.readMask(fs, model.weight_mask_path, configs.llama);
    }
    signal?.throwIfAborted();
    // 2. open every checkpoint lazily and validate all keys and shapes
    const opened: Checkpoint[] = [];
    const open = async (c: Promise<Checkpoint>): Promise<Checkpoint> => {
      const ck = await c;
      opened.push(ck);
      return ck;
    };
    /** Every tensor placed on the target so far: released if loading fails or is aborted. */
    const placed: Array<{ dispose(): void }> = [];
    try {
      const wk = await open(openCheckpoint(subDirectory(fs, model.whisper_path), { prefer: 'torch' }));
      const wMap = mapWhisperEncoder(wk.tensors, configs.whisper, { file: wk.file, warn });
      let bMap: WeightMap | null = null;
      if (configs.beats) {
        const bk = await open(openCheckpoint(await fs.open(model.beats_path), { select: 'model' }));
        bMap = mapBeats(bk.tensors, configs.beats, { file: bk.file, warn });
      }
      if (!model.ckpt) throw new AhamaskError("model.ckpt is not set: the SALMONN checkpoint (Q-Former, projection, LoRA) is required");
      const sk = await open(openCheckpoint(await fs.open(model.ckpt), { select: 'model', selectOptional: true }));
      const kc = salmonnKeyConfig({ whisper: configs.whisper, beats: configs.beats, bert: configs.bert, llama: configs.llama, model });
      const sMap = mapSalmonn(sk.tensors, kc, { file: sk.file, warn });
      const lk = await open(openCheckpoint(subDirectory(fs, model.llama_path)));
      const lMap = mapLlama(lk.tensors, configs.llama, { file: lk.file, warn });
      const tokBytes = await readBytes(fs, `${model.llama_path}/tokenizer.model`);
      let cleanUp = false;
      if (await fs.exists(`${model.llama_path}/tokenizer_config.json`)) {
        const tc = (await readJson(fs, `${model.llama_path}/tokenizer_config.json`)) as { clean_up_tokenization_spaces?: boolean };
        cleanUp = tc?.clean_up_tokenization_spaces === true;
      }
      const tokenizer = LlamaTokenizer.fromBytes(tokBytes.bytes, { file: tokBytes.src.name, cleanUpTokenizationSpaces: cleanUp });
      signal?.throwIfAborted();
      // 3. weights, tensor by tensor, with progress per checkpoint (bytes placed on the target)
      const dtype = opts.weightDType ?? 'keep';
      const bytesOf = (m: WeightMap | null): number => {
        let n = 0;
        if (m) for (const t of m.values()) n += storedBytes(t, dtype);
        return n;
      };
      type Part = { stage: NonNullable<LoadProgress['stage']>; file: string; total: number; loaded: number };
      const parts: Part[] = [
        { stage: 'whisper', file: model.whisper_path, total: bytesOf(wMap), loaded: 0 },
        ...(bMap ? [{ stage: 'beats' as const, file: model.beats_path, total: bytesOf(bMap), loaded: 0 }] : []),
        { stage: 'salmonn', file: model.ckpt, total: bytesOf(sMap), loaded: 0 },
        { stage: 'llama', file: model.llama_path, total: bytesOf(lMap), loaded: 0 },
      ];
      const total = parts.reduce((n, p) => n + p.total, 0);
      let done = 0;
      const pct = (a: number, b: number): number => (b > 0 ? Math.min(100, (100 * a) / b) : 100);
      const emit = (status: LoadProgress['status'], p: Part): void => opts.onProgress?.({
        status, file: p.file, loaded: p.loaded, total: p.total, progress: pct(p.loaded, p.total), overall: pct(done, total), stage: p.stage,
      });
      let current: Part | null = null;
      // a finished checkpoint counts as its whole estimate (the estimate includes tensors a model does not place)
      const finish = (p: Part): void => {
        done += p.total - p.loaded;
        p.loaded = p.total;
        emit('done', p);
      };
      const start = (stage: Part['stage']): OnTensor => {
        const p = parts.find((x) => x.stage === stage)!;
        if (current !== p) {
          if (current) finish(current);
          current = p;
          emit('initiate', p);
        }
        return (_name, bytes, t) => {
          if (t) placed.push(t);
          p.loaded += bytes;
          done += bytes;
          emit('progress', p);
          signal?.throwIfAborted();
        };
      };
      const whisper = await WhisperEncoder.load(wMap, configs.whisper, target, { dtype, onTensor: start('whisper') });
      const beats = bMap && configs.beats ? await BeatsEncoder.load(bMap, configs.beats, target, { dtype, onTensor: start('beats') }) : null;
      const onS = start('salmonn');
      const qformer = await QFormer.load(sMap, {
        bert: configs.bert, layers: QFORMER_LAYERS, crossAttentionFreq: 1, numQuery: model.num_speech_query_token, encoderWidth: arch.encoderWidth,
      }, target, { dtype, onTensor: onS });
      const ld = new Loader(sMap, target, dtype, onS);
      const p: SalmonnParams = {
        lnSpeech: await ld.norm('ln_speech', 1e-5),
        lnAudio: configs.beats ? await ld.norm('ln_audio', 1e-5) : null,
        proj: await ld.linear('speech_llama_proj'),
      };
      const lora = model.lora ? await loadLora(sMap, configs.llama.num_hidden_layers, { rank: model.lora_rank, alpha: model.lora_alpha }, target, onS) : undefined;
      const llama = await Llama.load(lMap, configs.llama, target, { dtype, lora, weights: opts.llmWeights ?? llmWeightFormatOf(model), onTensor: start('llama') });
      if (current) finish(current);
      signal?.throwIfAborted();
      const s = new Salmonn(arch, whisper, beats, qformer, llama, tokenizer, p, maskLogits, probThreshold);
      if (opts.mask && 'multipliers' in opts.mask) s.defaultMasks = s.headMasks(opts.mask);
      placed.length = 0;
      opts.onProgress?.({ status: 'ready', file: model.llama_path, loaded: done, total, progress: 100, overall: 100 });
      return s;
    } catch (e) {
      for (const t of placed) t.dispose();
      throw e;
    } finally {
      for (const c of opened) await c.close();
    }
  }

  /**
   * Loads SALMONN from a model folder like transformers.js' `from_pretrained`: `source` is a folder or decode
   * config path (Node, after `import 'ahamask/node'`), a base URL or a config's URL (fetch; cached in Cache
   * Storage in browsers), a `Directory`, or a browser `FileList` / File array (a picked folder). The decode
   * config's relative paths resolve against its own folder.
   */
  static async fromPretrained(source: PretrainedSource, opts: FromPretrainedOptions = {}): Promise<Salmonn> {
    opts.signal?.throwIfAborted();
    // one monotonic `overall` for a progress bar: downloads (cache fills) report the load's current value
    let overall = 0;
    const user = opts.onProgress;
    const onProgress: ProgressCallback | undefined = user && ((p) => {
      if (p.stage === 'download') user({ ...p, overall });
      else {
        overall = p.overall;
        user(p);
      }
    });
    const { dir, config, label } = await resolvePretrainedSource(source, { config: opts.config, url: { ...opts.url, onProgress, signal: opts.signal } });
    const { cfg, dir: root } = await readPretrainedConfig(dir, config, label, { warn: opts.warn, overrides: opts.overrides });
    let target = opts.target;
    if (!target) {
      const p = pretrainedPlatform();
      target = p.defaultTarget ? await p.defaultTarget() : await Device.create();
    }
    const s = await Salmonn.load({
      model: cfg.model, fs: root, target, probThreshold: cfg.prob_threshold, mask: opts.mask, weightDType: opts.dtype,
      llmWeights: opts.llmWeights, onProgress, signal: opts.signal, warn: opts.warn,
    });
    s.decodeConfig = cfg;
    return s;
  }

  /** What evaluate.py prints: the percentage of mask entries (FFN slots included) with sigmoid >= threshold. */
  maskPercentOn(): number | null {
    return this.maskLogits ? evaluatePyPercentOn(this.maskLogits, this.probThreshold) : null;
  }

  // ---- stages ------------------------------------------------------------------------------------------

  /**
   * Whisper log-mel (per item, padded to the model's window: 30 s unless preprocessor_config.json says otherwise)
   * and BEATs fbank (items zero-padded to the longest, as the collater).
   */
  static features(wavs: ArrayLike<number>[], win: WhisperWindow = WHISPER_WINDOW_30S): SpeechFeatures {
    if (wavs.length === 0) throw new AhamaskError('features: empty batch');
    const per = WHISPER_N_MELS * win.nbMaxFrames;
    const logmel = new Float32Array(wavs.length * per);
    wavs.forEach((w, b) => logmel.set(whisperLogMel(w, win), b * per));
    const fb = beatsFbankBatch(wavs);
    return { batch: wavs.length, logmel, fbank: fb.data, frames: fb.frames, sampleLengths: fb.lengths, paddedSamples: Math.max(...fb.lengths) };
  }

  /** [B, 80, frames] -> Whisper encoder output [B, frames / 2, d] (30 s: 3000 -> 1500). */
  encodeWhisper(logmel: Tensor): Tensor {
    return this.whisper.forward(logmel);
  }

  /** fbank [B, T, 128] -> BEATs output [B, Np, D]; sample lengths give the padding mask of a padded batch. */
  encodeBeats(fbank: Tensor, sampleLengths?: number[], paddedSamples?: number): Tensor {
    if (!this.beats) throw new AhamaskError('this SALMONN has no BEATs encoder (beats_path is empty)');
    let valid: number[] | undefined;
    if (sampleLengths && fbank.shape[0] > 1) {
      const T = fbank.shape[1];
      valid = beatsValidTokens(sampleLengths, paddedSamples ?? Math.max(...sampleLengths), T, this.beats.tokensFor(T));
    }
    return this.beats.forward(fbank, valid);
  }

  /** ln_speech(whisper) ++ zero-pad(ln_audio(beats)) on channels -> [B, 1500, C] (the Q-Former input). */
  fuse(whisperOut: Tensor, beatsOut: Tensor | null): Tensor {
    const { p } = this;
    return tidy(() => {
      let speech = layerNorm(whisperOut, p.lnSpeech.w, p.lnSpeech.b, p.lnSpeech.eps);
      if (!beatsOut || !p.lnAudio) return speech;
      let audio = layerNorm(beatsOut, p.lnAudio.w, p.lnAudio.b, p.lnAudio.eps);
      const [B, Ts, Cs] = speech.shape, [, Ta, Ca] = audio.shape;
      if (Ta < Ts) audio = concat([audio, zeros([B, Ts - Ta, Ca], { device: this.target })], 1);
      else if (Ta > Ts) speech = concat([speech, zeros([B, Ta - Ts, Cs], { device: this.target })], 1);
      return concat([speech, audio], 2);
    });
  }

  /** Q-Former over the windows of the fused sequence -> [B, windows * queries, hidden]. */
  runQformer(fused: Tensor): Tensor {
    const [B] = fused.shape;
    return tidy(() => {
      const win = unfoldWindows(fused, this.arch.windowKernel, this.arch.windowStride);
      const q = this.qformer.forward(win);
      return q.reshape([B, -1, q.shape[2]]);
    });
  }

  /** speech_llama_proj -> the speech tokens [B, N, llm_hidden]. */
  project(q: Tensor): Tensor {
    return linear(q, this.p.proj.w, this.p.proj.b ?? undefined);
  }

  /** Waveforms (16 kHz, SALMONN-normalised) -> speech embeddings [B, N, d], releasing encoder buffers on the way. */
  async encodeSpeech(wavs: ArrayLike<number>[], onStage?: StageHook, signal?: AbortSignal): Promise<Tensor> {
    signal?.throwIfAborted();
    const win = this.whisperWindow;
    const f = Salmonn.features(wavs, win);
    const B = f.batch;
    const dev = this.target;
    // every live intermediate; on an error or abort all are released
    const live = new Set<Tensor>();
    const hold = (t: Tensor): Tensor => (live.add(t), t);
    const drop = (t: Tensor | null): void => {
      if (t) live.delete(t), t.dispose();
    };
    const stage = async (name: StageName, t: Tensor): Promise<void> => {
      await onStage?.(name, t);
      signal?.throwIfAborted();
    };
    try {
      const logmel = hold(fromHost(f.logmel, [B, WHISPER_N_MELS, win.nbMaxFrames], 'f32', dev));
      await stage('whisper_logmel', logmel);
      const w = hold(this.encodeWhisper(logmel));
      drop(logmel);
      await stage('whisper_encoder_out', w);
      let b: Tensor | null = null;
      if (this.beats) {
        const fb = hold(fromHost(f.fbank, [B, f.frames, 128], 'f32', dev));
        await stage('beats_fbank', fb);
        b = hold(this.encodeBeats(fb, f.sampleLengths, f.paddedSamples));
        drop(fb);
        await stage('beats_out', b);
      }
      const fused = hold(this.fuse(w, b));
      drop(w);
      drop(b);
      await stage('qformer_input', fused);
      const q = hold(this.runQformer(fused));
      drop(fused);
      await stage('qformer_out', q);
      const s = hold(this.project(q));
      drop(q);
      await stage('speech_embeds', s);
      live.delete(s);
      return s;
    } finally {
      for (const t of live) t.dispose();
    }
  }

  /** The prompt ids for an instruction (or a full prompt text with `raw`). */
  promptIds(prompt: string, raw = false): PromptIds {
    const text = raw ? prompt : buildPromptText(this.configs.model.prompt_template, prompt);
    return promptIds(this.tokenizer as TextEncoderLike, text);
  }

  /** [BOS] ++ embed(p_before) ++ speech ++ embed(p_after) -> inputs_embeds [B, T, d]. */
  wrapPrompt(speech: Tensor, ids: PromptIds): Tensor {
    const B = speech.shape[0];
    const rep = (x: number[]): number[] => Array.from({ length: B }, () => x).flat();
    return tidy(() => {
      const parts = [this.llama.embed(rep([this.tokenizer.bosId]), [B, 1])];
      if (ids.before.length) parts.push(this.llama.embed(rep(ids.before), [B, ids.before.length]));
      parts.push(speech);
      if (ids.after.length) parts.push(this.llama.embed(rep(ids.after), [B, ids.after.length]));
      return concat(parts, 1);
    });
  }

  /** Per-layer head-mask tensors for a MaskSpec ('default': the loaded mask; null: none). */
  headMasks(mask: MaskSpec | null | 'default'): HeadMasks {
    if (mask === 'default') return this.defaultMasks;
    if (mask === null) return null;
    const L = this.configs.llama.num_hidden_layers, H = this.configs.llama.num_attention_heads;
    if ('logits' in mask) {
      checkMaskLength(mask.logits.length, this.configs.llama, 'mask');
      return headMaskTensors(thresholdMask(mask.logits, { nLayers: L, nHeads: H }, mask.probThreshold ?? this.probThreshold), L, H, this.target);
    }
    const rows = mask.rows ?? 1;
    return headMaskTensors(mask.multipliers, L, H, this.target, rows);
  }

  /** LLM logits [B, T, V] for every position of inputs_embeds (no cache). */
  logits(embeds: Tensor, mask: MaskSpec | null | 'default' = 'default'): Tensor {
    const m = this.headMasks(mask);
    try {
      return this.llama.logits(embeds, { headMasks: m });
    } finally {
      if (m && m !== this.defaultMasks) for (const t of m) t?.dispose();
    }
  }

  /** A StepModel over inputs_embeds for generate(). */
  session(embeds: Tensor, mask: MaskSpec | null | 'default', maxNewTokens: number): LlamaSession {
    return new LlamaSession(this.llama, embeds, mask === 'default' ? this.defaultMasks : this.headMasks(mask), mask !== 'default', maxNewTokens);
  }

  /**
   * End to end: waveforms (or precomputed speech embeddings) -> generated ids and texts. Defaults: the decode
   * config's `generate:` section and `prompt` when the model came from one, else GENERATE_DEFAULTS.
   */
  async generate(input: { wavs: ArrayLike<number>[] } | { speech: Tensor }, opts: SalmonnGenerateOptions = {}): Promise<SalmonnGenerateResult> {
    const lc = this.configs.llama;
    const signal = opts.signal;
    signal?.throwIfAborted();
    // token ids from the LLM config (Vicuna: bos 1, eos 2, pad 0); SALMONN's StoppingCriteriaSub stops on [eos]
    const g: GenerateOptions = {
      ...GENERATE_DEFAULTS, bosTokenId: lc.bos_token_id, eosTokenId: lc.eos_token_id, padTokenId: lc.pad_token_id,
      stopSequences: [[lc.eos_token_id]], ...(this.decodeConfig ? generateOptionsFromConfig(this.decodeConfig.generate) : {}), ...opts.generate,
    };
    const speech = 'wavs' in input ? await this.encodeSpeech(input.wavs, opts.onStage, signal) : input.speech;
    const ids = this.promptIds(opts.prompt ?? this.decodeConfig?.prompt ?? '', opts.rawPrompt);
    let embeds: Tensor;
    try {
      signal?.throwIfAborted();
      embeds = this.wrapPrompt(speech, ids);
    } finally {
      if ('wavs' in input) speech.dispose();
    }
    let r: GenerateResult;
    try {
      await opts.onStage?.('llm_input_embeds', embeds);
      const B = embeds.shape[0];
      const sess = this.session(embeds, opts.mask === undefined ? 'default' : opts.mask, g.maxNewTokens);
      if (opts.onStage) sess.onFirstLogits = (t) => opts.onStage!('first_step_logits', t);
      const onToken = opts.onToken;
      const sofar: number[][] = Array.from({ length: B }, () => []);
      const texts: string[] = new Array<string>(B).fill('');
      try {
        r = await runGenerate(sess, B, g, {
          signal,
          onToken: onToken && (async (e) => {
            sofar[e.row].push(e.token);
            const text = this.tokenizer.decode(sofar[e.row], { skipSpecialTokens: true });
            const delta = text.startsWith(texts[e.row]) ? text.slice(texts[e.row].length) : text;
            texts[e.row] = text;
            await onToken({ ...e, text, delta });
          }),
        });
      } finally {
        sess.dispose();
      }
    } finally {
      embeds.dispose();
    }
    const texts = r.sequences.map((s) => this.tokenizer.decode(s, { skipSpecialTokens: true }));
    return {
      ...r,
      texts,
      outputs: texts.map(postprocessEvaluateOutput),
      rawTexts: r.sequences.map((s) => this.tokenizer.decode(s, { skipSpecialTokens: false })),
      promptText: ids.text,
      inputLength: 1 + ids.before.length + speech.shape[1] + ids.after.length,
    };
  }

  /**
   * generate() as an async iterator of token events (`for await (const t of salmonn.stream({ wavs }))`); the
   * iterator's return value is the full result. Breaking out of the loop stops generation and frees its memory.
   */
  async *stream(input: { wavs: ArrayLike<number>[] } | { speech: Tensor }, opts: Omit<SalmonnGenerateOptions, 'onToken'> = {}): AsyncGenerator<SalmonnTokenEvent, SalmonnGenerateResult | undefined, undefined> {
    const ac = new AbortController();
    const outer = opts.signal;
    const relay = (): void => ac.abort(outer!.reason);
    if (outer?.aborted) relay();
    outer?.addEventListener('abort', relay, { once: true });
    const queue: SalmonnTokenEvent[] = [];
    let wake: (() => void) | null = null;
    let finished = false;
    const notify = (): void => {
      const w = wake;
      wake = null;
      w?.();
    };
    const run = this.generate(input, {
      ...opts, signal: ac.signal,
      onToken: (e) => {
        queue.push(e);
        notify();
      },
    }).finally(() => {
      finished = true;
      notify();
    });
    run.catch(() => {}); // observed below; avoids an unhandled rejection while the consumer is between reads
    let completed = false;
    try {
      for (;;) {
        while (queue.length) yield queue.shift()!;
        if (finished) break;
        await new Promise<void>((r) => {
          wake = r;
          if (queue.length || finished) notify();
        });
      }
      const result = await run;
      completed = true;
      return result;
    } finally {
      outer?.removeEventListener('abort', relay);
      if (!completed) {
        // the consumer stopped early (break / return / throw): cancel and wait until device memory is freed
        ac.abort(new DOMException('stream closed', 'AbortError'));
        await run.catch(() => {});
      }
    }
  }

  dispose(): void {
    this.whisper.dispose();
    this.beats?.dispose();
    this.qformer.dispose();
    this.llama.dispose();
    disposeTree(this.p);
    if (this.defaultMasks) for (const t of this.defaultMasks) t?.dispose();
  }
}

export function checkMaskLength(n: number, llama: LlamaConfig, file: string): void {
  const L = llama.num_hidden_layers, H = llama.num_attention_heads;
  try {
    inferMaskLayout(n, L, H);
  } catch {
    throw new ShapeError(`${file}: the mask has ${n} entries, but the LLM has ${L} layers x (${H} heads + 1) = ${L * (H + 1)}`);
  }
}

/** The LLaMA decoder as a StepModel: prefill over inputs_embeds, then one token per row, with a KV cache. */
export class LlamaSession implements StepModel {
  private cache: KVCache | null = null;
  private rows = 0;
  private masks: HeadMasks;
  /** Mask tensors this session created (row-expanded copies). */
  private expanded: Tensor[] = [];
  /** A beam reorder not applied to the KV cache yet (step() applies it). */
  private pendingReorder: number[] | null = null;
  /** Called with the prefill logits [B, V] (before replication for beams). */
  onFirstLogits?: (t: Tensor) => void | Promise<void>;

  constructor(
    readonly llama: Llama,
    readonly embeds: Tensor,
    masks: HeadMasks,
    private readonly ownsMasks: boolean,
    readonly maxNewTokens: number,
  ) {
    this.masks = masks;
  }

  get vocab(): number {
    return this.llama.vocabSize;
  }

  private expandMasks(copies: number): void {
    if (!this.masks || copies === 1) return;
    const m = this.masks;
    if (m.every((t) => !t || t.rank === 1)) return;
    this.masks = m.map((t) => {
      if (!t || t.rank !== 2) return t;
      const e = tidy(() => t.unsqueeze(1).broadcastTo([t.shape[0], copies, t.shape[1]]).contiguous().reshape([t.shape[0] * copies, t.shape[1]]));
      this.expanded.push(e);
      return e;
    });
    if (this.ownsMasks) for (const t of m) t?.dispose();
  }

  async prefill(copies: number): Promise<Float32Array> {
    const logits = await this.prefillLogits(copies);
    const host = (await logits.data()) as Float32Array;
    logits.dispose();
    return this.replicate(host, copies, this.vocab);
  }

  /** Greedy fast path: argmax of the prefill logits on the device; only the [rows] ids are read back. */
  async prefillArgmax(copies: number): Promise<Int32Array> {
    const logits = await this.prefillLogits(copies);
    const ids = argmax(logits, -1);
    logits.dispose();
    const host = (await ids.data()) as Int32Array;
    ids.dispose();
    return this.replicate(host, copies, 1);
  }

  /** Row r of the result is row floor(r / copies) of `host` ([B, width] row-major). */
  private replicate<A extends Float32Array | Int32Array>(host: A, copies: number, width: number): A {
    if (copies === 1) return host;
    const out = new (host.constructor as new (n: number) => A)(this.rows * width);
    for (let r = 0; r < this.rows; r++) out.set(host.subarray(Math.floor(r / copies) * width, (Math.floor(r / copies) + 1) * width), r * width);
    return out;
  }

  /** Runs the prompt; the last position's logits [B, V] (before replication for beams). */
  private async prefillLogits(copies: number): Promise<Tensor> {
    const [B, T] = this.embeds.shape;
    const cap = T + this.maxNewTokens + 1;
    this.rows = B * copies;
    let logits: Tensor;
    if (copies === 1) {
      this.cache = this.llama.createCache(B, cap);
      logits = this.llama.lastLogits(this.embeds, this.cache, this.masks);
    } else if (B === 1) {
      this.cache = this.llama.createCache(copies, cap);
      logits = this.llama.lastLogits(this.embeds, this.cache, this.masks, 1);
      this.cache.reorder(new Array(copies).fill(0));
      this.expandMasks(copies);
    } else {
      this.cache = this.llama.createCache(B * copies, cap);
      const [, , d] = this.embeds.shape;
      const rep = tidy(() => this.embeds.unsqueeze(1).broadcastTo([B, copies, T, d]).contiguous().reshape([B * copies, T, d]));
      this.expandMasks(copies);
      const full = this.llama.lastLogits(rep, this.cache, this.masks);
      rep.dispose();
      logits = tidy(() => full.reshape([B, copies, -1]).slice(1, 0, 1).contiguous().reshape([B, -1]));
      full.dispose();
    }
    try {
      await this.onFirstLogits?.(logits);
    } catch (e) {
      logits.dispose();
      throw e;
    }
    return logits;
  }

  async step(tokens: number[]): Promise<Float32Array> {
    const l = this.stepLogits(tokens);
    const host = (await l.data()) as Float32Array;
    l.dispose();
    return host;
  }

  /** Greedy fast path: the step's argmax per row on the device; reads back rows x 4 bytes instead of rows x vocab x 4. */
  async stepArgmax(tokens: number[]): Promise<Int32Array> {
    const l = this.stepLogits(tokens);
    const ids = argmax(l, -1);
    l.dispose();
    const host = (await ids.data()) as Int32Array;
    ids.dispose();
    return host;
  }

  /** Records one decode step; the last logits [rows, V] on the device. */
  private stepLogits(tokens: number[]): Tensor {
    if (!this.cache) throw new AhamaskError('step() before prefill()');
    if (tokens.length !== this.rows) throw new ShapeError(`step: ${tokens.length} tokens for ${this.rows} rows`);
    const x = this.llama.embed(tokens, [this.rows, 1]);
    // the beam reorder is recorded after the token upload so the whole step is one command buffer
    if (this.pendingReorder) this.cache.reorder(this.pendingReorder);
    this.pendingReorder = null;
    const l = this.llama.lastLogits(x, this.cache, this.masks);
    x.dispose();
    return l;
  }

  /** Applied at the start of the next step(); an identity reorder is skipped. */
  reorder(idx: number[]): void {
    if (!this.cache) return;
    if (idx.length !== this.rows) throw new ShapeError(`reorder: ${idx.length} indices for ${this.rows} rows`);
    this.pendingReorder = idx.every((j, r) => j === r) ? null : [...idx];
  }

  dispose(): void {
    this.cache?.dispose();
    this.cache = null;
    this.pendingReorder = null;
    if (this.ownsMasks && this.masks) for (const t of this.masks) t?.dispose();
    for (const t of this.expanded) t.dispose();
    this.expanded = [];
  }
}

export type { GenerateConfig };
