// Key maps: which tensors each model needs from which checkpoint, under which canonical name, with which shape.
// Every missing key is reported at once (one MissingKeysError naming the file); unexpected keys produce a single
// warning. This is the check PyTorch's load_state_dict(strict=False) skips in the original code.
import { MissingKeysError, ShapeError } from '../errors.js';
import type { StoredTensor } from './torch.js';
import type { BeatsConfig, BertConfig, LlamaConfig, SalmonnModelConfig, WhisperConfig, Warn } from './config.js';

export interface KeySpec {
  /** Canonical name the model code asks for. */
  name: string;
  /** Names to look for in the checkpoint, first match wins; the first one is reported when missing. */
  keys: string[];
  /** Expected shape (checked when given). */
  shape?: number[];
  /** Absent is fine (buffers the model recomputes, unused heads). */
  optional?: boolean;
}

export interface KeyMapOptions {
  /** Checkpoint file for messages. */
  file: string;
  /** Receives the one "unexpected keys" warning (default console.warn). */
  warn?: Warn;
}

/** A validated name -> tensor map. `unexpected` lists checkpoint keys nobody asked for (warned once). */
export class WeightMap extends Map<string, StoredTensor> {
  constructor(readonly file: string, readonly unexpected: string[] = []) {
    super();
  }
  /** The tensor under a canonical name; MissingKeysError when absent (e.g. an optional one). */
  need(name: string): StoredTensor {
    const t = this.get(name);
    if (!t) throw new MissingKeysError(this.file, [name]);
    return t;
  }
}

/**
 * Applies `specs` to the tensors of one checkpoint. Keys matching `ignore` are skipped silently; other unused keys
 * give one warning. Missing required keys -> one MissingKeysError listing all of them; wrong shapes -> one
 * ShapeError listing all of them.
 */
export function applyKeyMap(available: Map<string, StoredTensor>, specs: KeySpec[], ignore: RegExp[], opts: KeyMapOptions): WeightMap {
  const used = new Set<string>();
  const missing: string[] = [];
  const badShapes: string[] = [];
  const found: [string, StoredTensor][] = [];
  for (const s of specs) {
    const k = s.keys.find((x) => available.has(x));
    if (k === undefined) {
      if (!s.optional) missing.push(s.keys[0]);
      continue;
    }
    used.add(k);
    const t = available.get(k)!;
    if (s.shape && (t.shape.length !== s.shape.length || t.shape.some((d, i) => d !== s.shape![i]))) {
      badShapes.push(`${k}: expected [${s.shape.join(', ')}], found [${t.shape.join(', ')}]`);
    }
    found.push([s.name, t]);
  }
  if (missing.length) throw new MissingKeysError(opts.file, missing);
  if (badShapes.length) {
    // one line: the first few, then how many more (a config that disagrees with its checkpoint lists hundreds)
    const shown = badShapes.slice(0, 3).join('; ') + (badShapes.length > 3 ? `; ... (${badShapes.length - 3} more)` : '');
    throw new ShapeError(`${opts.file}: ${badShapes.length} tensor(s) with unexpected shapes (does the model's config.json match this checkpoint?): ${shown}`);
  }
  const unexpected = [...available.keys()].filter((k) => !used.has(k) && !ignore.some((r) => r.test(k)));
  if (unexpected.length) {
    const shown = unexpected.slice(0, 20).join(', ') + (unexpected.length > 20 ? `, ... (${unexpected.length - 20} more)` : '');
    (opts.warn ?? ((m: string) => console.warn(`warning: ${m}`)))(`${opts.file}: ${unexpected.length} unexpected key(s) ignored: ${shown}`);
  }
  const out = new WeightMap(opts.file, unexpected);
  for (const [n, t] of found) out.set(n, t);
  return out;
}

function range(n: number): number[] {
  return Array.from({ length: n }, (_, i) => i);
}

// ---------------------------------------------------------------------------------------------------------
// Whisper encoder (HF WhisperModel / WhisperForConditionalGeneration checkpoints)

