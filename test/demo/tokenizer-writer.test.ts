// The BPE trainer and tokenizer.model writer (src/models/sentencepiece-writer.ts), checked through the reader and
// LlamaTokenizer of src/models/tokenizer.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AhamaskError } from '../../src/errors.js';
import { DEMO_TASKS, demoTokenizerTexts, type DemoClip } from '../../src/demo/tasks.js';
import { LlamaTokenizer, ModelType, PieceType, SPACE_SYMBOL, byteToPiece, parseModelProto } from '../../src/models/tokenizer.js';
import { trainBpe, trainBpeModel, writeModelProto } from '../../src/models/sentencepiece-writer.js';
import { FIXTURE } from '../helpers/paths.js';

const TEXTS = demoTokenizerTexts();
const VOCAB = 512;
const trained = trainBpe(TEXTS, { vocabSize: VOCAB, byteFallback: true });
const tok = LlamaTokenizer.fromBytes(trained.bytes, { file: 'demo tokenizer.model' });

test('layout: <unk>, <s>, </s>, 256 byte pieces, merges by descending score, then characters', () => {
  const proto = parseModelProto(trained.bytes);
  assert.is(proto.pieces.length, VOCAB);
  assert.equal(proto.pieces.slice(0, 3).map((p) => [p.piece, p.type]), [['<unk>', PieceType.UNKNOWN], ['<s>', PieceType.CONTROL], ['</s>', PieceType.CONTROL]]);
  for (let b = 0; b < 256; b++) assert.equal([proto.pieces[3 + b].piece, proto.pieces[3 + b].type], [byteToPiece(b), PieceType.BYTE]);
  const rest = proto.pieces.slice(259);
  assert.ok(rest.every((p) => p.type === PieceType.NORMAL));
  for (let i = 1; i < rest.length; i++) assert.ok(rest[i].score < rest[i - 1].score, `score order at ${259 + i}`);
  assert.equal(proto.pieces, trained.pieces.map((p) => ({ ...p, score: Math.fround(p.score) })));
  assert.is(new Set(proto.pieces.map((p) => p.piece)).size, VOCAB);
  // Specs as LLaMA's tokenizer.model (and the tiny fixture's): BPE, byte fallback, identity normalizer.
  const ts = proto.trainerSpec;
  assert.equal([ts.modelType, ts.vocabSize, ts.byteFallback, ts.unkId, ts.bosId, ts.eosId, ts.padId, ts.splitDigits, ts.treatWhitespaceAsSuffix],
    [ModelType.BPE, VOCAB, true, 0, 1, 2, -1, true, false]);
  const ns = proto.normalizerSpec;
  assert.equal([ns.name, ns.precompiledCharsmap.length, ns.addDummyPrefix, ns.removeExtraWhitespaces, ns.escapeWhitespaces], ['identity', 0, true, false, true]);
  const fx = parseModelProto(new Uint8Array(readFileSync(join(FIXTURE, 'vicuna/tokenizer.model'))));
  assert.equal(ns, fx.normalizerSpec);
  assert.equal({ ...ts, vocabSize: 0 }, { ...fx.trainerSpec, vocabSize: 0 });
  assert.is(proto.denormalizerSpec, undefined);
});

test('every corpus text round-trips through LlamaTokenizer, with no <unk> and no byte fallback', () => {
  for (const s of TEXTS) {
    const ids = tok.encode(s);
    assert.is(tok.decode(ids), s, JSON.stringify(s));
    assert.not.ok(ids.includes(tok.unkId), s);
    if (!s.includes('\n')) assert.ok(ids.every((id) => !tok.sp.isByte(id)), `${JSON.stringify(s)} uses byte pieces`);
  }
  // Whole SALMONN prompts as the model sees them (template around an instruction), and skip-special decoding.
  for (const t of DEMO_TASKS) {
    const full = `USER: ${t.testInstruction}\nASSISTANT:`;
    assert.is(tok.decode(tok.encode(full)), full);
  }
  const ids = tok.encode('three one four, male', { bos: true, eos: true });
  assert.is(tok.decode(ids, { skipSpecialTokens: true }), 'three one four, male');
});

test('answers are short: each digit word, gender and tone word is a single piece', () => {
  for (const w of ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'male', 'female', 'rising', 'falling', 'beeps'])
    assert.equal(tok.tokenize(w), [SPACE_SYMBOL + w], w);
  const clip: DemoClip = { id: '', path: '', digits: [7, 0, 3, 9], gender: 'female', voice: '', beeps: 3, tone: 'falling' };
  assert.equal(tok.tokenize(DEMO_TASKS[4].target(clip)), ['▁seven', '▁zero', '▁three', '▁nine', ',', '▁female']);
});

