// Decoding with transformers 4.28 `generate()` semantics as SALMONN/AHAMask call it with inputs_embeds (spec §2.10):
// a BOS placeholder counted in every length, greedy / sampling / beam search / beam sampling, the logits processors
// (repetition penalty, min length) and warpers (temperature, top-k, top-p), EOS handling and SALMONN's
// StoppingCriteriaSub (row 0 ends with a stop token). The model side is a StepModel (host logits per row).
import { AhamaskError } from '../errors.js';

/** What the decoder must provide: logits of the last position per row, row-major [rows, vocab]. */
export interface StepModel {
  readonly vocab: number;
  /** Runs the prompt; every batch row is replicated `copies` times (row = b * copies + c). */
  prefill(copies: number): Promise<Float32Array>;
  /** Feeds one token per current row; returns the next logits. */
  step(tokens: number[]): Promise<Float32Array>;
  /** Beam bookkeeping: row r continues from row idx[r] (KV cache reorder). */
  reorder(idx: number[]): void;
  /**
   * Optional greedy fast path: as prefill()/step(), but returns only each row's argmax (first maximum, NaN as
   * the maximum: torch.argmax) computed where the logits live. generate() uses it for greedy decoding when no
   * host-side processing needs the logits (no sampling, repetition_penalty 1, no min_length forcing, no keepLogits).
   */
  prefillArgmax?(copies: number): Promise<Int32Array>;
  stepArgmax?(tokens: number[]): Promise<Int32Array>;
}

export interface GenerateOptions {
  maxNewTokens: number;
  numBeams: number;
  doSample: boolean;
  minLength: number;
  temperature: number;
  topP: number;
  /** HF GenerationConfig default 50 (used when sampling). */
  topK: number;
  repetitionPenalty: number;
  lengthPenalty: number;
  earlyStopping: boolean;
  bosTokenId: number;
  eosTokenId: number;
  padTokenId: number;
  /** SALMONN's StoppingCriteriaSub: stop everything when row 0 ends with this sequence (default [[eos]]). */
  stopSequences: number[][];
  /** Seed of the sampling generator (mulberry32). */
  seed: number;
  /** Keep the raw logits of every step (greedy and sampling). */
  keepLogits: boolean;
}

export const GENERATE_DEFAULTS: GenerateOptions = {
  maxNewTokens: 200, numBeams: 4, doSample: false, minLength: 1, temperature: 1.0, topP: 0.9, topK: 50,
  repetitionPenalty: 1.0, lengthPenalty: 1.0, earlyStopping: false, bosTokenId: 1, eosTokenId: 2, padTokenId: 0,
  stopSequences: [[2]], seed: 42, keepLogits: false,
};

/** Maps the YAML `generate:` section (snake_case) onto GenerateOptions (only the keys it has). */
export function generateOptionsFromConfig(g: Partial<{ max_new_tokens: number; num_beams: number; do_sample: boolean; min_length: number; temperature: number; top_p: number; top_k: number; repetition_penalty: number; length_penalty: number }>, extra: Partial<GenerateOptions> = {}): Partial<GenerateOptions> {
  const o: Partial<GenerateOptions> = {};
  if (g.max_new_tokens !== undefined) o.maxNewTokens = g.max_new_tokens;
  if (g.num_beams !== undefined) o.numBeams = g.num_beams;
  if (g.do_sample !== undefined) o.doSample = g.do_sample;
  if (g.min_length !== undefined) o.minLength = g.min_length;
  if (g.temperature !== undefined) o.temperature = g.temperature;
  if (g.top_p !== undefined) o.topP = g.top_p;
  if (g.top_k !== undefined) o.topK = g.top_k;
  if (g.repetition_penalty !== undefined) o.repetitionPenalty = g.repetition_penalty;
  if (g.length_penalty !== undefined) o.lengthPenalty = g.length_penalty;
  return { ...o, ...extra };
}

export interface GenerateResult {
  /** HF output rows: [bos placeholder, t1, ..., (eos), (pad...)]. */
  sequences: number[][];
  /** Generated ids per row without the placeholder, through the first EOS, no padding. */
  tokens: number[][];
  /** Why each row stopped. */
  stopReasons: Array<'eos' | 'max_new_tokens' | 'stop_criteria' | 'beam_done'>;
  /** Greedy/sampling with keepLogits: stepLogits[row][step] = raw logits that chose token `step`. */
  stepLogits?: Float32Array[][];
  /** Beam search: the score of each returned hypothesis (sum logprob / len^length_penalty). */
  scores?: number[];
}

