// `ahamask pretrain`: builds a small SALMONN from scratch and trains it with the engine's autograd and AdamW.
// The model is initialised (seeded), written in the real checkpoint formats (HF Whisper safetensors, BEATs
// {'cfg','model'} .pt, SALMONN {'model'} .pth, HF LLaMA safetensors + SentencePiece tokenizer.model) and loaded
// back with `Salmonn.load`, so the graph that is trained is the inference graph: the loaded tensors are marked
// requiresGrad and the same module forwards run (Whisper -> ln_speech ++ ln_audio(BEATs) -> window Q-Former ->
// speech_llama_proj -> [BOS] prompt speech prompt text -> LLaMA -> CE on the text tokens, SALMONN's labels).
// Trained: Q-Former + query tokens, ln_speech, ln_audio, speech_llama_proj and the whole LLM (and Whisper when
// model.whisper.trainable). Frozen, as SALMONN freezes its encoders: Whisper (by default; a deterministic init whose
// front-end passes the log-mel through) and BEATs at its random init, so their outputs are computed once and cached;
// LoRA (B = 0, so the adapters add nothing; the LLM itself is trained instead). Each batch is one task with one
// instruction sampled from train_prompt.json, as SALMONN picks the prompt from the batch's first task.
import { parseDocument } from 'yaml';
import { AhamaskError, FormatError } from '../errors.js';
import type { Directory } from '../io/bytes.js';
import { MemorySource } from '../io/bytes.js';
import { parseDecodeConfig, type DecodeConfig } from '../io/config.js';
import { beatsSpecs, llamaSpecs, salmonnKeyConfig, salmonnSpecs, whisperEncoderSpecs, type KeySpec } from '../io/keymaps.js';
import { encodeSafetensors, openSafetensors } from '../io/safetensors.js';
import { encodeTorchSave, stateDict, TensorValue, float32ToFloat16Bits } from '../io/torch.js';
import { pyFloat, type PyValue } from '../io/pickle.js';
import { parseBeatsConfig, parseBertConfig, parseLlamaConfig, parseWhisperConfig, type BeatsConfig } from '../io/config.js';
import { AdamW, assign } from '../autograd/optim.js';
import { Rng } from '../autograd/rng.js';
import { backward, noGrad, requiresGrad } from '../autograd/tape.js';
import { concat, crossEntropy, layerNorm, mul, scale, sum } from '../ops/index.js';
import { Tensor, dataOf, fromHost, keep, tidy, zeros } from '../tensor/tensor.js';
import { beatsFbank, whisperLogMel, WHISPER_N_MELS } from '../models/features.js';
import { promptIds } from '../models/prompt.js';
import { LlamaTokenizer } from '../models/tokenizer.js';
import { Salmonn, salmonnArchitecture, type SalmonnConfigs } from '../models/salmonn.js';
import type { Target } from '../models/weights.js';
import { loraKey } from '../models/lora.js';
import { IGNORE_INDEX, InfiniteLoader, parseAnnotations, parsePromptDict, randInt, tokenizeTargets, type Annotation, type LoaderState, type PromptDict } from './data.js';
import type { TrainFs } from './fs.js';
import { loadEntryAudio } from './speech.js';
import { jsonLine, RateMeter } from './log.js';

// ---------------------------------------------------------------------------------------------------------
// Config

export interface PretrainModelConfig {
  /**
   * trainable false (default): Whisper stays frozen (as in SALMONN) at a deterministic init whose conv front-end
   * passes the 80 log-mel bins through on its first 80 channels (needs d_model >= 80); its outputs are cached.
   */
  whisper: { d_model: number; encoder_layers: number; encoder_attention_heads: number; encoder_ffn_dim: number; chunk_length: number; trainable: boolean };
  beats: { embed_dim: number; encoder_embed_dim: number; encoder_layers: number; encoder_attention_heads: number; encoder_ffn_embed_dim: number; conv_pos: number; conv_pos_groups: number; num_buckets: number; max_distance: number };
  qformer: { hidden_size: number; intermediate_size: number; num_attention_heads: number };
  llama: { hidden_size: number; intermediate_size: number; num_hidden_layers: number; num_attention_heads: number; vocab_size: number };
  num_speech_query_token: number;
  second_per_window: number;
  lora_rank: number;
  lora_alpha: number;
  prompt_template: string;
  end_sym: string;
}

export interface PretrainConfig {
  file: string;
  seed: number;
  /** Where the checkpoint layout is written (checkpoints/demo), relative to the working directory. */
  output_dir: string;
  /** Training state: log.jsonl, f32 master weights, optimizer moments (not shipped). */
  run_dir: string;
  model: PretrainModelConfig;
  data: {
    train_ann_path: string;
    prompt_path: string;
    test_prompt_path: string;
    mask_prompt_path: string;
    /** An existing tokenizer.model to use instead of training one (tests). */
    tokenizer_model: string | null;
  };
  /** adapter_lr_scale: learning-rate factor of the speech adapter (Q-Former, query tokens, ln_speech/ln_audio, projection). */
  optim: { lr: number; min_lr: number; warmup_steps: number; weight_decay: number; beta2: number; grad_clip: number; adapter_lr_scale: number };
  steps: number;
  /** Items per step (split evenly over the tasks with task_mix). */
  batch_size: number;
  /** Every task in every step (default true): one sub-batch per task, gradients accumulated. */
  task_mix: boolean;
  save_every: number;
  generate: { max_new_tokens: number };
}

type Obj = Record<string, unknown>;

function field<T>(o: Obj, file: string, path: string, kind: 'num' | 'int' | 'str' | 'str?' | 'obj' | 'bool', def?: T): T {
  const parts = path.split('.');
  let v: unknown = o;
  for (const p of parts) v = v && typeof v === 'object' ? (v as Obj)[p] : undefined;
  if (v === undefined || v === null) {
    if (kind === 'str?') return (def ?? null) as T;
    if (def === undefined) throw new FormatError(file, `missing required key '${path}'`);
    return def;
  }
  const ok = kind === 'num' ? typeof v === 'number' && Number.isFinite(v) : kind === 'int' ? Number.isInteger(v) : kind === 'obj' ? typeof v === 'object' && !Array.isArray(v) : kind === 'bool' ? typeof v === 'boolean' : typeof v === 'string';
  if (!ok) throw new FormatError(file, `'${path}' must be ${kind === 'num' ? 'a number' : kind === 'int' ? 'an integer' : kind === 'obj' ? 'a mapping' : kind === 'bool' ? 'true or false' : 'a string'}, got ${JSON.stringify(v)}`);
  return v as T;
}

