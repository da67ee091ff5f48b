// Host-side pieces of the SALMONN pipeline: prompt construction and ids, BEATs relative-position buckets, window
// geometry, BEATs padding mapping, HF 4.28 generation semantics on a scripted model.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/index.js';
import { parseNpy, npyToFloat64 } from '../../src/io/npy.js';
import { relativePositionBucket, beatsValidTokens } from '../../src/models/beats.js';
import { windowGeometry } from '../../src/index.js';
import { buildPromptText, promptIds, pyFormat, splitPrompt } from '../../src/models/prompt.js';
import { LlamaTokenizer } from '../../src/models/tokenizer.js';
import { BeamHypotheses, generate, topK, type StepModel } from '../../src/models/generate.js';
import { FIXTURE } from '../helpers/paths.js';

const EXP = join(FIXTURE, 'expected');
const tok = LlamaTokenizer.fromBytes(new Uint8Array(readFileSync(join(FIXTURE, 'vicuna/tokenizer.model'))));

test('prompt text and the two halves tokenised separately (mask and instruction runs)', () => {
  for (const audio of ['chirp3s', 'speech_espeak']) {
    for (const run of ['mask_only', 'prompt_only']) {
      const g = JSON.parse(readFileSync(join(EXP, audio, run, 'generation.json'), 'utf8'));
      const instr = run === 'mask_only' ? '' : 'Recognize the speech and give me the transcription.';
      const text = buildPromptText('USER: {}\nASSISTANT:', instr);
      assert.is(text, g.prompt_text);
      const ids = promptIds(tok, text);
      assert.equal(ids.before, g.p_before_ids);
      assert.equal(ids.after, g.p_after_ids);
      assert.is(1 + ids.before.length + 88 + ids.after.length, g.input_len);
    }
  }
  assert.is(pyFormat('a {} b {{x}}', 'Z'), 'a Z b {x}');
  assert.equal(splitPrompt('x<SpeechHere>y'), ['x', 'y']);
  assert.throws(() => splitPrompt('no placeholder'));
});

test('BEATs relative position buckets match the reference table', () => {
  const a = npyToFloat64(parseNpy(new Uint8Array(readFileSync(join(EXP, 'beats_rel_pos_bucket.npy')))));
  for (let i = 0; i < a.length; i++) {
    const r = i - 1499;
    if (relativePositionBucket(r, 320, 800) !== a[i]) assert.unreachable(`r=${r}: ${relativePositionBucket(r, 320, 800)} vs ${a[i]}`);
  }
});

test('window geometry: 17-frame windows, stride 17, 88 windows', () => {
  assert.equal(windowGeometry(1500, 0.333333, 0.333333), { kernel: 17, stride: 17, windows: 88 });
});

test('BEATs padding: token padding mask of the training batch', () => {
  const m = parseNpy(new Uint8Array(readFileSync(join(EXP, 'training/beats_token_padding_mask.npy'))));
  const [B, Np] = m.shape;
  const mask = npyToFloat64(m);
  // the batch is chirp3s (3 s) and mix12s (12 s): samples 48000 and 192000
  const frames = 1 + Math.floor((192000 - 400) / 160);
  const valid = beatsValidTokens([48000, 192000], 192000, frames, Np);
  for (let b = 0; b < B; b++) {
    let n = 0;
    while (n < Np && mask[b * Np + n] === 0) n++;
    for (let j = n; j < Np; j++) assert.is(mask[b * Np + j], 1);
    assert.is(valid[b], n, `item ${b}`);
  }
});

test('topK: descending, ties to the lower index', () => {
  assert.equal(topK([1, 5, 3, 5, 2], 3), [1, 3, 2]);
  assert.equal(topK([0, 0, 0], 2), [0, 1]);
});

test('BeamHypotheses: keeps the n best, worst score, is_done', () => {
  const h = new BeamHypotheses(2, 1.0, false);
  h.add([1, 5], -2); // score -1
  h.add([1, 6, 7], -6); // -2
  assert.is(h.worstScore, -2);
  h.add([1, 8], -1); // -0.5: evicts -2
  assert.is(h.beams.length, 2);
  assert.is(h.worstScore, -1);
  assert.ok(h.isDone(-4, 3)); // -1 >= -4/3
  assert.not.ok(h.isDone(-2, 3)); // -1 >= -0.667 ? no
});

/** A scripted decoder: logits depend on the last token of each row (a Markov chain over a tiny vocabulary). */
function markov(table: Record<number, number[]>, V: number): StepModel & { calls: string[] } {
  let rows = 0;
  let last: number[] = [];
  const logitsOf = (prev: number[]): Float32Array => {
    const out = new Float32Array(prev.length * V);
    prev.forEach((p, r) => out.set(table[p] ?? new Array(V).fill(0), r * V));
    return out;
  };
  const m = {
    vocab: V,
    calls: [] as string[],
    async prefill(copies: number) {
      rows = copies;
      last = new Array(rows).fill(-1);
      m.calls.push(`prefill ${copies}`);
      return logitsOf(last);
    },
    async step(tokens: number[]) {
      assert.is(tokens.length, rows);
      last = tokens.slice();
      m.calls.push(`step ${tokens.join(',')}`);
      return logitsOf(last);
    },
    reorder(idx: number[]) {
      m.calls.push(`reorder ${idx.join(',')}`);
    },
  };
  return m;
}