/** Canonical names: the encoder-relative HF names ('conv1.weight', 'layers.0.self_attn.q_proj.weight', ...). */
export function whisperEncoderSpecs(cfg: WhisperConfig, prefix = 'model.encoder.'): KeySpec[] {
  const d = cfg.d_model, f = cfg.encoder_ffn_dim;
  const alt = (n: string): string[] => [prefix + n, ...['model.encoder.', 'encoder.'].filter((p) => p !== prefix).map((p) => p + n)];
  const s = (name: string, shape: number[]): KeySpec => ({ name, keys: alt(name), shape });
  const specs: KeySpec[] = [
    s('conv1.weight', [d, cfg.num_mel_bins, 3]), s('conv1.bias', [d]),
    s('conv2.weight', [d, d, 3]), s('conv2.bias', [d]),
    s('embed_positions.weight', [cfg.max_source_positions, d]),
  ];
  for (const i of range(cfg.encoder_layers)) {
    const L = `layers.${i}.`;
    specs.push(
      s(L + 'self_attn.q_proj.weight', [d, d]), s(L + 'self_attn.q_proj.bias', [d]),
      s(L + 'self_attn.k_proj.weight', [d, d]),
      s(L + 'self_attn.v_proj.weight', [d, d]), s(L + 'self_attn.v_proj.bias', [d]),
      s(L + 'self_attn.out_proj.weight', [d, d]), s(L + 'self_attn.out_proj.bias', [d]),
      s(L + 'self_attn_layer_norm.weight', [d]), s(L + 'self_attn_layer_norm.bias', [d]),
      s(L + 'fc1.weight', [f, d]), s(L + 'fc1.bias', [f]),
      s(L + 'fc2.weight', [d, f]), s(L + 'fc2.bias', [d]),
      s(L + 'final_layer_norm.weight', [d]), s(L + 'final_layer_norm.bias', [d]),
    );
  }
  specs.push(s('layer_norm.weight', [d]), s('layer_norm.bias', [d]));
  return specs;
}

/** Maps a Whisper checkpoint (keys `model.encoder.*` or `encoder.*`); the decoder and `proj_out` are skipped. */
export function mapWhisperEncoder(tensors: Map<string, StoredTensor>, cfg: WhisperConfig, opts: KeyMapOptions): WeightMap {
  const prefix = [...tensors.keys()].some((k) => k.startsWith('model.encoder.')) ? 'model.encoder.' : 'encoder.';
  return applyKeyMap(tensors, whisperEncoderSpecs(cfg, prefix), [/^(model\.)?decoder\./, /^proj_out\./], opts);
}

// ---------------------------------------------------------------------------------------------------------
// BEATs (torch.load(beats_path)['model'])

/**
 * Canonical names = the BEATs state-dict names; the shared relative-position table is taken from layer 0.
 * `post_extract_proj` exists only when embed_dim != encoder_embed_dim (BEATs sets it to None otherwise, and such
 * checkpoints have no post_extract_proj.* keys).
 */
export function beatsHasPostExtractProj(cfg: Pick<BeatsConfig, 'embed_dim' | 'encoder_embed_dim'>): boolean {
  return cfg.embed_dim !== cfg.encoder_embed_dim;
}

export function beatsSpecs(cfg: BeatsConfig): KeySpec[] {
  const e = cfg.encoder_embed_dim, p = cfg.embed_dim, h = cfg.encoder_attention_heads, f = cfg.encoder_ffn_embed_dim;
  const s = (name: string, shape: number[], optional = false): KeySpec => ({ name, keys: [name], shape, optional });
  const ps = cfg.input_patch_size;
  const specs: KeySpec[] = [
    s('patch_embedding.weight', [p, 1, ps, ps]),
    s('layer_norm.weight', [p]), s('layer_norm.bias', [p]),
    ...(beatsHasPostExtractProj(cfg) ? [s('post_extract_proj.weight', [e, p]), s('post_extract_proj.bias', [e])] : []),
    s('encoder.pos_conv.0.weight_g', [1, 1, cfg.conv_pos]),
    s('encoder.pos_conv.0.weight_v', [e, e / cfg.conv_pos_groups, cfg.conv_pos]),
    s('encoder.pos_conv.0.bias', [e]),
    s('encoder.layer_norm.weight', [e]), s('encoder.layer_norm.bias', [e]),
  ];
  if (cfg.conv_bias) specs.push(s('patch_embedding.bias', [p]));
  for (const i of range(cfg.encoder_layers)) {
    const L = `encoder.layers.${i}.`;
    for (const proj of ['q_proj', 'k_proj', 'v_proj', 'out_proj']) specs.push(s(`${L}self_attn.${proj}.weight`, [e, e]), s(`${L}self_attn.${proj}.bias`, [e]));
    if (cfg.gru_rel_pos) {
      specs.push(s(L + 'self_attn.grep_linear.weight', [8, e / h]), s(L + 'self_attn.grep_linear.bias', [8]), s(L + 'self_attn.grep_a', [1, h, 1, 1]));
    }
    if (cfg.relative_position_embedding && i === 0) specs.push(s(L + 'self_attn.relative_attention_bias.weight', [cfg.num_buckets, h]));
    specs.push(
      s(L + 'self_attn_layer_norm.weight', [e]), s(L + 'self_attn_layer_norm.bias', [e]),
      s(L + 'fc1.weight', [f, e]), s(L + 'fc1.bias', [f]),
      s(L + 'fc2.weight', [e, f]), s(L + 'fc2.bias', [e]),
      s(L + 'final_layer_norm.weight', [e]), s(L + 'final_layer_norm.bias', [e]),
    );
  }
  // the 527-class predictor is present in fine-tuned checkpoints but unused by SALMONN
  specs.push(s('predictor.weight', [cfg.predictor_class, e], true), s('predictor.bias', [cfg.predictor_class], true));
  return specs;
}