export function parsePretrainConfig(text: string, file: string): PretrainConfig {
  const doc = parseDocument(text);
  if (doc.errors.length) throw new FormatError(file, `invalid YAML: ${doc.errors[0].message}`);
  const o = (doc.toJS() ?? {}) as Obj;
  if (typeof o !== 'object' || Array.isArray(o)) throw new FormatError(file, 'config is not a mapping');
  const n = (p: string, def?: number): number => field<number>(o, file, p, 'num', def);
  const i = (p: string, def?: number): number => {
    const v = field<number>(o, file, p, 'int', def);
    if (v < 0) throw new FormatError(file, `'${p}' must be >= 0, got ${v}`);
    return v;
  };
  const s = (p: string, def?: string): string => field<string>(o, file, p, 'str', def);
  const cfg: PretrainConfig = {
    file,
    seed: i('seed', 1),
    output_dir: s('output_dir'),
    run_dir: s('run_dir'),
    model: {
      whisper: { d_model: i('model.whisper.d_model'), encoder_layers: i('model.whisper.encoder_layers'), encoder_attention_heads: i('model.whisper.encoder_attention_heads'), encoder_ffn_dim: i('model.whisper.encoder_ffn_dim'), chunk_length: i('model.whisper.chunk_length', 4), trainable: field<boolean>(o, file, 'model.whisper.trainable', 'bool', false) },
      beats: {
        embed_dim: i('model.beats.embed_dim'), encoder_embed_dim: i('model.beats.encoder_embed_dim'), encoder_layers: i('model.beats.encoder_layers'),
        encoder_attention_heads: i('model.beats.encoder_attention_heads'), encoder_ffn_embed_dim: i('model.beats.encoder_ffn_embed_dim'),
        conv_pos: i('model.beats.conv_pos', 16), conv_pos_groups: i('model.beats.conv_pos_groups', 4), num_buckets: i('model.beats.num_buckets', 32), max_distance: i('model.beats.max_distance', 128),
      },
      qformer: { hidden_size: i('model.qformer.hidden_size'), intermediate_size: i('model.qformer.intermediate_size'), num_attention_heads: i('model.qformer.num_attention_heads') },
      llama: { hidden_size: i('model.llama.hidden_size'), intermediate_size: i('model.llama.intermediate_size'), num_hidden_layers: i('model.llama.num_hidden_layers'), num_attention_heads: i('model.llama.num_attention_heads'), vocab_size: i('model.llama.vocab_size', 512) },
      num_speech_query_token: i('model.num_speech_query_token', 1),
      second_per_window: n('model.second_per_window', 0.2),
      lora_rank: i('model.lora_rank', 8),
      lora_alpha: i('model.lora_alpha', 32),
      prompt_template: s('model.prompt_template', 'USER: {}\nASSISTANT:'),
      end_sym: s('model.end_sym', '</s>'),
    },
    data: {
      train_ann_path: s('data.train_ann_path'),
      prompt_path: s('data.prompt_path'),
      test_prompt_path: s('data.test_prompt_path'),
      mask_prompt_path: s('data.mask_prompt_path'),
      tokenizer_model: field<string | null>(o, file, 'data.tokenizer_model', 'str?'),
    },
    optim: { lr: n('optim.lr', 2e-3), min_lr: n('optim.min_lr', 1e-4), warmup_steps: i('optim.warmup_steps', 50), weight_decay: n('optim.weight_decay', 0.01), beta2: n('optim.beta2', 0.99), grad_clip: n('optim.grad_clip', 1.0), adapter_lr_scale: n('optim.adapter_lr_scale', 1) },
    steps: i('steps'),
    batch_size: i('batch_size', 16),
    task_mix: field<boolean>(o, file, 'task_mix', 'bool', true),
    save_every: i('save_every', 100),
    generate: { max_new_tokens: i('generate.max_new_tokens', 12) },
  };
  const m = cfg.model;
  for (const [what, d, h] of [['model.whisper', m.whisper.d_model, m.whisper.encoder_attention_heads], ['model.beats', m.beats.encoder_embed_dim, m.beats.encoder_attention_heads], ['model.qformer', m.qformer.hidden_size, m.qformer.num_attention_heads], ['model.llama', m.llama.hidden_size, m.llama.num_attention_heads]] as const) {
    if (h < 1 || d % h !== 0) throw new FormatError(file, `'${what}': width ${d} is not divisible by ${h} heads`);
  }
  if (!m.whisper.trainable && m.whisper.d_model < 80) throw new FormatError(file, `'model.whisper.d_model' must be >= 80 for the frozen pass-through Whisper (trainable: false), got ${m.whisper.d_model}`);
  if (m.beats.encoder_embed_dim % m.beats.conv_pos_groups !== 0) throw new FormatError(file, `'model.beats.conv_pos_groups' ${m.beats.conv_pos_groups} does not divide encoder_embed_dim ${m.beats.encoder_embed_dim}`);
  if (cfg.batch_size < 1) throw new FormatError(file, `'batch_size' must be >= 1`);
  return cfg;
}

// ---------------------------------------------------------------------------------------------------------
// The configs written next to the weights (HF / BEATs / BERT schemas)

export interface DemoConfigFiles {
  whisperConfig: Obj;
  preprocessorConfig: Obj;
  beatsCfg: Obj;
  bertConfig: Obj;
  llamaConfig: Obj;
}

export function demoConfigFiles(m: PretrainModelConfig, llamaDType: 'float16' | 'float32'): DemoConfigFiles {
  const w = m.whisper;
  const nSamples = w.chunk_length * 16000;
  return {
    whisperConfig: {
      _name_or_path: 'ahamask demo Whisper encoder (trained by ahamask pretrain)', architectures: ['WhisperForConditionalGeneration'], model_type: 'whisper',
      d_model: w.d_model, encoder_layers: w.encoder_layers, encoder_attention_heads: w.encoder_attention_heads, encoder_ffn_dim: w.encoder_ffn_dim,
      decoder_layers: 0, decoder_attention_heads: w.encoder_attention_heads, decoder_ffn_dim: w.encoder_ffn_dim,
      num_mel_bins: 80, max_source_positions: nSamples / 160 / 2, max_target_positions: 448, activation_function: 'gelu', scale_embedding: false,
      dropout: 0.0, attention_dropout: 0.0, activation_dropout: 0.0, torch_dtype: 'float32', vocab_size: 51865,
    },
    preprocessorConfig: {
      chunk_length: w.chunk_length, feature_extractor_type: 'WhisperFeatureExtractor', feature_size: 80, hop_length: 160, n_fft: 400,
      n_samples: nSamples, nb_max_frames: nSamples / 160, padding_side: 'right', padding_value: 0.0, processor_class: 'WhisperProcessor',
      return_attention_mask: false, sampling_rate: 16000,
    },
    beatsCfg: {
      encoder_layers: m.beats.encoder_layers, encoder_embed_dim: m.beats.encoder_embed_dim, encoder_ffn_embed_dim: m.beats.encoder_ffn_embed_dim,
      encoder_attention_heads: m.beats.encoder_attention_heads, activation_fn: 'gelu', dropout: 0.0, attention_dropout: 0.0, activation_dropout: 0.0,
      encoder_layerdrop: 0.0, dropout_input: 0.0, layer_norm_first: false, conv_bias: false, conv_pos: m.beats.conv_pos, conv_pos_groups: m.beats.conv_pos_groups,
      relative_position_embedding: true, num_buckets: m.beats.num_buckets, max_distance: m.beats.max_distance, gru_rel_pos: true, deep_norm: true,
      input_patch_size: 16, layer_wise_gradient_decay_ratio: 1.0, embed_dim: m.beats.embed_dim, finetuned_model: false, predictor_dropout: 0.0, predictor_class: 527,
    },
    bertConfig: {
      architectures: ['BertForMaskedLM'], model_type: 'bert', hidden_size: m.qformer.hidden_size, intermediate_size: m.qformer.intermediate_size,
      num_attention_heads: m.qformer.num_attention_heads, num_hidden_layers: 2, hidden_act: 'gelu', hidden_dropout_prob: 0.1, attention_probs_dropout_prob: 0.1,
      layer_norm_eps: 1e-12, max_position_embeddings: 512, pad_token_id: 0, position_embedding_type: 'absolute', type_vocab_size: 2, vocab_size: 30522, initializer_range: 0.02,
    },
    llamaConfig: {
      _name_or_path: 'ahamask demo LLaMA (trained by ahamask pretrain)', architectures: ['LlamaForCausalLM'], model_type: 'llama',
      bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, hidden_act: 'silu', hidden_size: m.llama.hidden_size, intermediate_size: m.llama.intermediate_size,
      initializer_range: 0.02, max_position_embeddings: 512, num_attention_heads: m.llama.num_attention_heads, num_hidden_layers: m.llama.num_hidden_layers,
      rms_norm_eps: 1e-6, tie_word_embeddings: false, torch_dtype: llamaDType, transformers_version: '4.28.0', use_cache: true, vocab_size: m.llama.vocab_size,
    },
  };
}

