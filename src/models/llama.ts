// LLaMA / Vicuna decoder (HF transformers 4.28 LlamaForCausalLM, spec §2.9) with SALMONN's LoRA on q/v, the
// AHAMask per-head multiplier on softmax·V before o_proj, and a preallocated KV cache (beam reorder in place).
import { ShapeError } from '../errors.js';
import type { LlamaConfig } from '../io/config.js';
import type { WeightMap } from '../io/keymaps.js';
import { attention, gather, kvAppend, kvReorder, linear, mul, rmsNorm, rope } from '../ops/index.js';
import { QuantizedWeight, quantizeWeight, weightBytes, type LlmWeightFormat } from '../ops/quant.js';
import { Tensor, empty, fromHost, keep, tidy } from '../tensor/tensor.js';
import { checkpoint } from '../autograd/checkpoint.js';
import { withLora, type LoraAdapter } from './lora.js';
import { mergeHeads, runLayers, splitHeads } from './nn.js';
import { Loader, disposeTree, type Target, type WeightDType } from './weights.js';

/** A linear weight of the decoder: f16/f32, or quantized (int8 / q4, src/ops/quant.ts). */
export type LlamaWeight = Tensor | QuantizedWeight;

export interface LlamaLayer {
  q: LlamaWeight;
  k: LlamaWeight;
  v: LlamaWeight;
  o: LlamaWeight;
  gate: LlamaWeight;
  up: LlamaWeight;
  down: LlamaWeight;
  ln1: Tensor;
  ln2: Tensor;
  lora: Record<string, LoraAdapter>;
}

export interface LlamaParams {
  embed: Tensor;
  layers: LlamaLayer[];
  norm: Tensor;
  lmHead: LlamaWeight;
}

/** Per-layer head multipliers: one [H] or [B, H] f32 tensor per layer (null entries: no mask on that layer). */
export type HeadMasks = Array<Tensor | null> | null;

/** Preallocated key/value cache: per layer [B, H, capacity, D]. */
export class KVCache {
  length = 0;
  constructor(readonly k: Tensor[], readonly v: Tensor[], readonly capacity: number) {}

  static create(layers: number, batch: number, heads: number, capacity: number, headDim: number, target: Target): KVCache {
    // one buffer per layer: refuse before allocating what the target cannot hold (names the sizes and the limit)
    const bytes = batch * heads * capacity * headDim * 4;
    const limit = target === 'cpu' ? 2 ** 31 - 1 : target.limits.maxBufferSize;
    if (!Number.isSafeInteger(bytes) || bytes > limit) {
      throw new ShapeError(`KV cache of ${batch} row(s) x ${heads} heads x ${capacity} positions x ${headDim} needs ${bytes} bytes per layer, more than ${target === 'cpu' ? "the CPU backend's largest tensor" : "the adapter's maxBufferSize"} (${limit}); use fewer beams or a smaller max_new_tokens`);
    }
    const mk = (): Tensor[] => Array.from({ length: layers }, () => empty([batch, heads, capacity, headDim], 'f32', target));
    return new KVCache(mk(), mk(), capacity);
  }
  get batch(): number {
    return this.k[0]?.shape[0] ?? 0;
  }
  /** cache[b] = cache[idx[b]] for every layer (beam search), in place. */
  reorder(idx: number[]): void {
    for (const t of [...this.k, ...this.v]) kvReorder(t, idx, this.length).dispose();
  }
  dispose(): void {
    for (const t of [...this.k, ...this.v]) t.dispose();
  }
}

export class Llama {
  /** 0..n-1 (i32) on the GPU, uploaded once and grown by doubling: rope positions are views of it. */
  private arange: Tensor | null = null;

  constructor(readonly cfg: LlamaConfig, readonly p: LlamaParams) {
    if (cfg.num_key_value_heads !== cfg.num_attention_heads) throw new ShapeError('LLaMA: grouped-query attention is not supported (num_key_value_heads != num_attention_heads)');
  }

  get headDim(): number {
    return this.cfg.hidden_size / this.cfg.num_attention_heads;
  }
  get vocabSize(): number {
    return this.p.lmHead.shape[0];
  }
  /** How the linear weights are held (fp16: checkpoint precision). */
  get weightFormat(): LlmWeightFormat {
    const q = this.p.layers[0]?.q;
    return q instanceof QuantizedWeight ? q.format : 'fp16';
  }
  get target(): Target {
    return this.p.embed.device ?? 'cpu';
  }

