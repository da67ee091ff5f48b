// SentencePiece BPE + HF LlamaTokenizer (src/models/tokenizer.ts), spec §2.8, §2.10.6-7, §10.1, §10.13.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AhamaskError, FormatError } from '../../src/index.js';
import {
  LlamaTokenizer, ModelType, PieceType, SentencePieceProcessor, SPACE_SYMBOL, byteToPiece, parseModelProto,
  postprocessEvaluateOutput, pyStrip,
} from '../../src/models/tokenizer.js';
import { FIXTURE, ROOT } from '../helpers/paths.js';
import { rng } from '../helpers/random.js';

const MODEL_PATH = join(FIXTURE, 'vicuna/tokenizer.model');
const MODEL_BYTES = new Uint8Array(readFileSync(MODEL_PATH));
const tok = LlamaTokenizer.fromBytes(MODEL_BYTES, { file: MODEL_PATH });
const sp = tok.sp;

interface Case { text: string; pieces: string[]; ids: number[] }
const CASES = JSON.parse(readFileSync(join(FIXTURE, 'expected/tokenizer_cases.json'), 'utf8')) as {
  vocab_size_sp: number; bos_id: number; eos_id: number; unk_id: number; pad_token: string; pad_id: number;
  len_tokenizer: number; cases: Case[];
};

// ------------------------------------------------------------------------------------------------------------
// A tiny protobuf writer for synthetic models.

function varint(n: number): number[] {
  const out: number[] = [];
  let v = BigInt.asUintN(64, BigInt(n));
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v) b |= 0x80;
    out.push(b);
  } while (v);
  return out;
}
const key = (field: number, wire: number) => varint((field << 3) | wire);
const fVarint = (field: number, n: number | boolean) => [...key(field, 0), ...varint(Number(n))];
const fBytes = (field: number, b: ArrayLike<number>) => [...key(field, 2), ...varint(b.length), ...Array.from(b)];
const fString = (field: number, s: string) => fBytes(field, new TextEncoder().encode(s));
function fFloat(field: number, x: number): number[] {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, x, true);
  return [...key(field, 5), ...b];
}

interface SynthPiece { piece: string; score?: number; type?: number }
interface SynthModel {
  pieces: SynthPiece[];
  modelType?: number;
  byteFallback?: boolean;
  addDummyPrefix?: boolean;
  removeExtraWhitespaces?: boolean;
  charsmap?: Uint8Array;
  /** raw extra bytes appended at top level (unknown fields) */
  extra?: number[];
}
/** Serialises a ModelProto; byte pieces <0x00>..<0xFF> are inserted after the first three when byteFallback. */
function modelBytes(m: SynthModel): Uint8Array {
  const pieces: SynthPiece[] = [
    { piece: '<unk>', type: PieceType.UNKNOWN },
    { piece: '<s>', type: PieceType.CONTROL },
    { piece: '</s>', type: PieceType.CONTROL },
  ];
  if (m.byteFallback) for (let b = 0; b < 256; b++) pieces.push({ piece: byteToPiece(b), type: PieceType.BYTE });
  pieces.push(...m.pieces);
  const out: number[] = [];
  for (const p of pieces) {
    const body = [...fString(1, p.piece), ...fFloat(2, p.score ?? 0), ...(p.type ? fVarint(3, p.type) : [])];
    out.push(...fBytes(1, body));
  }
  const trainer = [...fVarint(3, m.modelType ?? ModelType.BPE), ...fVarint(4, pieces.length), ...fVarint(35, !!m.byteFallback),
    ...fVarint(43, -1), ...fString(44, ' \u2047 ')];
  out.push(...fBytes(2, trainer));
  const norm = [...fString(1, 'identity'), ...(m.charsmap ? fBytes(2, m.charsmap) : []),
    ...fVarint(3, m.addDummyPrefix ?? true), ...fVarint(4, m.removeExtraWhitespaces ?? false), ...fVarint(5, true)];
  out.push(...fBytes(3, norm));
  out.push(...(m.extra ?? []));
  return Uint8Array.from(out);
}
const synth = (m: SynthModel) => SentencePieceProcessor.fromBytes(modelBytes(m), 'synthetic.model');