/** The typed configs of the demo architecture (what Salmonn.readConfigs will read back from the files). */
export function demoSalmonnConfigs(m: PretrainModelConfig, decode: DecodeConfig): SalmonnConfigs {
  const f = demoConfigFiles(m, 'float32');
  return {
    whisper: parseWhisperConfig(f.whisperConfig), beats: parseBeatsConfig(f.beatsCfg as never), bert: parseBertConfig(f.bertConfig),
    llama: parseLlamaConfig(f.llamaConfig), model: decode.model,
  };
}

// ---------------------------------------------------------------------------------------------------------
// Initialisation

/** Whisper's stored sinusoidal table (HF `sinusoids(length, channels)`): [sin | cos], timescales up to 10000. */
export function whisperSinusoids(length: number, channels: number): Float32Array {
  const half = channels / 2;
  const inc = Math.log(10000) / (half - 1);
  const out = new Float32Array(length * channels);
  for (let t = 0; t < length; t++) {
    for (let j = 0; j < half; j++) {
      const a = t * Math.exp(-inc * j);
      out[t * channels + j] = Math.sin(a);
      out[t * channels + half + j] = Math.cos(a);
    }
  }
  return out;
}

const RESIDUAL_OUT = /(out_proj|o_proj|down_proj|fc2|attention\.output\.dense|crossattention\.output\.dense|output_query\.dense)\.weight$/;
const NORM_WEIGHT = /(LayerNorm|layer_norm|layernorm|ln_speech|ln_audio|(^|\.)norm)\.weight$/;

/**
 * Deterministic initial value of one checkpoint tensor, by its name: norms 1, biases 0, Whisper positions
 * sinusoidal, query tokens / embeddings / relative-position biases N(0, 0.02), LoRA A uniform(±1/sqrt(in)) and
 * B zero (peft), BEATs' weight-normed positional conv with g = ||v||, every other matrix N(0, 1/fan_in) (halved
 * for the projections that write into a residual stream).
 */
export function initTensor(name: string, shape: number[], rng: Rng): Float32Array {
  const n = shape.reduce((a, b) => a * b, 1);
  const fanIn = shape.length > 1 ? shape.slice(1).reduce((a, b) => a * b, 1) : 1;
  if (name.endsWith('embed_positions.weight')) return whisperSinusoids(shape[0], shape[1]);
  if (/lora_B/.test(name)) return new Float32Array(n);
  if (/lora_A/.test(name)) return rng.uniformArray(n, -1 / Math.sqrt(fanIn), 1 / Math.sqrt(fanIn));
  if (name.endsWith('grep_a')) return new Float32Array(n).fill(1);
  if (NORM_WEIGHT.test(name)) return new Float32Array(n).fill(1);
  if (name.endsWith('.bias')) return new Float32Array(n);
  if (name === 'speech_query_tokens' || name.endsWith('embed_tokens.weight') || name.endsWith('relative_attention_bias.weight')) return rng.normalArray(n, 0, 0.02);
  // the Q-Former's cross-attention output starts 3x larger than the (window-independent) query path it is added
  // to, so the speech tokens mostly carry what was read from the window, not a constant the LLM learns to ignore
  if (/crossattention\.output\.dense\.weight$/.test(name)) return rng.normalArray(n, 0, 3 / Math.sqrt(fanIn));
  const std = (RESIDUAL_OUT.test(name) ? 0.5 : 1) / Math.sqrt(fanIn);
  return rng.normalArray(n, 0, std);
}

/** BEATs pos_conv: v ~ N(0, sqrt(4 / (K * E))) as BEATs initialises it; g = the norm of v over dims (0, 1) per tap, so w = v. */
function initBeatsPosConv(shapeV: number[], rng: Rng): { v: Float32Array; g: Float32Array } {
  const [E, Eg, K] = shapeV;
  const v = rng.normalArray(E * Eg * K, 0, Math.sqrt(4 / (K * E)));
  const g = new Float32Array(K);
  for (let k = 0; k < K; k++) {
    let s = 0;
    for (let r = 0; r < E * Eg; r++) s += v[r * K + k] ** 2;
    g[k] = Math.sqrt(s);
  }
  return { v, g };
}

export interface DemoWeights {
  whisper: Map<string, TensorValue>;
  beats: Map<string, TensorValue>;
  salmonn: Map<string, TensorValue>;
  llama: Map<string, TensorValue>;
}

function initFromSpecs(specs: KeySpec[], rng: Rng, out: Map<string, TensorValue>): void {
  for (const s of specs) {
    if (s.optional || !s.shape) continue;
    const key = s.keys[0];
    if (key.endsWith('pos_conv.0.weight_g')) continue; // with weight_v
    if (key.endsWith('pos_conv.0.weight_v')) {
      const { v, g } = initBeatsPosConv(s.shape, rng);
      out.set(key.replace(/weight_v$/, 'weight_g'), new TensorValue('f32', [1, 1, s.shape[2]], g));
      out.set(key, new TensorValue('f32', s.shape, v));
      continue;
    }
    out.set(key, new TensorValue('f32', s.shape, initTensor(key, s.shape, rng)));
  }
}

/**
 * The frozen Whisper's front-end as a fixed feature extractor: channel c < 80 of conv1 is mel bin c (centre tap 1),
 * conv2 smooths it over time (taps 1/4, 1/2, 1/4) at stride 2; the other channels and the layers keep their random
 * init, the layers' residual outputs scaled down by 0.1 and the stored positions by 0.1 so the mel stays readable.
 */
function passThroughWhisper(w: Map<string, TensorValue>): void {
  const get = (k: string): TensorValue => w.get(`model.encoder.${k}`)!;
  const c1 = get('conv1.weight'), c2 = get('conv2.weight');
  const [d, nm] = c1.shape, dd = c2.shape[1];
  const d1 = c1.data as Float32Array, d2 = c2.data as Float32Array;
  for (let c = 0; c < 80; c++) {
    d1.fill(0, c * nm * 3, (c + 1) * nm * 3);
    d1[(c * nm + c) * 3 + 1] = 1;
    d2.fill(0, c * dd * 3, (c + 1) * dd * 3);
    d2[(c * dd + c) * 3] = 0.25;
    d2[(c * dd + c) * 3 + 1] = 0.5;
    d2[(c * dd + c) * 3 + 2] = 0.25;
  }
  if (d < 80) throw new AhamaskError(`the pass-through Whisper needs d_model >= 80, got ${d}`);
  for (const [k, t] of w) {
    if (/(out_proj|fc2)\.weight$/.test(k) || k.endsWith('embed_positions.weight')) {
      const a = t.data as Float32Array;
      for (let i = 0; i < a.length; i++) a[i] *= 0.1;
    }
  }
}

