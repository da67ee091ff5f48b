// The AHAMask training objective on SALMONN's LLM (spec §6.2): inputs_embeds = [BOS] ++ embed(p_before) ++ speech
// ++ embed(p_after) ++ embed(text + </s>), labels -100 on BOS/prompt/speech/[PAD], mean cross-entropy over the
// target tokens of the batch, with per-row head masks m [B, L*(H+1)] that stay on the autograd tape so the
// gradient reaches the mask logits (and nothing else: the frozen weights never require grad).
import { AhamaskError, ShapeError } from '../errors.js';
import { concat, crossEntropy, mul } from '../ops/index.js';
import { Tensor, fromHost, tidy } from '../tensor/tensor.js';
import type { Device } from '../tensor/device.js';
import { noGrad } from '../autograd/tape.js';
import { promptIds } from '../models/prompt.js';
import { IGNORE_INDEX, tokenizeTargets, type Tokenizer } from './data.js';
import type { SpeechEmbeds } from './cache.js';

export type Target = 'cpu' | Device;

/** What the objective needs from the LLM (models/llama.ts Llama satisfies it). */
export interface MaskableLlm {
  readonly cfg: { num_hidden_layers: number; num_attention_heads: number; hidden_size: number };
  readonly target: Target;
  /** Token embeddings [B, T, d] (f32) of ids given row-major for [B, T]. */
  embed(ids: ArrayLike<number>, shape: [number, number]): Tensor;
  /** Final hidden states [B, T, d] with per-layer head multipliers ([B, H] tensors, may be on the tape). */
  hidden(x: Tensor, opts: { headMasks?: Array<Tensor | null> | null; checkpointLayers?: boolean }): Tensor;
  /** lm_head: [.., d] -> [.., V]. */
  lmHead(h: Tensor): Tensor;
}

export interface TrainItem {
  /** Full prompt text containing <SpeechHere> (template applied). */
  prompt: string;
  /** Target text (without end_sym). */
  text: string;
  speech: SpeechEmbeds;
}

export interface PreparedBatch {
  size: number;
  /** inputs_embeds [B, S, d] (no grad). */
  embeds: Tensor;
  /** Sequence length S = 1 + prefix + T. */
  seqLen: number;
  /** Tokens of BOS + prompt + speech (label -100). */
  prefixLen: number;
  /** Target length T (longest text + </s>). */
  textLen: number;
  /** Shifted targets for logits positions S-1-T .. S-2, row-major [B * T] (i32, -100 on padding). */
  targets: Tensor;
  /** Number of target tokens (the CE denominator). */
  nTargets: number;
  /** Row-major [B, S] labels as the official code builds them (dumps and tests). */
  labels: Int32Array;
}

/** The per-batch loss the trainer differentiates. */
export interface MaskObjective {
  readonly nLayers: number;
  readonly nHeads: number;
  readonly target: Target;
  prepare(items: TrainItem[]): PreparedBatch;
  /** Mean CE over the batch's target tokens (scalar) under head masks m [B, L*(H+1)] (m may be on the tape). */
  ce(batch: PreparedBatch, m: Tensor): Tensor;
  release(batch: PreparedBatch): void;
}

export interface LlmObjectiveOptions {
  /** model.end_sym (default '</s>'). */
  endSym?: string;
  /** model.max_txt_len (default 300 as the AHAMask config). */
  maxTxtLen?: number;
  /** Recompute each decoder layer in backward instead of keeping its activations (default off). */
  checkpointLayers?: boolean;
}

export class LlmMaskObjective implements MaskObjective {
  readonly nLayers: number;
  readonly nHeads: number;
  private readonly endSym: string;
  private readonly maxTxtLen: number;
  private readonly checkpointLayers: boolean;

  constructor(readonly llm: MaskableLlm, readonly tokenizer: Tokenizer & { readonly bosId: number }, opts: LlmObjectiveOptions = {}) {
    this.nLayers = llm.cfg.num_hidden_layers;
    this.nHeads = llm.cfg.num_attention_heads;
    this.endSym = opts.endSym ?? '</s>';
    this.maxTxtLen = opts.maxTxtLen ?? 300;
    this.checkpointLayers = opts.checkpointLayers ?? false;
  }

  get target(): Target {
    return this.llm.target;
  }