  /**
   * map: validated Vicuna WeightMap (keymaps mapLlama: names without 'model.'); lora: adapters per layer (lora.ts).
   * Matrices keep the checkpoint precision (f16 stays f16 on the GPU) unless `dtype` says otherwise.
   */
  /**
   * `weights`: 'fp16' (default) keeps the linear weights in checkpoint precision; 'int8' quantizes the seven
   * linears of every layer as LLM.int8 (lm_head stays 16-bit, as bitsandbytes' load_in_8bit); 'q4' quantizes
   * them and lm_head to 4-bit groups. Quantized at load from the f16/bf16 shards, tensor by tensor. Embeddings,
   * norms and LoRA are never quantized.
   */
  static async load(map: WeightMap, cfg: LlamaConfig, target: Target, opts: { dtype?: WeightDType; weights?: LlmWeightFormat; lora?: Array<Record<string, LoraAdapter>>; onTensor?: (name: string, bytes: number) => void } = {}): Promise<Llama> {
    const ld = new Loader(map, target, opts.dtype ?? 'keep', opts.onTensor);
    const fmt = opts.weights ?? 'fp16';
    const lin = async (name: string, quantize = fmt !== 'fp16'): Promise<LlamaWeight> => {
      if (!quantize || fmt === 'fp16') return ld.tensor(name);
      const st = ld.stored(name);
      const q = quantizeWeight(await st.toFloat32(), st.shape, fmt, target);
      q.packed.name = name;
      opts.onTensor?.(name, weightBytes('fp16', st.shape[0], st.shape[1]));
      return q;
    };
    const embed = await ld.tensor('embed_tokens.weight');
    const layers: LlamaLayer[] = [];
    for (let i = 0; i < cfg.num_hidden_layers; i++) {
      const L = `layers.${i}.`;
      layers.push({
        q: await lin(L + 'self_attn.q_proj.weight'),
        k: await lin(L + 'self_attn.k_proj.weight'),
        v: await lin(L + 'self_attn.v_proj.weight'),
        o: await lin(L + 'self_attn.o_proj.weight'),
        gate: await lin(L + 'mlp.gate_proj.weight'),
        up: await lin(L + 'mlp.up_proj.weight'),
        down: await lin(L + 'mlp.down_proj.weight'),
        ln1: await ld.tensor(L + 'input_layernorm.weight', 'f32'),
        ln2: await ld.tensor(L + 'post_attention_layernorm.weight', 'f32'),
        lora: opts.lora?.[i] ?? {},
      });
    }
    const norm = await ld.tensor('norm.weight', 'f32');
    const lmHead = map.has('lm_head.weight') ? await lin('lm_head.weight', fmt === 'q4') : embed;
    return new Llama(cfg, { embed, layers, norm, lmHead });
  }

  /** Token embeddings [B, T, d] (f32) of ids given row-major for shape [B, T]. */
  embed(ids: ArrayLike<number>, shape: [number, number]): Tensor {
    const [B, T] = shape;
    if (ids.length !== B * T) throw new ShapeError(`embed: ${ids.length} ids for shape [${B}, ${T}]`);
    const V = this.p.embed.shape[0];
    for (let i = 0; i < ids.length; i++) if (!(ids[i] >= 0 && ids[i] < V)) throw new ShapeError(`embed: token id ${ids[i]} is outside the embedding table [0, ${V})`);
    return tidy(() => gather(this.p.embed, fromHost(Int32Array.from(ids), [B * T], 'i32', 'cpu')).reshape([B, T, this.cfg.hidden_size]));
  }

  /**
   * Positions start..start+T-1 (i32 [T]) on the target: on a GPU a view of a cached arange, so a decode step
   * uploads nothing (each upload would also end the recorded command buffer: one submit per rope call).
   */
  private positions(start: number, T: number): Tensor {
    const target = this.target;
    if (target === 'cpu') return fromHost(Int32Array.from({ length: T }, (_, i) => start + i), [T], 'i32', 'cpu');
    if (!this.arange || this.arange.size < start + T) {
      let n = Math.max(1024, this.arange?.size ?? 0);
      while (n < start + T) n *= 2;
      this.arange?.dispose();
      this.arange = keep(fromHost(Int32Array.from({ length: n }, (_, i) => i), [n], 'i32', target));
    }
    return this.arange.slice(0, start, start + T);
  }

  createCache(batch: number, capacity: number): KVCache {
    const c = this.cfg;
    return KVCache.create(c.num_hidden_layers, batch, c.num_attention_heads, capacity, this.headDim, this.target);
  }