/** Reference BPE: rescan all adjacent pairs for the best (highest score, leftmost) merge each step. O(n^2). */
function naiveBpe(s: SentencePieceProcessor, normalized: string): string[] {
  let syms = Array.from(normalized);
  for (;;) {
    let best = -1, bestScore = -Infinity;
    for (let i = 0; i + 1 < syms.length; i++) {
      const id = s.pieceToId(syms[i] + syms[i + 1]);
      const t = s.proto.pieces[id].type;
      if (t !== PieceType.NORMAL && t !== PieceType.USER_DEFINED && t !== PieceType.UNUSED) continue;
      if (s.proto.pieces[id].piece !== syms[i] + syms[i + 1]) continue;
      if (s.getScore(id) > bestScore) {
        bestScore = s.getScore(id);
        best = i;
      }
    }
    if (best < 0) return syms;
    syms = [...syms.slice(0, best), syms[best] + syms[best + 1], ...syms.slice(best + 2)];
  }
}
/** What sp.encode gives for a normalized symbol sequence with byte fallback (no UNUSED pieces). */
function naiveEncodePieces(s: SentencePieceProcessor, text: string): string[] {
  const out: string[] = [];
  for (const w of naiveBpe(s, s.normalize(text))) {
    if (s.isUnknown(s.pieceToId(w))) for (const b of new TextEncoder().encode(w)) out.push(byteToPiece(b));
    else out.push(w);
  }
  return out;
}


// ------------------------------------------------------------------------------------------------------------
// The fixture model

test('ModelProto fields of the fixture tokenizer.model', () => {
  const m = parseModelProto(MODEL_BYTES, MODEL_PATH);
  assert.is(m.pieces.length, 600);
  assert.is(m.trainerSpec.modelType, ModelType.BPE);
  assert.ok(m.trainerSpec.byteFallback);
  assert.is(m.normalizerSpec.name, 'identity');
  assert.ok(m.normalizerSpec.addDummyPrefix);
  assert.not.ok(m.normalizerSpec.removeExtraWhitespaces);
  assert.ok(m.normalizerSpec.escapeWhitespaces);
  assert.is(m.normalizerSpec.precompiledCharsmap.length, 0);
  const count = (t: number) => m.pieces.filter((p) => p.type === t).length;
  assert.is(count(PieceType.UNKNOWN), 1);
  assert.is(count(PieceType.CONTROL), 2);
  assert.is(count(PieceType.BYTE), 256);
  assert.is(count(PieceType.NORMAL), 600 - 259);
  assert.equal(m.pieces.slice(0, 3).map((p) => p.piece), ['<unk>', '<s>', '</s>']);
  assert.is(m.pieces[3 + 0x0a].piece, '<0x0A>');
  assert.is(m.pieces[259].piece, `${SPACE_SYMBOL}t`);
  assert.is(m.pieces[260].score, -1);
});

test('special tokens, [PAD] and lengths match tokenizer_cases.json', () => {
  assert.is(tok.vocabSize, CASES.vocab_size_sp);
  assert.is(tok.length, CASES.len_tokenizer);
  assert.is(tok.bosId, CASES.bos_id);
  assert.is(tok.eosId, CASES.eos_id);
  assert.is(tok.unkId, CASES.unk_id);
  assert.is(tok.padToken, CASES.pad_token);
  assert.is(tok.padId, CASES.pad_id);
  assert.is(tok.tokenToId('[PAD]'), 600);
  assert.is(tok.idToToken(600), '[PAD]');
  assert.equal(tok.allSpecialIds, [1, 2, 0, 600]);
  assert.is(sp.bosId, 1);
  assert.is(sp.eosId, 2);
  assert.is(sp.padId, -1);
  const plain = LlamaTokenizer.fromBytes(MODEL_BYTES, { padToken: null });
  assert.is(plain.length, 600);
  assert.is(plain.padId, -1);
  assert.is(plain.tokenToId('[PAD]'), 0);
});

test('every tokenizer_cases.json case: pieces and ids', () => {
  assert.ok(CASES.cases.length >= 10);
  for (const c of CASES.cases) {
    const r = tok.encodeWithPieces(c.text);
    assert.equal(r.pieces, c.pieces, JSON.stringify(c.text));
    assert.equal(r.ids, c.ids, JSON.stringify(c.text));
    assert.equal(tok.encode(c.text), c.ids);
    assert.equal(tok.tokenize(c.text), c.pieces);
  }
});