  prepare(items: TrainItem[]): PreparedBatch {
    const B = items.length;
    if (B === 0) throw new AhamaskError('empty batch');
    const d = this.llm.cfg.hidden_size;
    const tok = this.tokenizer;
    const ps = items.map((it) => promptIds(tok, it.prompt));
    const nb = ps[0].before.length, na = ps[0].after.length;
    const tokens = items[0].speech.tokens;
    for (let b = 0; b < B; b++) {
      if (ps[b].before.length !== nb || ps[b].after.length !== na) {
        throw new AhamaskError(`prompts of one batch must tokenise to equal lengths (got ${JSON.stringify(ps[0].text)} and ${JSON.stringify(ps[b].text)})`);
      }
      const sp = items[b].speech;
      if (sp.tokens !== tokens || sp.dim !== d) throw new ShapeError(`speech embeddings [${sp.tokens}, ${sp.dim}] do not match [${tokens}, ${d}]`);
    }
    const t = tokenizeTargets(tok, items.map((it) => it.text), this.endSym, this.maxTxtLen);
    const T = t.length;
    const prefixLen = nb + tokens + na;
    const S = 1 + prefixLen + T;
    // ids of the pieces before and after the speech; [PAD] (often outside the embedding table) embeds as zeros
    const head = new Int32Array(B * (1 + nb));
    const tail = new Int32Array(B * (na + T));
    const tailKeep = new Float32Array(B * (na + T));
    const speech = new Float32Array(B * tokens * d);
    for (let b = 0; b < B; b++) {
      head[b * (1 + nb)] = tok.bosId;
      head.set(ps[b].before, b * (1 + nb) + 1);
      tail.set(ps[b].after, b * (na + T));
      tailKeep.fill(1, b * (na + T), b * (na + T) + na);
      for (let j = 0; j < T; j++) {
        const on = t.attention[b][j] === 1;
        tail[b * (na + T) + na + j] = on ? t.ids[b][j] : 0;
        tailKeep[b * (na + T) + na + j] = on ? 1 : 0;
      }
      speech.set(items[b].speech.data, b * tokens * d);
    }
    const target = this.llm.target;
    const labels = new Int32Array(B * S).fill(IGNORE_INDEX);
    const tg = new Int32Array(B * T).fill(IGNORE_INDEX);
    let nTargets = 0;
    for (let b = 0; b < B; b++) {
      for (let j = 0; j < T; j++) {
        if (!t.attention[b][j]) continue;
        labels[b * S + 1 + prefixLen + j] = t.ids[b][j];
        tg[b * T + j] = t.ids[b][j];
        nTargets++;
      }
    }
    // Every upload before the first dispatch (an upload after recorded work ends the command buffer): the
    // targets, the keep mask, the speech, then head and tail ids in one embed (one id upload, one gather).
    const targets = fromHost(tg, [B * T], 'i32', target);
    const embeds = noGrad(() =>
      tidy(() => {
        const keepT = fromHost(tailKeep, [B, na + T, 1], 'f32', target);
        const sp = fromHost(speech, [B, tokens, d], 'f32', target);
        const ids = new Int32Array(head.length + tail.length);
        ids.set(head);
        ids.set(tail, head.length);
        const e = this.llm.embed(ids, [1, ids.length]);
        const h = e.slice(1, 0, head.length).reshape([B, 1 + nb, d]);
        const tl = mul(e.slice(1, head.length, ids.length).reshape([B, na + T, d]), keepT);
        return concat([h, sp, tl], 1);
      }),
    );
    return { size: B, embeds, seqLen: S, prefixLen: 1 + prefixLen, textLen: T, targets, nTargets, labels };
  }

  /** Per-layer [B, H] views of m [B, L*(H+1)] (FFN slots dropped). */
  headMasks(m: Tensor): Tensor[] {
    const L = this.nLayers, H = this.nHeads;
    if (m.rank !== 2 || m.shape[1] !== L * (H + 1)) throw new ShapeError(`head mask must be [B, ${L * (H + 1)}], got [${m.shape}]`);
    return Array.from({ length: L }, (_, l) => m.slice(1, l * (H + 1), l * (H + 1) + H).contiguous());
  }

  ce(batch: PreparedBatch, m: Tensor): Tensor {
    const { size: B, seqLen: S, textLen: T } = batch;
    if (m.shape[0] !== B) throw new ShapeError(`head mask has ${m.shape[0]} rows for a batch of ${B}`);
    return tidy(() => {
      const h = this.llm.hidden(batch.embeds, { headMasks: this.headMasks(m), checkpointLayers: this.checkpointLayers });
      // logits only where a label can be: positions S-1-T .. S-2 predict the text tokens
      const ht = h.slice(1, S - 1 - T, S - 1);
      const logits = this.llm.lmHead(ht).reshape([B * T, -1]);
      return crossEntropy(logits, batch.targets, IGNORE_INDEX);
    });
  }

  release(batch: PreparedBatch): void {
    batch.embeds.dispose();
    batch.targets.dispose();
  }
}