/** Every tensor of the four checkpoints, from the seed (one Rng stream per checkpoint, so sizes of one do not shift another). */
export function initDemoWeights(c: SalmonnConfigs, seed: number, opts: { whisperPassThrough?: boolean } = {}): DemoWeights {
  const a = salmonnArchitecture(c);
  const w: DemoWeights = { whisper: new Map(), beats: new Map(), salmonn: new Map(), llama: new Map() };
  initFromSpecs(a.specs.whisper, new Rng(seed * 4 + 1), w.whisper);
  if (opts.whisperPassThrough) passThroughWhisper(w.whisper);
  initFromSpecs(a.specs.beats, new Rng(seed * 4 + 2), w.beats);
  initFromSpecs(a.specs.salmonn, new Rng(seed * 4 + 3), w.salmonn);
  initFromSpecs(a.specs.llama, new Rng(seed * 4 + 4), w.llama);
  return w;
}

// ---------------------------------------------------------------------------------------------------------
// Writing the checkpoint layout

/** A JSON-like value as pickle values (floats stay floats). */
function toPy(v: unknown): PyValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'number') return Number.isInteger(v) && !Object.is(v, -0) ? v : pyFloat(v);
  if (typeof v === 'string' || typeof v === 'boolean') return v;
  if (Array.isArray(v)) return v.map(toPy);
  const m = new Map<string, PyValue>();
  for (const [k, x] of Object.entries(v as Obj)) m.set(k, toPy(x));
  return m;
}

const json = (o: unknown): string => JSON.stringify(o, null, 2) + '\n';
const f16 = (t: TensorValue): TensorValue => new TensorValue('f16', t.shape, float32ToFloat16Bits(t.data as Float32Array));

/** Deterministic 40-digit torch serialization ids (same weights, same bytes). */
const SER_ID = '0'.repeat(40);

export interface LayoutFiles {
  tokenizerModel: Uint8Array;
  decodeConfigYaml: string;
  prompts: { train: string; test: string; mask: string };
}

/**
 * Writes `dir/` as SALMONN's checkpoints: whisper/ (config.json, preprocessor_config.json, model.safetensors with
 * `model.encoder.*`), beats.pt ({'cfg', 'model'}), bert-base-uncased/config.json, salmonn.pth ({'model'}),
 * vicuna/ (config.json, generation_config.json, tokenizer files, model.safetensors in f16), decode_config.yaml
 * and prompts/.
 */
export async function writeDemoLayout(fs: TrainFs, dir: string, m: PretrainModelConfig, w: DemoWeights, files: LayoutFiles, llamaDType: 'float16' | 'float32' = 'float16'): Promise<void> {
  const j = (...p: string[]): string => fs.join(dir, ...p);
  const c = demoConfigFiles(m, llamaDType);
  await fs.writeAtomic(j('whisper', 'config.json'), json(c.whisperConfig));
  await fs.writeAtomic(j('whisper', 'preprocessor_config.json'), json(c.preprocessorConfig));
  await fs.writeAtomic(j('whisper', 'model.safetensors'), encodeSafetensors(w.whisper, { format: 'pt' }));
  await fs.writeAtomic(j('beats.pt'), encodeTorchSave(new Map<string, PyValue>([['cfg', toPy(c.beatsCfg)], ['model', stateDict(w.beats)]]), { archiveName: 'beats', serializationId: SER_ID }));
  await fs.writeAtomic(j('bert-base-uncased', 'config.json'), json(c.bertConfig));
  await fs.writeAtomic(j('salmonn.pth'), encodeTorchSave(new Map<string, PyValue>([['model', stateDict(w.salmonn)]]), { archiveName: 'salmonn', serializationId: SER_ID }));
  await fs.writeAtomic(j('vicuna', 'config.json'), json(c.llamaConfig));
  await fs.writeAtomic(j('vicuna', 'generation_config.json'), json({ _from_model_config: true, bos_token_id: 1, eos_token_id: 2, pad_token_id: 0, transformers_version: '4.28.0' }));
  await fs.writeAtomic(j('vicuna', 'tokenizer.model'), files.tokenizerModel);
  const tok = (content: string) => ({ __type: 'AddedToken', content, lstrip: false, normalized: true, rstrip: false, single_word: false });
  await fs.writeAtomic(j('vicuna', 'tokenizer_config.json'), json({
    add_bos_token: true, add_eos_token: false, bos_token: tok('<s>'), clean_up_tokenization_spaces: false, eos_token: tok('</s>'),
    model_max_length: 512, pad_token: null, sp_model_kwargs: {}, tokenizer_class: 'LlamaTokenizer', unk_token: tok('<unk>'),
  }));
  await fs.writeAtomic(j('vicuna', 'special_tokens_map.json'), json({ bos_token: tok('<s>'), eos_token: tok('</s>'), unk_token: tok('<unk>') }));
  const llama = llamaDType === 'float16' ? new Map([...w.llama].map(([k, t]) => [k, f16(t)] as [string, TensorValue])) : w.llama;
  await fs.writeAtomic(j('vicuna', 'model.safetensors'), encodeSafetensors(llama, { format: 'pt' }));
  await fs.writeAtomic(j('prompts', 'train_prompt.json'), files.prompts.train);
  await fs.writeAtomic(j('prompts', 'test_prompt.json'), files.prompts.test);
  await fs.writeAtomic(j('prompts', 'mask_prompt.json'), files.prompts.mask);
  await fs.writeAtomic(j('decode_config.yaml'), files.decodeConfigYaml);
}

/** decode_config.yaml of the demo (AHAMask schema; paths relative to the repository root, where commands run). */
export function demoDecodeConfig(cfg: PretrainConfig): string {
  const d = cfg.output_dir.replace(/\/+$/, '');
  const m = cfg.model;
  return `# The demo SALMONN (issue 11), written by \`ahamask pretrain -c ${d}/pretrain.yaml\`.
# AHAMask decode_config.yaml schema; paths are relative to the repository root (run commands from there).
batch_size_eval: 1
num_workers: 0

test_data_path: "${d}/data/test/asr.json"
output_path: "demo-out/evaluate.json"
prompt: ""

model:
  llama_path: "${d}/vicuna"
  whisper_path: "${d}/whisper"
  beats_path: "${d}/beats.pt"
  ckpt: "${d}/salmonn.pth"
  weight_mask_path: null
  shuffle_mask: false

  freeze_whisper: True
  freeze_beats: True

  use_speech_Qformer: True
  freeze_speech_QFormer: False
  window_level_Qformer: True
  num_speech_query_token: ${m.num_speech_query_token}
  second_per_window: ${m.second_per_window}
  second_stride: ${m.second_per_window}

  speech_llama_proj_model: ""
  freeze_speech_llama_proj: False

  lora: True
  lora_rank: ${m.lora_rank}
  lora_alpha: ${m.lora_alpha}
  lora_dropout: 0.0

  multi_prompt: True
  prompt_template: ${JSON.stringify(m.prompt_template)}
  prompt_path: "${d}/prompts/train_prompt.json"
  test_prompt_path: "${d}/prompts/test_prompt.json"
  max_txt_len: 300
  end_sym: "${m.end_sym}"

generate:
  max_new_tokens: ${cfg.generate.max_new_tokens}
  num_beams: 1
  do_sample: False
  min_length: 1
  temperature: 1.0
  top_p: 0.9
  repetition_penalty: 1.0
  length_penalty: 1.0
`;
}