test('encode adds BOS/EOS only when asked', () => {
  assert.equal(tok.encode('hello world'), [480, 316, 554, 293, 493]);
  assert.equal(tok.encode('hello world', { bos: true }), [1, 480, 316, 554, 293, 493]);
  assert.equal(tok.encode('hello world', { bos: true, eos: true }), [1, 480, 316, 554, 293, 493, 2]);
  assert.equal(tok.encodeWithPieces('hello', { eos: true }).pieces, ['▁he', 'll', 'o', '</s>']);
  assert.equal(tok.encode(''), []);
  assert.equal(sp.encode(''), []);
});

// ------------------------------------------------------------------------------------------------------------
// generation.json: prompt halves and decoded outputs

const GEN_FILES: string[] = [];
for (const audio of readdirSync(join(FIXTURE, 'expected'))) {
  for (const run of ['mask_only', 'prompt_only']) {
    const f = join(FIXTURE, 'expected', audio, run, 'generation.json');
    try {
      readFileSync(f);
      GEN_FILES.push(f);
    } catch {
      // not a per-audio folder
    }
  }
}

test('generation.json: p_before/p_after ids (each half tokenised separately, no BOS)', () => {
  assert.is(GEN_FILES.length, 4);
  for (const f of GEN_FILES) {
    const g = JSON.parse(readFileSync(f, 'utf8'));
    const [before, after, ...more] = (g.prompt_text as string).split('<SpeechHere>');
    assert.is(more.length, 0);
    assert.equal(tok.encode(before), g.p_before_ids, f);
    assert.equal(tok.encode(after), g.p_after_ids, f);
    // Tokenising the whole prompt at once gives different ids (spec §10.1).
    assert.not.equal(tok.encode(before + after).slice(-g.p_after_ids.length), g.p_after_ids);
    // 1 (BOS) + before + 88 speech + after
    assert.is(1 + g.p_before_ids.length + 88 + g.p_after_ids.length, g.input_len, f);
  }
});

test('generation.json: decoded texts (batch_decode, evaluate.py, SALMONN decode, raw sentencepiece)', () => {
  for (const f of GEN_FILES) {
    const g = JSON.parse(readFileSync(f, 'utf8'));
    const out: number[] = g.hf_generate_output_ids;
    assert.equal(out.slice(1), g.generated_ids);
    const ahamask = tok.batchDecode([out], { skipSpecialTokens: true })[0];
    assert.is(ahamask, g.text_ahamask_decode, f);
    assert.is(postprocessEvaluateOutput(ahamask), g.text_ahamask_evaluate_py, f);
    assert.is(tok.decode(out), g.text_salmonn_decode, f);
    assert.is(sp.decodeIds(g.generated_ids), g.sp_decode_generated, f);
  }
});

// ------------------------------------------------------------------------------------------------------------
// decode

test('decode round trips', () => {
  const texts = [
    'hello world', 'USER: <Speech>', '</Speech> \nASSISTANT:', 'café 日本 zebra-quokka', 'line1\nline2\ttab',
    'Numbers 16000 and 3.14!', 'emoji 🎉🙂 and 𝄞 clef', 'tab\tand\r\nCRLF  two  spaces', 'trailing spaces   ',
    'a tone then a rising chirp', 'ÅÄÖ åäö ß Ω ж',
  ];
  for (const t of texts) {
    assert.is(tok.decode(tok.encode(t)), t, JSON.stringify(t));
    assert.is(sp.decodeIds(sp.encodeIds(t)), t, JSON.stringify(t));
    assert.is(sp.decodePieces(sp.encodePieces(t)), t);
  }
  // Special tokens survive a decode without skipping; they are dropped with skipSpecialTokens.
  // HF 4.28 puts a space before a special token that follows ordinary pieces, even at the very start.
  assert.is(tok.decode(tok.encode('a tone then a rising chirp</s>')), ' a tone then a rising chirp</s>');
  assert.is(tok.decode(tok.encode('a tone then a rising chirp</s>'), { skipSpecialTokens: true }), 'a tone then a rising chirp');
  assert.is(tok.decode([1, 480, 316, 554, 2]), '<s> hello</s>');
  assert.is(tok.decode([1, 480, 316, 554, 2], { skipSpecialTokens: true }), 'hello');
  assert.is(tok.decode([]), '');
});