export function mapBeats(tensors: Map<string, StoredTensor>, cfg: BeatsConfig, opts: KeyMapOptions): WeightMap {
  return applyKeyMap(tensors, beatsSpecs(cfg), [/^encoder\.layers\.\d+\.self_attn\.relative_attention_bias\.weight$/], opts);
}

// ---------------------------------------------------------------------------------------------------------
// SALMONN checkpoint (torch.load(ckpt)['model']): Q-Former, projections, LayerNorms, LoRA

export interface SalmonnKeyConfig {
  whisperDim: number;
  /** BEATs encoder_embed_dim, or null without BEATs (then no ln_audio and encoder width = whisperDim). */
  beatsDim: number | null;
  qformerHidden: number;
  qformerIntermediate: number;
  /** SALMONN builds a 2-layer Q-Former. */
  qformerLayers: number;
  qformerMaxPositions: number;
  numQueryTokens: number;
  llamaHidden: number;
  llamaLayers: number;
  /** LLaMA head dim (for the optional rotary inv_freq buffers). */
  llamaHeadDim: number;
  lora: boolean;
  loraRank: number;
}

/** Builds the SALMONN key config from the typed configs of the parts. */
export function salmonnKeyConfig(p: { whisper: WhisperConfig; beats: BeatsConfig | null; bert: BertConfig; llama: LlamaConfig; model: Pick<SalmonnModelConfig, 'num_speech_query_token' | 'lora' | 'lora_rank'> }): SalmonnKeyConfig {
  return {
    whisperDim: p.whisper.d_model,
    beatsDim: p.beats ? p.beats.encoder_embed_dim : null,
    qformerHidden: p.bert.hidden_size,
    qformerIntermediate: p.bert.intermediate_size,
    qformerLayers: 2,
    qformerMaxPositions: p.bert.max_position_embeddings,
    numQueryTokens: p.model.num_speech_query_token,
    llamaHidden: p.llama.hidden_size,
    llamaLayers: p.llama.num_hidden_layers,
    llamaHeadDim: p.llama.hidden_size / p.llama.num_attention_heads,
    lora: p.model.lora,
    loraRank: p.model.lora_rank,
  };
}

export const SALMONN_LORA_PREFIX = 'llama_model.base_model.model.model.layers.';

/**
 * Canonical names = the SALMONN state-dict names with the peft adapter suffix removed
 * ('...q_proj.lora_A.weight'); both '...lora_A.default.weight' and '...lora_A.weight' are accepted.
 */