  /**
   * Decoder forward over inputs_embeds x [B, T, d] at positions start..start+T-1 (start = cache.length with a cache).
   * Returns the final hidden states [B, T, d] (after the final RMSNorm).
   */
  hidden(x: Tensor, opts: { cache?: KVCache | null; headMasks?: HeadMasks; cacheRows?: number; checkpointLayers?: boolean } = {}): Tensor {
    const { cfg, p } = this;
    const [B, T, d] = x.shape;
    if (x.rank !== 3 || d !== cfg.hidden_size) throw new ShapeError(`LLaMA: inputs_embeds must be [B, T, ${cfg.hidden_size}], got [${x.shape}]`);
    const cache = opts.cache ?? null;
    const start = cache ? cache.length : 0;
    if (cache && start + T > cache.capacity) throw new ShapeError(`LLaMA: KV cache holds ${cache.capacity} positions, ${start + T} needed`);
    const H = cfg.num_attention_heads;
    const masks = opts.headMasks ?? null;
    if (masks && masks.length !== cfg.num_hidden_layers) throw new ShapeError(`LLaMA: ${masks.length} head masks for ${cfg.num_hidden_layers} layers`);
    const pos0 = this.positions(start, T);
    const ropeOpts = { maxPosition: start + T - 1 };
    const ckpt = !!opts.checkpointLayers && !cache;
    const layer = (x: Tensor, L: LlamaLayer, li: number, mask: Tensor | null): Tensor =>
      tidy(() => {
        // a recomputed (checkpointed) layer runs after this call has returned: it takes its own positions view
        const pos = ckpt ? this.positions(start, T) : pos0;
        const h = rmsNorm(x, L.ln1, cfg.rms_norm_eps);
        const q = rope(splitHeads(withLora(h, linear(h, L.q), L.lora.q_proj), H), pos, cfg.rope_theta, ropeOpts);
        const k = rope(splitHeads(withLora(h, linear(h, L.k), L.lora.k_proj), H), pos, cfg.rope_theta, ropeOpts);
        const v = splitHeads(withLora(h, linear(h, L.v), L.lora.v_proj), H);
        let kAll = k, vAll = v;
        if (cache) {
          let ck = cache.k[li], cv = cache.v[li];
          if (opts.cacheRows !== undefined && opts.cacheRows !== ck.shape[0]) {
            ck = ck.slice(0, 0, opts.cacheRows);
            cv = cv.slice(0, 0, opts.cacheRows);
          }
          kAll = kvAppend(ck, k, start);
          vAll = kvAppend(cv, v, start);
        }
        const a = attention(q, kAll, vAll, { causal: true, queryOffset: start, headMask: mask ?? undefined });
        const x1 = linear(mergeHeads(a), L.o, undefined, { residual: x });
        const h2 = rmsNorm(x1, L.ln2, cfg.rms_norm_eps);
        const g = mul(linear(h2, L.gate, undefined, { activation: 'silu' }), linear(h2, L.up));
        return linear(g, L.down, undefined, { residual: x1 });
      });
    // Activation checkpointing (training without a cache): only each layer's input is kept for backward and the
    // layer is recomputed there, so memory holds one layer's activations instead of all of them.
    const out = runLayers(x, p.layers, (x, L, li) => {
      const mask = masks?.[li] ?? null;
      if (!ckpt) return layer(x, L, li, mask);
      return checkpoint((xi: Tensor, mi?: Tensor) => layer(xi, L, li, mi ?? null), mask ? [x, mask] : [x]);
    });
    pos0.dispose();
    if (cache) cache.length = start + T;
    const y = rmsNorm(out, p.norm, cfg.rms_norm_eps);
    if (out !== x) out.dispose();
    return y;
  }

  /** lm_head over hidden states [B, T, d] -> logits [B, T, V] (f32). */
  lmHead(h: Tensor): Tensor {
    return linear(h, this.p.lmHead);
  }

  /** Logits [B, T, V] for every position (no cache). */
  logits(x: Tensor, opts: { headMasks?: HeadMasks } = {}): Tensor {
    const h = this.hidden(x, { headMasks: opts.headMasks });
    const l = this.lmHead(h);
    h.dispose();
    return l;
  }

  /** Runs x through the decoder with the cache and returns the logits of the last position [B, V]. */
  lastLogits(x: Tensor, cache: KVCache, headMasks: HeadMasks, cacheRows?: number): Tensor {
    const h = this.hidden(x, { cache, headMasks, cacheRows });
    const [B, T, d] = h.shape;
    const l = tidy(() => this.lmHead(h.slice(1, T - 1, T).reshape([B, d])));
    h.dispose();
    return l;
  }

  dispose(): void {
    const { lmHead, embed, ...rest } = this.p;
    this.arange?.dispose();
    this.arange = null;
    if (lmHead !== embed) lmHead.dispose();
    embed.dispose();
    disposeTree(rest);
  }
}

/**
 * Per-layer head-mask tensors from multipliers laid out layer-major (L*H, FFN slots already dropped; binary or
 * continuous). `rows` > 1 gives [rows, H] tensors from rows*L*H values (one mask per batch row).
 */
export function headMaskTensors(mult: Float32Array, layers: number, heads: number, target: Target, rows = 1): Array<Tensor> {
  if (mult.length !== rows * layers * heads) throw new ShapeError(`head mask has ${mult.length} values, expected ${rows} x ${layers} x ${heads}`);
  const out: Tensor[] = [];
  for (let l = 0; l < layers; l++) {
    const v = new Float32Array(rows * heads);
    for (let r = 0; r < rows; r++) for (let h = 0; h < heads; h++) v[r * heads + h] = mult[(r * layers + l) * heads + h];
    out.push(fromHost(v, rows === 1 ? [heads] : [rows, heads], 'f32', target));
  }
  return out;
}