test('decode: leading space of the first piece removed (sentencepiece 0.1.97 semantics)', () => {
  // "▁he ll o" -> "hello": the dummy prefix goes away.
  assert.is(sp.decodeIds([480, 316, 554]), 'hello');
  // A text starting with a space encodes as ▁ ▁he ...; while the output is still empty every leading ▁ of
  // the next piece is consumed (0.1.97 checks text.empty()), so the leading space does not come back.
  assert.is(tok.decode(tok.encode(' hello  world ')), 'hello  world ');
  // Control tokens decode to nothing, so the space after them is dropped too.
  assert.is(sp.decodeIds([1, 480, 316, 554, 2]), 'hello');
  // <unk> prints trainer_spec.unk_surface in raw sentencepiece decode.
  assert.is(sp.decodeIds([480, 0, 316]), 'he \u2047 ll');
  // U+2581 in the middle becomes a space.
  assert.is(sp.decodeIds([553, 547, 553]), 'a a');
});

test('decode: [PAD] and spaces_between_special_tokens, clean-up, out-of-range ids', () => {
  assert.is(tok.decode([480, 316, 554, 600, 293, 493]), 'hello [PAD] world');
  assert.is(tok.decode([480, 316, 554, 600, 293, 493], { spacesBetweenSpecialTokens: false }), 'hello[PAD]world');
  assert.is(tok.decode([480, 316, 554, 600, 600], { skipSpecialTokens: true }), 'hello');
  assert.equal(tok.convertIdsToTokens([1, 480, 600, 2], true), ['▁he']);
  assert.is(tok.decode(tok.encode('hello .')), 'hello .');
  assert.is(tok.decode(tok.encode('hello .'), { cleanUpTokenizationSpaces: true }), 'hello.');
  assert.throws(() => tok.decode([601]), (e: unknown) => e instanceof AhamaskError && /601/.test((e as Error).message));
  assert.throws(() => tok.decode([-1]), (e: unknown) => e instanceof AhamaskError);
  assert.throws(() => sp.decodeIds([600]), (e: unknown) => e instanceof AhamaskError);
});

test('evaluate.py post-processing and Python strip', () => {
  assert.is(postprocessEvaluateOutput('  Male\n</s>'), 'Male ');
  assert.is(postprocessEvaluateOutput('\n a\nb </s>\n'), 'a b ');
  assert.is(postprocessEvaluateOutput('Female'), 'Female');
  assert.is(pyStrip('\x1c\x85 x \u3000'), 'x');
  assert.is(pyStrip('\ufeffx'), '\ufeffx'); // not whitespace for Python
});

// ------------------------------------------------------------------------------------------------------------
// Byte fallback

test('byte fallback: unknown characters become their UTF-8 bytes, reassembled on decode', () => {
  const r = tok.encodeWithPieces('日');
  assert.equal(r.pieces, ['▁', '<0xE6>', '<0x97>', '<0xA5>']);
  assert.equal(r.ids, [547, 3 + 0xe6, 3 + 0x97, 3 + 0xa5]);
  const emoji = tok.encodeWithPieces('🙂');
  assert.equal(emoji.pieces, ['▁', '<0xF0>', '<0x9F>', '<0x99>', '<0x82>']);
  assert.is(tok.decode(emoji.ids), '🙂');
  // Every byte piece id is 3 + byte.
  for (let b = 0; b < 256; b++) assert.is(sp.pieceToId(byteToPiece(b)), 3 + b);
  // Invalid / truncated UTF-8: one U+FFFD per offending byte (sentencepiece), not per maximal subpart.
  assert.is(sp.decodeIds([3 + 0xe6, 3 + 0x97, 553]), '\ufffd\ufffda');
  assert.is(sp.decodeIds([3 + 0xff, 3 + 0x41]), '\ufffdA');
  assert.is(sp.decodeIds([3 + 0xed, 3 + 0xa0, 3 + 0x80]), '\ufffd\ufffd\ufffd'); // encoded surrogate
  assert.is(sp.decodeIds([3 + 0xc0, 3 + 0x80]), '\ufffd\ufffd'); // overlong
  assert.is(sp.decodeIds([3 + 0xef, 3 + 0xbf, 3 + 0xbd]), '\ufffd'); // a real U+FFFD
  assert.is(sp.decodeIds([3 + 0x00]), '\u0000');
  // Byte pieces split by a normal piece are decoded as separate runs.
  assert.is(sp.decodeIds([3 + 0xc3, 553, 3 + 0xa9]), '\ufffda\ufffd');
  // A lone surrogate in JS input is encoded as U+FFFD (EF BF BD), like any UTF-8 encoder.
  assert.equal(tok.encodeWithPieces('\ud800').pieces, ['▁', '<0xEF>', '<0xBF>', '<0xBD>']);
});