test('text outside the corpus round-trips through byte fallback', () => {
  for (const s of ['héllo wörld', 'Ω ≈ 1.5 µs', '数字 😀 \u{10348}', 'tab\there', 'two\nlines\r\n', 'ZERO?! [x] {y} ~', 'a  b   c', 'ǅ', 'trailing spaces  ']) {
    const ids = tok.encode(s);
    assert.is(tok.decode(ids), s, JSON.stringify(s));
    assert.not.ok(ids.includes(tok.unkId), s);
  }
  // A character the corpus lacks becomes its UTF-8 bytes.
  assert.equal(tok.tokenize('€'), ['▁', '<0xE2>', '<0x82>', '<0xAC>']);
});

test('deterministic, and the vocabulary size is what was asked (or the corpus limit)', () => {
  assert.equal(trainBpeModel(TEXTS, { vocabSize: VOCAB, byteFallback: true }), trained.bytes);
  assert.equal(trainBpeModel([...TEXTS].reverse(), { vocabSize: VOCAB, byteFallback: true }), trained.bytes, 'independent of corpus order');
  const small = trainBpe(TEXTS, { vocabSize: 400, byteFallback: true });
  assert.is(small.pieces.length, 400);
  const s = LlamaTokenizer.fromBytes(small.bytes);
  for (const t of TEXTS) assert.is(s.decode(s.encode(t)), t);
  // A tiny corpus runs out of pairs: the model holds what exists and says so in vocab_size.
  const tiny = trainBpe(['aaa b'], { vocabSize: 1000, byteFallback: true });
  // (a, a) occurs twice in "▁aaa"; then ties go to the smaller merged string ("aaa" < "▁aa").
  assert.equal(tiny.pieces.slice(259).map((p) => [p.piece, p.score]), [['aa', 0], ['aaa', -1], ['▁aaa', -2], ['▁b', -3], ['a', -4], ['▁', -5], ['b', -6]]);
  assert.is(parseModelProto(tiny.bytes).trainerSpec.vocabSize, tiny.pieces.length);
  const ttok = LlamaTokenizer.fromBytes(tiny.bytes);
  assert.equal(ttok.tokenize('aaa b aa'), ['▁aaa', '▁b', '▁', 'aa']);
});

test('pieces respect sentencepiece validity: no inner ▁, no digit merges, no script mixing', () => {
  const t = trainBpe(['x1 x12 x12 12 12 abc:def abc:def USER: USER:', 'Ωmega Ωmega'], { vocabSize: 400, byteFallback: true });
  for (const p of t.pieces.slice(259).map((p) => p.piece)) {
    assert.not.ok(p.slice(1).includes(SPACE_SYMBOL), p);
    assert.ok(!/\d/.test(p) || [...p.replace(SPACE_SYMBOL, '')].length === 1, p);
    assert.not.ok(/[A-Za-z][:]|[:][A-Za-z]/.test(p), p);
    assert.not.ok(/Ω[a-z]/.test(p), p);
  }
});

test('writeModelProto reproduces the fixture tokenizer from its pieces (the recorded HF tokenizations)', () => {
  const bytes = new Uint8Array(readFileSync(join(FIXTURE, 'vicuna/tokenizer.model')));
  const rewritten = writeModelProto(parseModelProto(bytes).pieces);
  const a = LlamaTokenizer.fromBytes(rewritten);
  const cases = JSON.parse(readFileSync(join(FIXTURE, 'expected/tokenizer_cases.json'), 'utf8')) as { cases: Array<{ text: string; pieces: string[]; ids: number[] }> };
  for (const c of cases.cases) {
    const r = a.encodeWithPieces(c.text);
    assert.equal(r.pieces, c.pieces, c.text);
    assert.equal(r.ids, c.ids, c.text);
  }
});

test('bad options are one clear error', () => {
  assert.throws(() => trainBpeModel(TEXTS, { vocabSize: 100, byteFallback: true }), (e: unknown) => e instanceof AhamaskError && /vocabSize 100/.test((e as Error).message));
  assert.throws(() => trainBpeModel(TEXTS, { vocabSize: 270, byteFallback: true }), /distinct characters/);
  assert.throws(() => trainBpeModel(TEXTS, { vocabSize: 512, byteFallback: false as true }), /byteFallback/);
});

test.run();