/** Seeded uniform [0, 1) generator (mulberry32). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const f32 = Math.fround;

/** log_softmax of one row (float32 result). */
export function logSoftmaxRow(x: Float32Array): Float32Array {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  let s = 0;
  for (let i = 0; i < x.length; i++) s += Math.exp(x[i] - m);
  const lse = m + Math.log(s);
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] - lse;
  return out;
}

function softmaxRow(x: Float32Array): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < x.length; i++) if (x[i] > m) m = x[i];
  const out = new Float64Array(x.length);
  let s = 0;
  for (let i = 0; i < x.length; i++) s += out[i] = x[i] === -Infinity ? 0 : Math.exp(x[i] - m);
  for (let i = 0; i < x.length; i++) out[i] /= s;
  return out;
}

/** First index of the maximum (torch.argmax: a NaN counts as the maximum, the first NaN wins). */
export function argmaxRow(x: ArrayLike<number>): number {
  let best = 0;
  if (Number.isNaN(x[0])) return 0;
  for (let i = 1; i < x.length; i++) {
    if (Number.isNaN(x[i])) return i;
    if (x[i] > x[best]) best = i;
  }
  return best;
}

/** RepetitionPenaltyLogitsProcessor and MinLengthLogitsProcessor (in place). */
function processRow(scores: Float32Array, ids: number[], o: GenerateOptions): void {
  if (o.repetitionPenalty !== 1.0) {
    const seen = new Set(ids);
    for (const t of seen) {
      if (t < 0 || t >= scores.length) continue;
      const s = scores[t];
      scores[t] = s < 0 ? f32(s * o.repetitionPenalty) : f32(s / o.repetitionPenalty);
    }
  }
  if (o.minLength > 0 && ids.length < o.minLength && o.eosTokenId >= 0 && o.eosTokenId < scores.length) scores[o.eosTokenId] = -Infinity;
}

/** Temperature, top-k, top-p warpers (4.28 order), in place. */
function warpRow(scores: Float32Array, o: GenerateOptions, minKeep: number): void {
  if (o.temperature !== 1.0) {
    if (!(o.temperature > 0)) throw new AhamaskError(`temperature must be > 0, got ${o.temperature}`);
    for (let i = 0; i < scores.length; i++) scores[i] = f32(scores[i] / o.temperature);
  }
  if (o.topK > 0) {
    const k = Math.min(Math.max(o.topK, minKeep), scores.length);
    const sorted = Float32Array.from(scores).sort();
    const kth = sorted[sorted.length - k];
    for (let i = 0; i < scores.length; i++) if (scores[i] < kth) scores[i] = -Infinity;
  }
  if (o.topP < 1.0) {
    const idx = Array.from({ length: scores.length }, (_, i) => i).sort((a, b) => scores[a] - scores[b] || a - b);
    const sortedVals = Float32Array.from(idx, (i) => scores[i]);
    const p = softmaxRow(sortedVals);
    let cum = 0;
    const remove = new Uint8Array(idx.length);
    for (let j = 0; j < idx.length; j++) {
      cum += p[j];
      remove[j] = f32(cum) <= 1 - o.topP ? 1 : 0;
    }
    for (let j = Math.max(0, idx.length - minKeep); j < idx.length; j++) remove[j] = 0;
    for (let j = 0; j < idx.length; j++) if (remove[j]) scores[idx[j]] = -Infinity;
  }
}

/** torch.multinomial without replacement from unnormalised probabilities. */
function multinomial(p: Float64Array, n: number, rng: () => number): number[] {
  const w = Float64Array.from(p);
  const out: number[] = [];
  for (let k = 0; k < n; k++) {
    let total = 0;
    for (let i = 0; i < w.length; i++) total += w[i];
    if (!(total > 0)) throw new AhamaskError('sampling: no token has a non-zero probability');
    let r = rng() * total;
    let pick = -1;
    for (let i = 0; i < w.length; i++) {
      if (w[i] <= 0) continue;
      pick = i;
      r -= w[i];
      if (r < 0) break;
    }
    out.push(pick);
    w[pick] = 0;
  }
  return out;
}