test('BPE merges agree with a naive O(n^2) reference on random text (fixture vocab)', () => {
  const rand = rng(7);
  const alphabet = 'aeiou tnsrhl ASUEPR<>/:.,\n0123456789ßé日-SpeechHereISTANT';
  const chars = Array.from(alphabet);
  for (let k = 0; k < 300; k++) {
    const n = 1 + Math.floor(rand() * 40);
    let s = '';
    for (let i = 0; i < n; i++) s += chars[Math.floor(rand() * chars.length)];
    assert.equal(sp.encodePieces(s), naiveEncodePieces(sp, s), JSON.stringify(s));
  }
});

// ------------------------------------------------------------------------------------------------------------
// Synthetic models: merge order, UNUSED, USER_DEFINED, no byte fallback, whitespace options, charsmap

test('merge order: highest score first, leftmost on ties', () => {
  // "abc": ab (score -1) beats bc (-2) -> ab c; with bc higher -> a bc.
  const p = (piece: string, score: number) => ({ piece, score });
  let s = synth({ pieces: [p('a', -10), p('b', -10), p('c', -10), p('ab', -1), p('bc', -2)], addDummyPrefix: false });
  assert.equal(s.encodePieces('abc'), ['ab', 'c']);
  s = synth({ pieces: [p('a', -10), p('b', -10), p('c', -10), p('ab', -2), p('bc', -1)], addDummyPrefix: false });
  assert.equal(s.encodePieces('abc'), ['a', 'bc']);
  // Ties: the leftmost pair merges first: "aaa" -> aa a.
  s = synth({ pieces: [p('a', -10), p('aa', -1)], addDummyPrefix: false });
  assert.equal(s.encodePieces('aaa'), ['aa', 'a']);
  assert.equal(s.encodePieces('aaaaa'), ['aa', 'aa', 'a']);
  // Merged pieces keep merging: a b c -> ab c -> abc.
  s = synth({ pieces: [p('a', -10), p('b', -10), p('c', -10), p('ab', -1), p('abc', -3)], addDummyPrefix: false });
  assert.equal(s.encodePieces('abc'), ['abc']);
  assert.equal(s.encodeIds('abc'), [7]);
});

test('UNUSED pieces are merged through and then re-segmented; USER_DEFINED pieces are atomic', () => {
  const s = synth({
    pieces: [
      { piece: 'a', score: -10 }, { piece: 'b', score: -10 }, { piece: 'c', score: -10 },
      { piece: 'ab', score: -1, type: PieceType.UNUSED }, { piece: 'abc', score: -2 },
      { piece: 'bc', score: -5 }, { piece: '<X>', type: PieceType.USER_DEFINED }, { piece: 'X', score: -10 },
    ],
    addDummyPrefix: false,
  });
  assert.equal(s.encodePieces('abc'), ['abc']); // ab (unused) is an intermediate step only
  assert.equal(s.encodePieces('ab'), ['a', 'b']); // re-segmented
  assert.equal(s.encodePieces('a<X>b'), ['a', '<X>', 'b']);
  assert.equal(s.encodeIds('<X>'), [9]);
  assert.is(s.decodeIds(s.encodeIds('a<X>bc')), 'a<X>bc');
});

test('without byte fallback unknown runs become one piece with the unk id', () => {
  const s = synth({ pieces: [{ piece: '▁', score: -1 }, { piece: 'a', score: -2 }], byteFallback: false });
  const r = s.encode('a日本a');
  assert.equal(r.map((x) => x.piece), ['▁', 'a', '日本', 'a']);
  assert.equal(r.map((x) => x.id), [3, 4, 0, 4]);
  assert.is(s.decodeIds(r.map((x) => x.id)), 'a \u2047 a');
  assert.is(s.decodePieces(r.map((x) => x.piece)), 'a日本a');
});