// ---------------------------------------------------------------------------------------------------------
// The trainable parameters of a loaded model, under their checkpoint names

export interface NamedParam {
  /** Checkpoint key ('model.encoder.layers.0.fc1.weight', 'speech_llama_proj.bias', 'model.layers.0.mlp.up_proj.weight'). */
  key: string;
  part: 'whisper' | 'salmonn' | 'llama';
  t: Tensor;
  /** Weight decay applies (matrices, not norms, biases, query tokens). */
  decay: boolean;
}

/**
 * Walks the loaded modules and returns every tensor to train with its checkpoint key: the Loader names each tensor
 * with its canonical name, which the part's key specs map to the file key. Whisper's stored positions, BEATs and
 * LoRA stay frozen.
 */
export function trainableParams(model: Salmonn, opts: { whisper?: boolean } = {}): NamedParam[] {
  const a = model.arch;
  const out: NamedParam[] = [];
  const seen = new Set<Tensor>();
  const keyOf = (specs: KeySpec[]): Map<string, string> => new Map(specs.map((s) => [s.name, s.keys[0]]));
  const walk = (v: unknown, part: NamedParam['part'], keys: Map<string, string>): void => {
    if (v instanceof Tensor) {
      if (seen.has(v)) return;
      seen.add(v);
      const key = v.name ? keys.get(v.name) : undefined;
      if (!key) throw new AhamaskError(`pretrain: a ${part} tensor has no checkpoint key (name '${v.name ?? ''}')`);
      if (key.endsWith('embed_positions.weight')) return;
      const decay = v.rank >= 2 && !key.endsWith('embed_tokens.weight') && key !== 'speech_query_tokens';
      out.push({ key, part, t: v, decay });
    } else if (Array.isArray(v)) for (const x of v) walk(x, part, keys);
    else if (v && typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype) {
      for (const [k, x] of Object.entries(v)) if (k !== 'lora') walk(x, part, keys);
    }
  };
  if (opts.whisper ?? true) walk(model.whisper.p, 'whisper', keyOf(a.specs.whisper));
  const sk = keyOf(a.specs.salmonn);
  walk(model.qformer.p, 'salmonn', sk);
  walk(model.p, 'salmonn', sk);
  walk(model.llama.p, 'llama', keyOf(a.specs.llama));
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Training

export interface PretrainOptions {
  cfg: PretrainConfig;
  /** Opens paths relative to the working directory (Salmonn.load). */
  dir: Directory;
  fs: TrainFs;
  target: Target;
  resume?: boolean;
  /** Stop after this many steps in total (checkpoint written). */
  maxSteps?: number;
  /** Trains a SentencePiece BPE tokenizer.model on the texts (required unless data.tokenizer_model is set). */
  trainTokenizer?: (texts: string[], vocabSize: number) => Uint8Array;
  onProgress?: (p: { step: number; steps: number; loss: number; lr: number; rate: number; etaS: number }) => void;
  info?: (m: string) => void;
  warn?: (m: string) => void;
}

export interface PretrainStepRecord {
  type: 'step';
  step: number;
  /** The task of a single-task step, 'all' with task_mix. */
  task: string;
  loss: number;
  /** Mean CE per task's sub-batch. */
  tasks: Record<string, number>;
  lr: number;
  grad_norm: number;
  time_s: number;
}

export interface PretrainResult {
  steps: number;
  losses: number[];
  /** Mean loss over the last min(50, steps) steps of this run. */
  finalLoss: number;
  seconds: number;
}

/** Linear warmup from 0 to lr over warmup_steps, then cosine to min_lr at `steps`. */
export function pretrainLr(step: number, o: PretrainConfig['optim'], steps: number): number {
  if (step < o.warmup_steps) return (o.lr * (step + 1)) / o.warmup_steps;
  const t = Math.min(1, (step - o.warmup_steps) / Math.max(1, steps - o.warmup_steps));
  return o.min_lr + 0.5 * (o.lr - o.min_lr) * (1 + Math.cos(Math.PI * t));
}

interface Clip {
  path: string;
  /** Whisper log-mel [80, frames] (trained Whisper) or the frozen Whisper's output [frames / 2, d]. */
  logmel: Float32Array;
  whisperOut: Float32Array | null;
  /** Frozen BEATs output [tokens, dim]. */
  beats: Float32Array;
  beatsTokens: number;
}

interface RunState {
  version: 1;
  step: number;
  loader: LoaderState;
  rng: { task: number[]; prompt: number[] };
  seconds: number;
}

function streamRng(seed: number, k: number): Rng {
  return new Rng((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(k + 11, 0x85ebca77)) >>> 0);
}

async function readJsonText(fs: TrainFs, path: string): Promise<string> {
  return new TextDecoder().decode(await fs.read(path));
}

/** Every text the tokenizer must cover: template pieces, all instructions and targets. */
export function tokenizerCorpus(template: string, promptFiles: string[], targets: string[]): string[] {
  const texts = new Set<string>(['USER: ', '\nASSISTANT:', '<Speech>', '</Speech>', template.replace('{}', '')]);
  for (const t of promptFiles) {
    const o = JSON.parse(t) as Record<string, string | string[]>;
    for (const v of Object.values(o)) for (const s of Array.isArray(v) ? v : [v]) texts.add(s);
  }
  for (const t of targets) texts.add(t);
  return [...texts];
}

export class Pretrainer {
  readonly cfg: PretrainConfig;
  model!: Salmonn;
  params: NamedParam[] = [];
  private opt!: AdamW;
  private clips: Clip[] = [];
  private anns: Annotation[] = [];
  /** task -> indices into anns (all.json holds every clip x task). */
  private byTask = new Map<string, number[]>();
  private clipIndex = new Map<string, number>();
  private prompts!: PromptDict;
  private tasks: string[] = [];
  private step = 0;
  private seconds = 0;
  private loader!: InfiniteLoader;
  private rngTask!: Rng;
  private rngPrompt!: Rng;
  private frozenHost!: DemoWeights;
  private files!: LayoutFiles;

  constructor(readonly o: PretrainOptions) {
    this.cfg = o.cfg;
  }

  private get fs(): TrainFs {
    return this.o.fs;
  }
  private info(m: string): void {
    this.o.info?.(m);
  }

  /** Initialises (or reloads) the model files, loads them with Salmonn.load in f32 and caches the features. */
  async setup(): Promise<void> {
    const { cfg, fs } = this;
    const out = cfg.output_dir;
    const trainText = await readJsonText(fs, cfg.data.prompt_path);
    const testText = await readJsonText(fs, cfg.data.test_prompt_path);
    const maskText = await readJsonText(fs, cfg.data.mask_prompt_path);
    this.prompts = parsePromptDict(trainText, cfg.data.prompt_path, cfg.model.prompt_template);
    this.anns = parseAnnotations(await readJsonText(fs, cfg.data.train_ann_path), cfg.data.train_ann_path);
    for (let i = 0; i < this.anns.length; i++) {
      const a = this.anns[i];
      if (!this.prompts.has(a.task)) throw new FormatError(cfg.data.train_ann_path, `task '${a.task}' of '${a.id}' has no instruction in ${cfg.data.prompt_path}`);
      if (!this.byTask.has(a.task)) this.byTask.set(a.task, []);
      this.byTask.get(a.task)!.push(i);
    }
    this.tasks = [...this.byTask.keys()].sort();
    const decodeYaml = demoDecodeConfig(cfg);
    const statePath = fs.join(cfg.run_dir, 'state.json');
    const prev = this.o.resume ? await fs.readIfExists(statePath) : null;
    if (this.o.resume && !prev) throw new AhamaskError(`--resume: no ${statePath} (nothing to resume)`);
    let tokenizerModel: Uint8Array;
    if (prev) {
      tokenizerModel = await fs.read(fs.join(out, 'vicuna', 'tokenizer.model'));
    } else if (cfg.data.tokenizer_model) {
      tokenizerModel = await fs.read(cfg.data.tokenizer_model);
    } else {
      if (!this.o.trainTokenizer) throw new AhamaskError('pretrain: no tokenizer trainer and no data.tokenizer_model');
      tokenizerModel = this.o.trainTokenizer(tokenizerCorpus(cfg.model.prompt_template, [trainText, testText, maskText], this.anns.map((a) => a.text)), cfg.model.llama.vocab_size);
    }
    this.files = { tokenizerModel, decodeConfigYaml: decodeYaml, prompts: { train: trainText, test: testText, mask: maskText } };
    // the LLM's vocabulary is the tokenizer's (BPE may stop below the requested size when the corpus runs out of pairs)
    const vs = LlamaTokenizer.fromBytes(tokenizerModel, { file: 'tokenizer.model' }).vocabSize;
    if (vs !== cfg.model.llama.vocab_size) {
      this.info(`the tokenizer has ${vs} pieces: vocab_size ${cfg.model.llama.vocab_size} -> ${vs}`);
      cfg.model.llama.vocab_size = vs;
    }
    const decode = parseDecodeConfig(decodeYaml, { file: fs.join(out, 'decode_config.yaml'), cwd: '' });
    const configs = demoSalmonnConfigs(cfg.model, decode);
    // the frozen parts (BEATs, LoRA) and the initial values come from the seed; on resume the f32 master
    // weights of the trained parts replace them below
    this.frozenHost = initDemoWeights(configs, cfg.seed, { whisperPassThrough: !cfg.model.whisper.trainable });
    if (!prev) {
      await writeDemoLayout(fs, out, cfg.model, this.frozenHost, this.files, 'float32');
      await fs.writeAtomic(fs.join(cfg.run_dir, 'log.jsonl'), '');
    }
    this.model = await Salmonn.load({ model: decode.model, fs: this.o.dir, target: this.o.target, weightDType: 'f32', mask: null, cwd: '', warn: this.o.warn });
    this.params = trainableParams(this.model, { whisper: cfg.model.whisper.trainable });
    for (const p of this.params) requiresGrad(p.t);
    const o = cfg.optim;
    // groups: (speech adapter | LLM) x (decay | no decay); the adapter's learning rate is scaled by adapter_lr_scale
    const group = (adapter: boolean, decay: boolean) => ({
      params: this.params.filter((p) => (p.part !== 'llama') === adapter && p.decay === decay).map((p) => p.t),
      options: { weightDecay: decay ? o.weight_decay : 0 },
    });
    this.opt = new AdamW([group(true, true), group(true, false), group(false, true), group(false, false)], { lr: o.lr, betas: [0.9, o.beta2], eps: 1e-8 });
    this.loader = new InfiniteLoader(Math.max(...[...this.byTask.values()].map((v) => v.length)), cfg.batch_size, streamRng(cfg.seed, 1));
    this.rngTask = streamRng(cfg.seed, 2);
    this.rngPrompt = streamRng(cfg.seed, 3);
    if (prev) await this.restore(JSON.parse(new TextDecoder().decode(prev)) as RunState);
    await this.cacheFeatures();
  }

  /** Per clip: Whisper log-mel (host) and the frozen BEATs output (computed once on the target). */
  private async cacheFeatures(): Promise<void> {
    const paths = [...new Set(this.anns.map((a) => a.path))];
    const cachePath = this.fs.join(this.cfg.run_dir, 'features.safetensors');
    if (!this.cfg.model.whisper.trainable && (await this.loadFeatures(cachePath, paths))) return;
    const win = this.model.whisperWindow;
    const t0 = Date.now();
    for (const p of paths) {
      const ann = this.anns.find((a) => a.path === p)!;
      const { wave } = await loadEntryAudio(this.fs, ann);
      const logmel = whisperLogMel(wave, win);
      const fb = beatsFbank(wave);
      const b = noGrad(() => {
        const x = fromHost(fb.data, [1, fb.frames, 128], 'f32', this.o.target);
        const y = this.model.encodeBeats(x);
        x.dispose();
        return y;
      });
      const data = (await b.data()) as Float32Array;
      const beatsTokens = b.shape[1];
      b.dispose();
      this.clipIndex.set(p, this.clips.length);
      this.clips.push({ path: p, logmel, whisperOut: null, beats: Float32Array.from(data), beatsTokens });
    }
    if (!this.cfg.model.whisper.trainable) {
      // the frozen Whisper's outputs, 16 clips at a time (each clip is padded to the window on its own, so the
      // batch does not change them)
      const F = win.nbMaxFrames;
      for (let s = 0; s < this.clips.length; s += 16) {
        const group = this.clips.slice(s, s + 16);
        const mel = new Float32Array(group.length * WHISPER_N_MELS * F);
        group.forEach((c, b) => mel.set(c.logmel, b * WHISPER_N_MELS * F));
        const y = noGrad(() => {
          const x = fromHost(mel, [group.length, WHISPER_N_MELS, F], 'f32', this.o.target);
          const o = this.model.encodeWhisper(x);
          x.dispose();
          return o;
        });
        const host = (await y.data()) as Float32Array;
        const per = y.shape[1] * y.shape[2];
        y.dispose();
        group.forEach((c, b) => {
          c.whisperOut = Float32Array.from(host.subarray(b * per, (b + 1) * per));
          c.logmel = new Float32Array(0);
        });
      }
      // a resume reads them back instead of recomputing (frozen encoders, same files, same weights)
      const t = new Map<string, TensorValue>();
      this.clips.forEach((c, i) => {
        t.set(`w.${i}`, new TensorValue('f32', [c.whisperOut!.length], c.whisperOut!));
        t.set(`b.${i}`, new TensorValue('f32', [c.beats.length], c.beats));
      });
      await this.fs.writeAtomic(cachePath, encodeSafetensors(t, { paths: JSON.stringify(paths), tokens: JSON.stringify(this.clips.map((c) => c.beatsTokens)), encoders: this.encodersKey() }));
    }
    this.info(`features of ${paths.length} clips cached in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  }

  /** What the cached encoder outputs depend on: the seed and the frozen encoders' shapes (their init follows). */
  private encodersKey(): string {
    const m = this.cfg.model;
    return JSON.stringify({ seed: this.cfg.seed, whisper: m.whisper, beats: m.beats, v: 1 });
  }

  private async loadFeatures(path: string, paths: string[]): Promise<boolean> {
    const bytes = await this.fs.readIfExists(path);
    if (!bytes) return false;
    const f = await openSafetensors(new MemorySource(bytes, path));
    if (f.metadata.paths !== JSON.stringify(paths) || f.metadata.encoders !== this.encodersKey()) return false;
    const tokens = JSON.parse(f.metadata.tokens) as number[];
    for (let i = 0; i < paths.length; i++) {
      this.clipIndex.set(paths[i], i);
      this.clips.push({ path: paths[i], logmel: new Float32Array(0), whisperOut: await f.tensors.get(`w.${i}`)!.toFloat32(), beats: await f.tensors.get(`b.${i}`)!.toFloat32(), beatsTokens: tokens[i] });
    }
    this.info(`features of ${paths.length} clips read from ${path}`);
    return true;
  }

  private async restore(st: RunState): Promise<void> {
    const path = this.fs.join(this.cfg.run_dir, 'weights.safetensors');
    const f = await openSafetensors(new MemorySource(await this.fs.read(path), path));
    const optPath = this.fs.join(this.cfg.run_dir, 'optimizer.safetensors');
    const g = await openSafetensors(new MemorySource(await this.fs.read(optPath), optPath));
    const ps = this.opt.params;
    const byT = new Map(this.params.map((p) => [p.t, p]));
    const params: ({ step: number; shape: number[]; buffers: Record<string, number[]> } | null)[] = [];
    for (const t of ps) {
      const p = byT.get(t)!;
      const w = f.tensors.get(p.key);
      if (!w) throw new FormatError(path, `missing '${p.key}'`);
      const host = await w.toFloat32();
      noGrad(() => {
        const src = fromHost(host, t.shape, 'f32', this.o.target);
        assign(t, src);
        src.dispose();
      });
      const m = g.tensors.get(`exp_avg.${p.key}`), v = g.tensors.get(`exp_avg_sq.${p.key}`);
      // a parameter no gradient reaches (the Q-Former's self-attention q/k with one query token) has no state
      if (!m || !v) {
        params.push(null);
        continue;
      }
      params.push({ step: st.step, shape: [...t.shape], buffers: { expAvg: (await m.toFloat32()) as unknown as number[], expAvgSq: (await v.toFloat32()) as unknown as number[] } });
    }
    this.opt.importState({ type: 'AdamW', lr: pretrainLr(st.step, this.cfg.optim, this.cfg.steps), params });
    this.setLr(pretrainLr(st.step, this.cfg.optim, this.cfg.steps));
    this.loader.setState(st.loader);
    this.rngTask.setState(st.rng.task);
    this.rngPrompt.setState(st.rng.prompt);
    this.step = st.step;
    this.seconds = st.seconds;
    this.info(`resumed at step ${st.step}`);
  }

  /**
   * One training batch on the tape: Whisper over the cached log-mels, ln_speech ++ zero-padded ln_audio(BEATs)
   * (each clip's BEATs tokens masked to its own length, = Salmonn.fuse per clip), the window Q-Former, the
   * projection, then [BOS] prompt-before speech prompt-after text</s> through the LLM; mean CE on the text.
   */
  lossOf(clipIdx: number[], prompt: string, texts: string[]): { loss: Tensor; release: () => void } {
    const m = this.model;
    const target = this.o.target;
    const B = clipIdx.length;
    const win = m.whisperWindow;
    const tok = m.tokenizer;
    const d = m.configs.llama.hidden_size;
    const ps = promptIds(tok, prompt);
    const t = tokenizeTargets(tok, texts, this.cfg.model.end_sym, 300);
    const T = t.length;
    const Ta = Math.max(...clipIdx.map((i) => this.clips[i].beatsTokens));
    const De = m.configs.beats!.encoder_embed_dim;
    const frozenW = !this.cfg.model.whisper.trainable;
    const Tw = m.configs.whisper.max_source_positions, Dw = m.configs.whisper.d_model;
    const logmel = new Float32Array(frozenW ? B * Tw * Dw : B * WHISPER_N_MELS * win.nbMaxFrames);
    const beats = new Float32Array(B * Ta * De);
    const beatsKeep = new Float32Array(B * Ta);
    clipIdx.forEach((ci, b) => {
      const c = this.clips[ci];
      if (frozenW) logmel.set(c.whisperOut!, b * Tw * Dw);
      else logmel.set(c.logmel, b * c.logmel.length);
      beats.set(c.beats, b * Ta * De);
      beatsKeep.fill(1, b * Ta, b * Ta + c.beatsTokens);
    });
    const tailIds = new Int32Array(B * (ps.after.length + T));
    const tailKeep = new Float32Array(B * (ps.after.length + T));
    const tg = new Int32Array(B * T).fill(IGNORE_INDEX);
    const na = ps.after.length;
    for (let b = 0; b < B; b++) {
      tailIds.set(ps.after, b * (na + T));
      tailKeep.fill(1, b * (na + T), b * (na + T) + na);
      for (let j = 0; j < T; j++) {
        const on = t.attention[b][j] === 1;
        tailIds[b * (na + T) + na + j] = on ? t.ids[b][j] : 0;
        tailKeep[b * (na + T) + na + j] = on ? 1 : 0;
        if (on) tg[b * T + j] = t.ids[b][j];
      }
    }
    // every upload before the first dispatch
    const melT = fromHost(logmel, frozenW ? [B, Tw, Dw] : [B, WHISPER_N_MELS, win.nbMaxFrames], 'f32', target);
    const beatsT = fromHost(beats, [B, Ta, De], 'f32', target);
    const keepA = fromHost(beatsKeep, [B, Ta, 1], 'f32', target);
    const keepT = fromHost(tailKeep, [B, na + T, 1], 'f32', target);
    const targets = fromHost(tg, [B * T], 'i32', target);
    const release = (): void => {
      for (const x of [melT, beatsT, keepA, keepT, targets]) x.dispose();
    };
    const loss = tidy(() => {
      const w = frozenW ? melT : m.encodeWhisper(melT);
      const speech = layerNorm(w, m.p.lnSpeech.w, m.p.lnSpeech.b, m.p.lnSpeech.eps);
      const ln = m.p.lnAudio!;
      let audio = mul(layerNorm(beatsT, ln.w, ln.b, ln.eps), keepA);
      const Ts = speech.shape[1];
      if (Ta < Ts) audio = concat([audio, zeros([B, Ts - Ta, De], { device: target })], 1);
      else if (Ta > Ts) audio = audio.slice(1, 0, Ts); // never for clips within the window
      const fused = concat([speech, audio], 2);
      const sp = m.project(m.runQformer(fused));
      const rep = (x: number[]): number[] => Array.from({ length: B }, () => x).flat();
      const head = m.llama.embed(rep([tok.bosId, ...ps.before]), [B, 1 + ps.before.length]);
      const tail = mul(m.llama.embed(tailIds, [B, na + T]), keepT);
      const embeds = concat([head, sp, tail], 1);
      const S = embeds.shape[1];
      const h = m.llama.hidden(embeds, {});
      const logits = m.llama.lmHead(h.slice(1, S - 1 - T, S - 1)).reshape([B * T, -1]);
      return crossEntropy(logits, targets, IGNORE_INDEX);
    });
    return { loss, release };
  }

  private setLr(lr: number): void {
    this.opt.lr = lr;
    this.opt.groups[0].options.lr = this.opt.groups[1].options.lr = lr * this.cfg.optim.adapter_lr_scale;
  }

  /** The next batch: a task (uniform), an instruction of it, and batch_size of its items. */
  /**
   * The next step's sub-batches. task_mix (default): every task each step, batch_size / tasks items each (different
   * clips), one instruction per sub-batch; otherwise one task (uniform) with batch_size items.
   */
  private nextBatches(): { task: string; prompt: string; clipIdx: number[]; texts: string[] }[] {
    const idx = this.loader.next();
    const tasks = this.cfg.task_mix ? this.tasks : [this.tasks[randInt(this.rngTask, this.tasks.length)]];
    const per = Math.floor(idx.length / tasks.length);
    return tasks.map((task, j) => {
      const list = this.prompts.get(task)!;
      const prompt = list[randInt(this.rngPrompt, list.length)];
      const items = this.byTask.get(task)!;
      const pick = idx.slice(j * per, (j + 1) * per).map((k) => items[k % items.length]);
      return { task, prompt, clipIdx: pick.map((i) => this.clipIndex.get(this.anns[i].path)!), texts: pick.map((i) => this.anns[i].text) };
    });
  }

  async train(): Promise<PretrainResult> {
    const { cfg } = this;
    const end = Math.min(cfg.steps, this.o.maxSteps ?? cfg.steps);
    const losses: number[] = [];
    const meter = new RateMeter();
    const logPath = this.fs.join(cfg.run_dir, 'log.jsonl');
    const params = this.opt.params;
    while (this.step < end) {
      const t0 = Date.now();
      const lr = pretrainLr(this.step, cfg.optim, cfg.steps);
      this.setLr(lr);
      // the mean of the sub-batches' mean CE (each task weighs the same); gradients accumulate over them
      const bs = this.nextBatches();
      const perTask: Record<string, number> = {};
      let sum = 0;
      for (const b of bs) {
        const { loss, release } = this.lossOf(b.clipIdx, b.prompt, b.texts);
        const seed = fromHost([1 / bs.length], [], 'f32', this.o.target);
        backward(loss, seed);
        seed.dispose();
        const [lv] = await dataOf([loss]);
        loss.dispose();
        release();
        perTask[b.task] = lv[0];
        sum += lv[0] / bs.length;
      }
      const lv = [sum];
      const gn = await clipGrads(params, cfg.optim.grad_clip);
      this.opt.step();
      this.opt.zeroGrad();
      const l = lv[0];
      if (!Number.isFinite(l)) throw new AhamaskError(`pretrain: the loss is ${l} at step ${this.step}`);
      losses.push(l);
      const dt = (Date.now() - t0) / 1000;
      this.seconds += dt;
      const rec: PretrainStepRecord = { type: 'step', step: this.step, task: bs.length === 1 ? bs[0].task : 'all', loss: l, tasks: perTask, lr, grad_norm: gn, time_s: dt };
      await this.fs.append(logPath, jsonLine(rec));
      this.step++;
      const rate = meter.update(dt);
      this.o.onProgress?.({ step: this.step, steps: cfg.steps, loss: l, lr, rate, etaS: rate > 0 ? (end - this.step) / rate : NaN });
      if (cfg.save_every > 0 && this.step % cfg.save_every === 0 && this.step < end) await this.save(false);
    }
    await this.save(this.step >= cfg.steps);
    const tail = losses.slice(-Math.min(50, losses.length));
    return { steps: this.step, losses, finalLoss: tail.reduce((a, x) => a + x, 0) / Math.max(1, tail.length), seconds: this.seconds };
  }

  /** The trained values as checkpoint tensors (f32). */
  async currentWeights(): Promise<DemoWeights> {
    const w: DemoWeights = { whisper: new Map(this.frozenHost.whisper), beats: this.frozenHost.beats, salmonn: new Map(this.frozenHost.salmonn), llama: new Map(this.frozenHost.llama) };
    const host = await dataOf(this.params.map((p) => p.t));
    this.params.forEach((p, i) => w[p.part].set(p.key, new TensorValue('f32', [...p.t.shape], Float32Array.from(host[i] as Float32Array))));
    return w;
  }

  /** Writes the checkpoint layout (LLM f16) and the exact-resume state (f32 masters, AdamW moments, RNGs). */
  async save(final: boolean): Promise<void> {
    const { cfg, fs } = this;
    const w = await this.currentWeights();
    await writeDemoLayout(fs, cfg.output_dir, cfg.model, w, this.files, 'float16');
    const masters = new Map<string, TensorValue>();
    for (const p of this.params) masters.set(p.key, w[p.part].get(p.key)!);
    await fs.writeAtomic(fs.join(cfg.run_dir, 'weights.safetensors'), encodeSafetensors(masters));
    const moments = new Map<string, TensorValue>();
    const ts: Tensor[] = [], names: string[] = [];
    for (const p of this.params) {
      const st = this.opt.state.get(p.t);
      if (!st) continue;
      ts.push(st.buffers.expAvg, st.buffers.expAvgSq);
      names.push(`exp_avg.${p.key}`, `exp_avg_sq.${p.key}`);
    }
    const hs = await dataOf(ts);
    ts.forEach((t, i) => moments.set(names[i], new TensorValue('f32', [...t.shape], Float32Array.from(hs[i] as Float32Array))));
    await fs.writeAtomic(fs.join(cfg.run_dir, 'optimizer.safetensors'), encodeSafetensors(moments));
    const st: RunState = { version: 1, step: this.step, loader: this.loader.getState(), rng: { task: this.rngTask.getState(), prompt: this.rngPrompt.getState() }, seconds: this.seconds };
    await fs.writeAtomic(fs.join(cfg.run_dir, 'state.json'), JSON.stringify(st));
    this.info(`${final ? 'final' : 'checkpoint'}: step ${this.step}, ${cfg.output_dir} and ${cfg.run_dir}/ written`);
  }

  dispose(): void {
    this.opt?.dispose();
    this.model?.dispose();
  }
}

/** torch clip_grad_norm_ over the parameters' gradients (one readback); returns the norm before clipping. */
async function clipGrads(params: Tensor[], maxNorm: number): Promise<number> {
  const gs = params.filter((p) => p.grad).map((p) => p.grad!);
  const sq = noGrad(() => gs.map((g) => tidy(() => sum(mul(g, g).reshape([-1]), 0))));
  const host = await dataOf(sq);
  for (const s of sq) s.dispose();
  let total = 0;
  for (const h of host) total += h[0];
  const norm = Math.sqrt(total);
  const coef = maxNorm / (norm + 1e-6);
  if (maxNorm > 0 && coef < 1) {
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