export function salmonnSpecs(c: SalmonnKeyConfig): KeySpec[] {
  const q = c.qformerHidden, im = c.qformerIntermediate, enc = c.whisperDim + (c.beatsDim ?? 0);
  const s = (name: string, shape: number[], optional = false): KeySpec => ({ name, keys: [name], shape, optional });
  const specs: KeySpec[] = [
    s('speech_query_tokens', [1, c.numQueryTokens, q]),
    s('ln_speech.weight', [c.whisperDim]), s('ln_speech.bias', [c.whisperDim]),
  ];
  if (c.beatsDim !== null) specs.push(s('ln_audio.weight', [c.beatsDim]), s('ln_audio.bias', [c.beatsDim]));
  const B = 'speech_Qformer.bert.';
  specs.push(
    s(B + 'embeddings.position_ids', [1, c.qformerMaxPositions], true),
    s(B + 'embeddings.LayerNorm.weight', [q]), s(B + 'embeddings.LayerNorm.bias', [q]),
  );
  for (const l of range(c.qformerLayers)) {
    const L = `${B}encoder.layer.${l}.`;
    for (const n of ['query', 'key', 'value']) specs.push(s(`${L}attention.self.${n}.weight`, [q, q]), s(`${L}attention.self.${n}.bias`, [q]));
    specs.push(
      s(L + 'attention.output.dense.weight', [q, q]), s(L + 'attention.output.dense.bias', [q]),
      s(L + 'attention.output.LayerNorm.weight', [q]), s(L + 'attention.output.LayerNorm.bias', [q]),
      s(L + 'crossattention.self.query.weight', [q, q]), s(L + 'crossattention.self.query.bias', [q]),
      s(L + 'crossattention.self.key.weight', [q, enc]), s(L + 'crossattention.self.key.bias', [q]),
      s(L + 'crossattention.self.value.weight', [q, enc]), s(L + 'crossattention.self.value.bias', [q]),
      s(L + 'crossattention.output.dense.weight', [q, q]), s(L + 'crossattention.output.dense.bias', [q]),
      s(L + 'crossattention.output.LayerNorm.weight', [q]), s(L + 'crossattention.output.LayerNorm.bias', [q]),
      s(L + 'intermediate_query.dense.weight', [im, q]), s(L + 'intermediate_query.dense.bias', [im]),
      s(L + 'output_query.dense.weight', [q, im]), s(L + 'output_query.dense.bias', [q]),
      s(L + 'output_query.LayerNorm.weight', [q]), s(L + 'output_query.LayerNorm.bias', [q]),
    );
  }
  specs.push(s('speech_llama_proj.weight', [c.llamaHidden, q]), s('speech_llama_proj.bias', [c.llamaHidden]));
  if (c.lora) {
    for (const i of range(c.llamaLayers)) {
      const L = `${SALMONN_LORA_PREFIX}${i}.self_attn.`;
      for (const proj of ['q_proj', 'v_proj']) {
        for (const [ab, shape] of [['lora_A', [c.loraRank, c.llamaHidden]], ['lora_B', [c.llamaHidden, c.loraRank]]] as const) {
          const name = `${L}${proj}.${ab}.weight`;
          specs.push({ name, keys: [`${L}${proj}.${ab}.default.weight`, name], shape: [...shape] });
        }
      }
      specs.push(s(`${L}rotary_emb.inv_freq`, [c.llamaHeadDim / 2], true));
    }
  }
  return specs;
}

/** Maps torch.load(ckpt)['model'] of a SALMONN checkpoint. Surviving frozen-module buffers are skipped silently. */
export function mapSalmonn(tensors: Map<string, StoredTensor>, c: SalmonnKeyConfig, opts: KeyMapOptions): WeightMap {
  return applyKeyMap(tensors, salmonnSpecs(c), [
    /^beats\.encoder\.layers\.\d+\.self_attn\.relative_attention_bias\.weight$/,
    /\.rotary_emb\.inv_freq$/,
  ], opts);
}

// ---------------------------------------------------------------------------------------------------------
// Vicuna / LLaMA (HF LlamaForCausalLM)

/** Canonical names: HF names without the leading 'model.' ('embed_tokens.weight', 'layers.0.mlp.up_proj.weight', 'norm.weight', 'lm_head.weight'). */
export function llamaSpecs(cfg: LlamaConfig): KeySpec[] {
  const d = cfg.hidden_size, ff = cfg.intermediate_size, hd = d / cfg.num_attention_heads, kv = cfg.num_key_value_heads * hd;
  const s = (name: string, shape: number[], optional = false): KeySpec => ({ name, keys: [`model.${name}`], shape, optional });
  const specs: KeySpec[] = [s('embed_tokens.weight', [cfg.vocab_size, d])];
  for (const i of range(cfg.num_hidden_layers)) {
    const L = `layers.${i}.`;
    specs.push(
      s(L + 'self_attn.q_proj.weight', [d, d]), s(L + 'self_attn.k_proj.weight', [kv, d]),
      s(L + 'self_attn.v_proj.weight', [kv, d]), s(L + 'self_attn.o_proj.weight', [d, d]),
      s(L + 'mlp.gate_proj.weight', [ff, d]), s(L + 'mlp.up_proj.weight', [ff, d]), s(L + 'mlp.down_proj.weight', [d, ff]),
      s(L + 'input_layernorm.weight', [d]), s(L + 'post_attention_layernorm.weight', [d]),
      s(L + 'self_attn.rotary_emb.inv_freq', [hd / 2], true),
    );
  }
  specs.push(s('norm.weight', [d]));
  specs.push({ name: 'lm_head.weight', keys: ['lm_head.weight'], shape: [cfg.vocab_size, d], optional: cfg.tie_word_embeddings });
  return specs;
}

export function mapLlama(tensors: Map<string, StoredTensor>, cfg: LlamaConfig, opts: KeyMapOptions): WeightMap {
  return applyKeyMap(tensors, llamaSpecs(cfg), [/\.rotary_emb\.inv_freq$/], opts);
}