test('remove_extra_whitespaces and no dummy prefix', () => {
  const pieces = [{ piece: '▁', score: -1 }, { piece: 'a', score: -2 }, { piece: 'b', score: -3 }];
  let s = synth({ pieces, removeExtraWhitespaces: true });
  assert.is(s.normalize('  a   b  '), '▁a▁b');
  assert.is(s.normalize('   '), '');
  s = synth({ pieces, removeExtraWhitespaces: false });
  assert.is(s.normalize('  a   b  '), '▁▁▁a▁▁▁b▁▁');
  s = synth({ pieces, addDummyPrefix: false });
  assert.is(s.normalize('a b'), 'a▁b');
  assert.equal(s.encodePieces('a b'), ['a', '▁', 'b']);
  assert.is(s.decodePieces(['a', '▁', 'b']), 'a b');
});

test('precompiled_charsmap (Darts double array): A -> a', () => {
  // Units: root offset 1; node 1^0x41 = 64 holds label 0x41 with a leaf and offset 1; leaf 65 holds value 0.
  const units = new Uint32Array(66);
  units[0] = 1 << 10;
  units[64] = (1 << 10) | (1 << 8) | 0x41;
  units[65] = 0x80000000 | 0;
  const normalized = new TextEncoder().encode('a\0');
  const blob = new Uint8Array(4 + units.byteLength + normalized.length);
  new DataView(blob.buffer).setUint32(0, units.byteLength, true);
  blob.set(new Uint8Array(units.buffer), 4);
  blob.set(normalized, 4 + units.byteLength);
  const s = synth({ pieces: [{ piece: '▁', score: -1 }, { piece: 'a', score: -2 }, { piece: 'B', score: -3 }], charsmap: blob });
  assert.is(s.normalize('ABA'), '▁aBa');
  assert.equal(s.encodePieces('AB'), ['▁', 'a', 'B']);
  // A broken blob is a FormatError.
  const broken = blob.slice();
  new DataView(broken.buffer).setUint32(0, 1e6, true);
  assert.throws(() => synth({ pieces: [{ piece: 'a' }], charsmap: broken }), (e: unknown) => e instanceof FormatError);
});

test('unknown fields, groups and repeated submessages are handled like protobuf', () => {
  const extra = [...fVarint(99, 5), ...key(98, 1), 1, 2, 3, 4, 5, 6, 7, 8, ...key(97, 3), ...fVarint(1, 1), ...key(97, 4),
    ...fBytes(3, fVarint(3, false))]; // a second normalizer_spec: add_dummy_prefix = false (merged)
  const s = synth({ pieces: [{ piece: 'a', score: -1 }], extra });
  assert.not.ok(s.proto.normalizerSpec.addDummyPrefix);
  assert.is(s.proto.normalizerSpec.name, 'identity');
  assert.is(s.proto.trainerSpec.padId, -1);
});

// ------------------------------------------------------------------------------------------------------------
// Errors

function isFormatError(file: string) {
  return (e: unknown) => e instanceof FormatError && (e as FormatError).message.includes(file);
}

test('broken or unsupported models throw FormatError naming the file', () => {
  const f = 'bad/tokenizer.model';
  assert.throws(() => LlamaTokenizer.fromBytes(MODEL_BYTES.subarray(0, 1000), { file: f }), isFormatError(f));
  assert.throws(() => LlamaTokenizer.fromBytes(new Uint8Array(0), { file: f }), isFormatError(f));
  assert.throws(() => LlamaTokenizer.fromBytes(Uint8Array.of(0xff, 0xff, 0xff), { file: f }), isFormatError(f));
  assert.throws(() => SentencePieceProcessor.fromBytes(Uint8Array.of(0x0f), f), isFormatError(f)); // wire type 7
  const p = (piece: string) => ({ piece, score: -1 });
  const build = (m: SynthModel) => () => SentencePieceProcessor.fromBytes(modelBytes(m), f);
  assert.throws(build({ pieces: [p('a')], modelType: ModelType.UNIGRAM }), (e: unknown) => isFormatError(f)(e) && /UNIGRAM/.test(String(e)));
  assert.throws(build({ pieces: [p('a'), p('a')] }), (e: unknown) => isFormatError(f)(e) && /already defined/.test(String(e)));
  assert.throws(build({ pieces: [p('')] }), (e: unknown) => isFormatError(f)(e) && /empty/.test(String(e)));
  assert.throws(build({ pieces: [{ piece: '<0x41>', type: PieceType.BYTE }] }), (e: unknown) => isFormatError(f)(e) && /byte_fallback/.test(String(e)));
  assert.throws(build({ pieces: [{ piece: '<unk2>', type: PieceType.UNKNOWN }] }), (e: unknown) => isFormatError(f)(e) && /unk/.test(String(e)));
  assert.throws(build({ pieces: [{ piece: 'x', type: 9 }] }), isFormatError(f));
  // byte_fallback with missing byte pieces
  const m = parseModelProto(MODEL_BYTES, f);
  m.pieces.splice(3 + 0x41, 1);
  assert.throws(() => new SentencePieceProcessor(m, f), (e: unknown) => isFormatError(f)(e) && /256 byte pieces/.test(String(e)));
  // invalid UTF-8 in a piece
  const bad = modelBytes({ pieces: [p('zz')] });
  const at = bad.indexOf(0x7a);
  bad[at] = 0xff;
  assert.throws(() => SentencePieceProcessor.fromBytes(bad, f), (e: unknown) => isFormatError(f)(e) && /UTF-8/.test(String(e)));
});