function endsWith(ids: number[], seq: number[]): boolean {
  if (seq.length === 0 || ids.length < seq.length) return false;
  for (let i = 0; i < seq.length; i++) if (ids[ids.length - seq.length + i] !== seq[i]) return false;
  return true;
}

function generatedTokens(seq: number[], eos: number, pad: number): number[] {
  const t = seq.slice(1);
  const e = t.indexOf(eos);
  if (e >= 0) return t.slice(0, e + 1);
  let n = t.length;
  while (n > 0 && t[n - 1] === pad) n--;
  return t.slice(0, n);
}

/** One generated token of one batch row (`step` 0 is the first new token). */
export interface TokenEvent {
  row: number;
  token: number;
  step: number;
}

/** Streaming and cancellation (not part of GenerateOptions: those are plain data with config defaults). */
export interface GenerateHooks {
  /**
   * Called for each new token of each row, in order. Greedy and sampling: as soon as the token is chosen (the
   * tokens a row receives are exactly its final `tokens`). Beam search: the winning hypothesis is known only at
   * the end, so its tokens are delivered then.
   */
  onToken?: (e: TokenEvent) => void | Promise<void>;
  /** Checked before every model step: generation stops by throwing the signal's reason. */
  signal?: AbortSignal;
}

/** Runs decoding for `batch` prompt rows already held by the StepModel. */
export async function generate(model: StepModel, batch: number, opts: Partial<GenerateOptions> = {}, hooks: GenerateHooks = {}): Promise<GenerateResult> {
  const o: GenerateOptions = { ...GENERATE_DEFAULTS, ...opts };
  if (!Number.isInteger(o.maxNewTokens) || o.maxNewTokens < 1) throw new AhamaskError(`max_new_tokens must be a positive integer, got ${o.maxNewTokens}`);
  if (!Number.isInteger(o.numBeams) || o.numBeams < 1) throw new AhamaskError(`num_beams must be a positive integer, got ${o.numBeams}`);
  hooks.signal?.throwIfAborted();
  if (o.numBeams === 1) return greedyOrSample(model, batch, o, hooks);
  const r = await beamSearch(model, batch, o, hooks.signal);
  if (hooks.onToken) {
    for (let row = 0; row < r.tokens.length; row++) {
      for (let step = 0; step < r.tokens[row].length; step++) await hooks.onToken({ row, token: r.tokens[row][step], step });
    }
  }
  return r;
}

async function greedyOrSample(model: StepModel, B: number, o: GenerateOptions, hooks: GenerateHooks): Promise<GenerateResult> {
  const V = model.vocab;
  const maxLength = 1 + o.maxNewTokens;
  const rng = mulberry32(o.seed);
  const ids: number[][] = Array.from({ length: B }, () => [o.bosTokenId]);
  const unfinished = new Array<boolean>(B).fill(true);
  const reasons: GenerateResult['stopReasons'] = new Array(B).fill('max_new_tokens');
  const stepLogits: Float32Array[][] | undefined = o.keepLogits ? Array.from({ length: B }, () => []) : undefined;
  // Greedy without anything that needs the logits on the host: the model picks the ids where the logits live
  // (the same first-max rule as argmaxRow) and only the ids come back. curLen: ids per row when the logits are used.
  const onDevice = (curLen: number): boolean =>
    !o.doSample && !stepLogits && o.repetitionPenalty === 1.0 &&
    !(o.minLength > 0 && curLen < o.minLength && o.eosTokenId >= 0 && o.eosTokenId < V);
  let picked: Int32Array | null = null;
  let logits: Float32Array | null = null;
  if (model.prefillArgmax && onDevice(1)) picked = await model.prefillArgmax(1);
  else logits = await model.prefill(1);
  for (;;) {
    const next: number[] = [];
    for (let r = 0; r < B; r++) {
      if (picked) {
        next.push(unfinished[r] ? picked[r] : o.padTokenId);
        continue;
      }
      const raw = logits!.subarray(r * V, (r + 1) * V);
      if (stepLogits) stepLogits[r].push(Float32Array.from(raw));
      const scores = Float32Array.from(raw);
      processRow(scores, ids[r], o);
      let t: number;
      if (o.doSample) {
        warpRow(scores, o, 1);
        t = multinomial(softmaxRow(scores), 1, rng)[0];
      } else {
        t = argmaxRow(scores);
      }
      next.push(unfinished[r] ? t : o.padTokenId);
    }
    for (let r = 0; r < B; r++) {
      const live = unfinished[r];
      ids[r].push(next[r]);
      if (unfinished[r] && next[r] === o.eosTokenId) {
        unfinished[r] = false;
        reasons[r] = 'eos';
      }
      if (live && hooks.onToken) await hooks.onToken({ row: r, token: next[r], step: ids[r].length - 2 });
    }
    const curLen = ids[0].length;
    let stop = unfinished.every((u) => !u) || curLen >= maxLength;
    if (!stop && o.stopSequences.some((s) => endsWith(ids[0], s))) {
      stop = true;
      for (let r = 0; r < B; r++) if (unfinished[r]) reasons[r] = 'stop_criteria';
    }
    if (stop) break;
    hooks.signal?.throwIfAborted();
    if (model.stepArgmax && onDevice(curLen)) {
      picked = await model.stepArgmax(next);
      logits = null;
    } else {
      logits = await model.step(next);
      picked = null;
    }
  }
  return {
    sequences: ids,
    tokens: ids.map((s) => generatedTokens(s, o.eosTokenId, o.padTokenId)),
    stopReasons: reasons,
    ...(stepLogits ? { stepLogits } : {}),
  };
}