// vocab: 0 pad/unk, 1 bos, 2 eos, 3 'a', 4 'b'
const L = Math.log;
const chain: Record<number, number[]> = {
  [-1]: [-1e9, -1e9, L(0.1), L(0.5), L(0.4)], // first token: a (0.5) or b (0.4)
  3: [-1e9, -1e9, L(0.3), L(0.35), L(0.35)], // after a: flat
  4: [-1e9, -1e9, L(0.9), L(0.05), L(0.05)], // after b: eos very likely
};

test('greedy: argmax chain, EOS stops, sequences carry the BOS placeholder', async () => {
  const m = markov(chain, 5);
  const r = await generate(m, 1, { numBeams: 1, maxNewTokens: 10, keepLogits: true });
  // a (0.5) -> a/b tie at 0.35: argmax takes the first (a) ... until max_new_tokens
  assert.equal(r.sequences[0], [1, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3]);
  assert.is(r.stopReasons[0], 'max_new_tokens');
  assert.is(r.stepLogits![0].length, 10);
  const r2 = await generate(markov({ ...chain, 3: [-1e9, -1e9, L(0.3), L(0.3), L(0.4)] }, 5), 1, { numBeams: 1, maxNewTokens: 10 });
  assert.equal(r2.sequences[0], [1, 3, 4, 2]);
  assert.equal(r2.tokens[0], [3, 4, 2]);
  assert.is(r2.stopReasons[0], 'eos');
});

test('greedy batch: finished rows get pad, row 0 EOS stops everything (StoppingCriteriaSub)', async () => {
  const V = 5;
  // row-specific: prefill rows differ via a custom model
  let step = 0;
  const m: StepModel = {
    vocab: V,
    async prefill() {
      step = 0;
      const o = new Float32Array(2 * V).fill(-10);
      o[0 * V + 3] = 0; // row 0: a
      o[1 * V + 2] = 0; // row 1: eos
      return o;
    },
    async step(tokens) {
      step++;
      assert.equal(tokens, step === 1 ? [3, 2] : [2, 0]);
      const o = new Float32Array(2 * V).fill(-10);
      o[0 * V + 2] = 0; // row 0: eos
      o[1 * V + 4] = 0; // row 1 would say b, but it is finished
      return o;
    },
    reorder() {},
  };
  const r = await generate(m, 2, { numBeams: 1, maxNewTokens: 10 });
  assert.equal(r.sequences, [[1, 3, 2], [1, 2, 0]]);
  assert.equal(r.tokens, [[3, 2], [2]]);
});

test('beam search (4.28): finds the better hypothesis, length penalty counts the placeholder', async () => {
  const m = markov(chain, 5);
  const r = await generate(m, 1, { numBeams: 2, maxNewTokens: 5, lengthPenalty: 1.0 });
  // hypotheses: [1,4] + eos: log(0.4*0.9)/2 = -0.511; [1,3] + eos: log(0.5*0.3)/2 = -0.949
  assert.equal(r.sequences[0], [1, 4, 2]);
  assert.ok(Math.abs(r.scores![0] - Math.fround(Math.fround(L(0.4)) + Math.fround(L(0.9))) / 2) < 1e-6);
  assert.is(m.calls[0], 'prefill 2');
});

test('beam search: max_new_tokens ends with running beams (no EOS appended at max length)', async () => {
  const loop: Record<number, number[]> = { [-1]: [-1e9, -1e9, -1e9, 0, -1], 3: [-1e9, -1e9, -1e9, 0, -1], 4: [-1e9, -1e9, -1e9, 0, -1] };
  const r = await generate(markov(loop, 5), 1, { numBeams: 2, maxNewTokens: 3 });
  assert.equal(r.sequences[0], [1, 3, 3, 3]);
  assert.is(r.stopReasons[0], 'max_new_tokens');
});

test('sampling: seeded and reproducible; top_k=1 equals greedy', async () => {
  const a = await generate(markov(chain, 5), 1, { numBeams: 1, doSample: true, maxNewTokens: 8, seed: 7, topK: 0, topP: 1 });
  const b = await generate(markov(chain, 5), 1, { numBeams: 1, doSample: true, maxNewTokens: 8, seed: 7, topK: 0, topP: 1 });
  assert.equal(a.sequences, b.sequences);
  // (no ties: top-k keeps every token tied with the k-th, as HF)
  const noTie = { ...chain, 3: [-1e9, -1e9, L(0.3), L(0.4), L(0.3)] };
  const g = await generate(markov(noTie, 5), 1, { numBeams: 1, maxNewTokens: 8 });
  const k1 = await generate(markov(noTie, 5), 1, { numBeams: 1, doSample: true, topK: 1, maxNewTokens: 8, seed: 3 });
  assert.equal(k1.sequences, g.sequences);
});

test('repetition penalty and min_length', async () => {
  // without penalty: a a a ...; with a strong penalty 'a' (already generated) loses to 'b'
  const r = await generate(markov(chain, 5), 1, { numBeams: 1, maxNewTokens: 3, repetitionPenalty: 10 });
  assert.equal(r.sequences[0].slice(0, 3), [1, 3, 4]);
  const eosFirst: Record<number, number[]> = { [-1]: [-1e9, -1e9, 0, -1, -2], 3: [-1e9, -1e9, 0, -1, -2] };
  const r2 = await generate(markov(eosFirst, 5), 1, { numBeams: 1, maxNewTokens: 5, minLength: 3 });
  assert.equal(r2.sequences[0], [1, 3, 3, 2]);
});

test.run();