test('fuzz: 300 mutated tokenizer.model files only ever throw FormatError, and never hang', () => {
  const rand = rng(12345);
  const ri = (n: number) => Math.floor(rand() * n);
  const file = 'fuzz/tokenizer.model';
  let failed = 0, loaded = 0;
  const t0 = performance.now();
  for (let k = 0; k < 300; k++) {
    let b = MODEL_BYTES.slice();
    switch (k % 6) {
      case 0: b = b.slice(0, ri(b.length)); break; // truncate
      case 1: for (let j = 0, n = 1 + ri(8); j < n; j++) b[ri(b.length)] = ri(256); break; // random bytes
      case 2: for (let j = 0, n = 1 + ri(4); j < n; j++) b[ri(b.length)] ^= 1 << ri(8); break; // bit flips
      case 3: { // insert junk
        const at = ri(b.length), junk = Array.from({ length: 1 + ri(16) }, () => ri(256));
        b = Uint8Array.from([...b.subarray(0, at), ...junk, ...b.subarray(at)]);
        break;
      }
      case 4: { // delete a range
        const at = ri(b.length), n = 1 + ri(64);
        b = Uint8Array.from([...b.subarray(0, at), ...b.subarray(at + n)]);
        break;
      }
      case 5: b.fill(0xff, ri(b.length), ri(b.length) + 1 + ri(12)); break; // long varints
    }
    const t = performance.now();
    try {
      const tk = LlamaTokenizer.fromBytes(b, { file });
      loaded++;
      for (const c of CASES.cases) {
        const ids = tk.encode(c.text);
        tk.decode(ids);
        tk.decode(ids, { skipSpecialTokens: true });
      }
    } catch (e) {
      failed++;
      if (!(e instanceof FormatError) || !e.message.includes(file)) {
        throw new Error(`mutation ${k}: expected a FormatError naming the file, got ${String(e)}`);
      }
    }
    assert.ok(performance.now() - t < 2000, `mutation ${k} took too long`);
  }
  assert.ok(failed >= 50, `only ${failed} mutations were rejected`);
  assert.ok(loaded + failed === 300);
  assert.ok(performance.now() - t0 < 30000);
});

// ------------------------------------------------------------------------------------------------------------
// Speed on a 32000-piece vocabulary