/** transformers 4.28 BeamHypotheses. */
export class BeamHypotheses {
  beams: Array<[number, number[]]> = [];
  worstScore = 1e9;
  constructor(readonly numBeams: number, readonly lengthPenalty: number, readonly earlyStopping: boolean) {}
  add(hyp: number[], sumLogprobs: number): void {
    const score = sumLogprobs / hyp.length ** this.lengthPenalty;
    if (this.beams.length < this.numBeams || score > this.worstScore) {
      this.beams.push([score, hyp]);
      if (this.beams.length > this.numBeams) {
        const sorted = this.beams.map((b, i) => [b[0], i] as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
        this.beams.splice(sorted[0][1], 1);
        this.worstScore = sorted[1][0];
      } else {
        this.worstScore = Math.min(score, this.worstScore);
      }
    }
  }
  isDone(bestSumLogprobs: number, curLen: number): boolean {
    if (this.beams.length < this.numBeams) return false;
    if (this.earlyStopping) return true;
    return this.worstScore >= bestSumLogprobs / curLen ** this.lengthPenalty;
  }
}

async function beamSearch(model: StepModel, B: number, o: GenerateOptions, signal?: AbortSignal): Promise<GenerateResult> {
  const V = model.vocab, nb = o.numBeams, rows = B * nb, k2 = 2 * nb;
  const maxLength = 1 + o.maxNewTokens;
  const rng = mulberry32(o.seed);
  const hyps = Array.from({ length: B }, () => new BeamHypotheses(nb, o.lengthPenalty, o.earlyStopping));
  const done = new Array<boolean>(B).fill(false);
  let ids: number[][] = Array.from({ length: rows }, () => [o.bosTokenId]);
  // beam search: only beam 0 alive at first; beam sampling starts all beams at 0
  let beamScores = new Float32Array(rows);
  if (!o.doSample) for (let r = 0; r < rows; r++) if (r % nb !== 0) beamScores[r] = -1e9;
  let logits = await model.prefill(nb);
  let curLen = 1;
  for (;;) {
    // candidate scores per row
    const cand: Float32Array[] = [];
    for (let r = 0; r < rows; r++) {
      const lp = logSoftmaxRow(logits.subarray(r * V, (r + 1) * V));
      processRow(lp, ids[r], o);
      for (let i = 0; i < V; i++) lp[i] = f32(lp[i] + beamScores[r]);
      if (o.doSample) warpRow(lp, o, 2);
      cand.push(lp);
    }
    const nextScores = new Float32Array(rows), nextTokens = new Int32Array(rows), nextIdx = new Int32Array(rows);
    for (let b = 0; b < B; b++) {
      // the 2*num_beams best (token, beam) pairs of this batch item, sorted by score
      let top: Array<{ s: number; beam: number; tok: number }>;
      if (o.doSample) {
        const flat = new Float32Array(nb * V);
        for (let j = 0; j < nb; j++) flat.set(cand[b * nb + j], j * V);
        const picks = multinomial(softmaxRow(flat), k2, rng);
        top = picks.map((p) => ({ s: flat[p], beam: Math.floor(p / V), tok: p % V })).sort((x, y) => y.s - x.s);
      } else {
        top = [];
        for (let j = 0; j < nb; j++) {
          const row = cand[b * nb + j];
          for (const t of topK(row, k2)) top.push({ s: row[t], beam: j, tok: t });
        }
        top.sort((x, y) => y.s - x.s || x.beam * V + x.tok - (y.beam * V + y.tok));
        top = top.slice(0, k2);
      }
      if (done[b]) {
        for (let j = 0; j < nb; j++) {
          nextScores[b * nb + j] = 0;
          nextTokens[b * nb + j] = o.padTokenId;
          nextIdx[b * nb + j] = 0;
        }
        continue;
      }
      let beamIdx = 0;
      for (let rank = 0; rank < top.length; rank++) {
        const c = top[rank];
        const row = b * nb + c.beam;
        if (c.tok === o.eosTokenId) {
          if (rank >= nb) continue;
          hyps[b].add(ids[row].slice(), c.s);
        } else {
          nextScores[b * nb + beamIdx] = c.s;
          nextTokens[b * nb + beamIdx] = c.tok;
          nextIdx[b * nb + beamIdx] = row;
          beamIdx++;
        }
        if (beamIdx === nb) break;
      }
      if (beamIdx < nb) throw new AhamaskError(`beam search: fewer than ${nb} non-EOS candidates (vocabulary too small?)`);
      done[b] = done[b] || hyps[b].isDone(Math.max(...top.map((c) => c.s)), curLen);
    }
    ids = Array.from({ length: rows }, (_, r) => [...ids[nextIdx[r]], nextTokens[r]]);
    beamScores = nextScores;
    curLen++;
    const stop = done.every((d) => d) || curLen >= maxLength || o.stopSequences.some((s) => endsWith(ids[0], s));
    if (stop) break;
    signal?.throwIfAborted();
    model.reorder(Array.from(nextIdx));
    logits = await model.step(Array.from(nextTokens));
  }
  // finalize
  for (let b = 0; b < B; b++) {
    if (done[b]) continue;
    for (let j = 0; j < nb; j++) hyps[b].add(ids[b * nb + j], beamScores[b * nb + j]);
  }
  const best: number[][] = [];
  const scores: number[] = [];
  for (let b = 0; b < B; b++) {
    const sorted = [...hyps[b].beams].map((x, i) => ({ x, i })).sort((p, q) => p.x[0] - q.x[0] || p.i - q.i);
    const top = sorted[sorted.length - 1].x;
    best.push(top[1]);
    scores.push(top[0]);
  }
  const lens = best.map((h) => h.length);
  const sentMax = Math.min(Math.max(...lens) + 1, maxLength);
  const sequences = best.map((h) => {
    const s = new Array<number>(sentMax).fill(o.padTokenId);
    for (let i = 0; i < h.length && i < sentMax; i++) s[i] = h[i];
    if (h.length < sentMax) s[h.length] = o.eosTokenId;
    return s;
  });
  return {
    sequences,
    tokens: sequences.map((s) => generatedTokens(s, o.eosTokenId, o.padTokenId)),
    stopReasons: sequences.map((s) => (s.includes(o.eosTokenId, 1) ? 'eos' : 'max_new_tokens')),
    scores,
  };
}

/** Indices of the k largest values, descending (ties: lower index first). */
export function topK(x: ArrayLike<number>, k: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < x.length; i++) {
    const v = x[i];
    if (out.length === k && !(v > x[out[k - 1]])) continue;
    let j = out.length < k ? out.length : k - 1;
    if (out.length < k) out.push(i);
    while (j > 0 && v > x[out[j - 1]]) {
      out[j] = out[j - 1];
      j--;
    }
    out[j] = i;
  }
  return out;
}