test('speed: 32000-piece vocabulary, long texts (heap + linked list, not rescans)', () => {
  // Build a BPE vocab by real BPE training steps over a synthetic corpus until 32000 pieces exist.
  const rand = rng(99);
  const letters = 'abcdefghijklmnopqrstuvwxyz';
  const words: string[] = [];
  for (let i = 0; i < 4000; i++) {
    let w = '';
    for (let j = 0, n = 2 + Math.floor(rand() * 9); j < n; j++) w += letters[Math.floor(rand() * 26)];
    words.push(w);
  }
  const pieces: SynthPiece[] = [{ piece: '▁', score: 0 }];
  const seen = new Set<string>(['▁']);
  for (const ch of letters) {
    pieces.push({ piece: ch, score: 0 });
    seen.add(ch);
  }
  // Candidate pieces: prefixes/suffixes/substrings of the words with the ▁ prefix, ordered by length.
  const cands: string[] = [];
  for (const w0 of words) {
    const w = '▁' + w0;
    for (let i = 0; i < w.length; i++) for (let j = i + 2; j <= w.length; j++) cands.push(w.slice(i, j));
  }
  cands.sort((a, b) => a.length - b.length);
  for (const c of cands) {
    if (pieces.length >= 32000 - 3 - 256) break;
    if (seen.has(c)) continue;
    seen.add(c);
    pieces.push({ piece: c, score: -pieces.length });
  }
  const s = synth({ pieces, byteFallback: true });
  assert.is(s.pieceSize, 32000);
  let text = '';
  while (text.length < 200_000) text += words[Math.floor(rand() * words.length)] + (rand() < 0.1 ? '.\n' : ' ');
  const t0 = performance.now();
  const ids = s.encodeIds(text);
  const dt = performance.now() - t0;
  // Hang guard against quadratic rescans (not a speed measurement: that is what the bench is for).
  assert.ok(dt < 60000, `encoding 200k chars took ${dt.toFixed(0)} ms`);
  assert.is(s.decodeIds(ids), text);
  // One long run with no spaces (worst case for rescanning implementations).
  const long = words.join('').slice(0, 50_000);
  const t1 = performance.now();
  const ids2 = s.encodeIds(long);
  assert.ok(performance.now() - t1 < 60000);
  assert.is(s.decodeIds(ids2), long);
  // Same result as the naive reference on short pieces of it.
  for (let k = 0; k < 20; k++) {
    const at = Math.floor(rand() * (text.length - 60));
    const sub = text.slice(at, at + 60);
    assert.equal(s.encodePieces(sub), naiveEncodePieces(s, sub), JSON.stringify(sub));
  }
});

// ------------------------------------------------------------------------------------------------------------
// CLI

function cli(args: string[], input?: string) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'tokenize', ...args], {
    cwd: ROOT, encoding: 'utf8', timeout: 60_000, input,
  });
  return { code: r.status, out: r.stdout, err: r.stderr };
}

test('CLI: ahamask tokenize --json, table, dir or file, stdin, decode', () => {
  const dir = join(FIXTURE, 'vicuna');
  let r = cli(['--tokenizer', dir, '--json', '</Speech> \nASSISTANT:']);
  assert.is(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out), { pieces: CASES.cases[1].pieces, ids: CASES.cases[1].ids });
  r = cli(['--tokenizer', MODEL_PATH, '--json', '--bos', 'USER: <Speech>']);
  assert.is(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).ids, [1, 348, 575, 326, 275, 571]);
  r = cli(['--tokenizer', dir, 'USER: <Speech>']);
  assert.is(r.code, 0, r.err);
  const lines = r.out.trim().split('\n');
  assert.is(lines.length, 6);
  assert.match(lines[0], /^348\s+▁USER$/);
  assert.match(lines[5], /^5 tokens/);
  r = cli(['--tokenizer', dir, '--json', '-'], 'line1\nline2\ttab');
  assert.is(r.code, 0, r.err);
  assert.equal(JSON.parse(r.out).ids, CASES.cases[8].ids);
  r = cli(['--tokenizer', dir, '--decode', '--skip-special', '1,448,457,187,255,2']);
  assert.is(r.code, 0, r.err);
  assert.is(r.out, 'azyind\ufffd\ufffd\n');
  r = cli(['--tokenizer', dir, '--decode', '--json', '1', '448', '2']);
  assert.equal(JSON.parse(r.out), { text: '<s> azy</s>', tokens: ['<s>', 'azy', '</s>'] });
});

test('CLI: errors (missing option, missing file, corrupt model)', () => {
  let r = cli(['hello']);
  assert.is(r.code, 2);
  assert.match(r.err, /--tokenizer is required/);
  r = cli(['--tokenizer', '/nonexistent/dir', 'x']);
  assert.is(r.code, 1);
  assert.match(r.err, /nonexistent/);
  const tmp = mkdtempSync(join(tmpdir(), 'ahamask-tok-'));
  writeFileSync(join(tmp, 'tokenizer.model'), MODEL_BYTES.subarray(0, 4321));
  r = cli(['--tokenizer', tmp, 'x']);
  assert.is(r.code, 1);
  assert.ok(r.err.includes(join(tmp, 'tokenizer.model')), r.err);
  r = cli(['--tokenizer', tmp, '--bogus', 'x']);
  assert.is(r.code, 2);
  r = cli(['--help']);
  assert.is(r.code, 0);
  assert.match(r.out, /usage: ahamask tokenize/);
});

test.run();
