// Trains a small SentencePiece BPE model and writes it as a real `tokenizer.model` (`ModelProto`, proto2 wire
// format) in LLaMA's layout: `<unk>`=0, `<s>`=1, `</s>`=2, the 256 byte pieces `<0x00>`..`<0xFF>`, then the
// merged pieces (score 0, -1, -2, … in merge order, so the encoder's score order replays the training merges),
// then the single characters. Normalizer spec as LLaMA's: `identity`, dummy prefix, no whitespace collapsing.
// The trainer follows sentencepiece's bpe_model_trainer where it matters for a valid, LLaMA-like vocabulary
// (pieces never cross words, scripts, or digits; `▁` only as a prefix); it is not bit-compatible with it.
// Browser-clean; the reader is sentencepiece-proto.ts.
import { AhamaskError } from '../errors.js';
import { ModelType, PieceType } from './sentencepiece-proto.js';
import { SPACE_SYMBOL, byteToPiece } from './tokenizer.js';

export interface TrainBpeOptions {
  /** Total pieces including `<unk>`, `<s>`, `</s>` and the 256 byte pieces (sentencepiece's vocab_size). */
  vocabSize: number;
  /** Must be true (LLaMA layout): characters outside the vocabulary are encoded as UTF-8 byte pieces. */
  byteFallback: true;
  /** Longest piece in characters (sentencepiece's max_sentencepiece_length, default 16). */
  maxPieceLength?: number;
  /** trainer_spec.model_prefix, informational (default "tokenizer"). */
  modelPrefix?: string;
}

export interface TrainedBpe {
  /** The `tokenizer.model` bytes. */
  bytes: Uint8Array;
  /** Every piece in id order. */
  pieces: Array<{ piece: string; score: number; type: number }>;
}

/** Scripts that may not be mixed inside one piece (sentencepiece split_by_unicode_script). */
const SCRIPTS = ['Latin', 'Greek', 'Cyrillic', 'Armenian', 'Hebrew', 'Arabic', 'Devanagari', 'Thai', 'Hangul', 'Han', 'Hiragana', 'Katakana'];
const SCRIPT_RES = SCRIPTS.map((s) => new RegExp(`^\\p{Script=${s}}$`, 'u'));
const ANY = 'any';
function scriptOf(ch: string): string {
  if (ch === SPACE_SYMBOL) return ANY;
  for (let i = 0; i < SCRIPTS.length; i++) {
    if (SCRIPT_RES[i].test(ch)) return SCRIPTS[i] === 'Hiragana' || SCRIPTS[i] === 'Katakana' ? 'Han' : SCRIPTS[i];
  }
  return 'Common';
}
const isDigit = (ch: string) => ch >= '0' && ch <= '9';
/** Characters left to byte fallback rather than made pieces (as LLaMA: control characters like "\n"). */
const isControl = (ch: string) => /^\p{Cc}$/u.test(ch);

/** sentencepiece IsValidSentencePiece (split_by_unicode_script, split_digits, whitespace only as a prefix). */
function validPiece(chars: readonly string[], maxLen: number): boolean {
  if (chars.length > maxLen) return false;
  let prev = ANY;
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i];
    if (c === SPACE_SYMBOL && i > 0) return false;
    if (isDigit(c) && chars.length > 1) return false;
    if (isControl(c)) return false;
    const s = scriptOf(c);
    if (s !== ANY && prev !== ANY && s !== prev) return false;
    if (s !== ANY) prev = s;
  }
  return true;
}

/** The normalised text as sentencepiece's identity normalizer with a dummy prefix and escaped spaces sees it. */
function normalize(text: string): string {
  return text.length === 0 ? '' : SPACE_SYMBOL + text.replaceAll(' ', SPACE_SYMBOL);
}

/** Splits normalised text before every `▁` (sentencepiece SplitIntoWords). */
function splitWords(norm: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (const ch of norm) {
    if (ch === SPACE_SYMBOL && cur.length > 0) {
      out.push(cur);
      cur = '';
    }
    cur += ch;
  }
  if (cur.length > 0) out.push(cur);
  return out;
}

/**
 * Trains a BPE model on `texts` and returns the `tokenizer.model` bytes: every text encodes with the trained
 * pieces (or byte pieces) and decodes back to itself through `LlamaTokenizer`. Merges are chosen by pair
 * frequency (ties: the lexicographically smaller merged string), until `vocabSize` pieces or no pair is left;
 * the written vocab_size is the actual piece count.
 */
export function trainBpe(texts: readonly string[], options: TrainBpeOptions): TrainedBpe {
  const { vocabSize } = options;
  const maxLen = options.maxPieceLength ?? 16;
  if (options.byteFallback !== true) throw new AhamaskError('trainBpeModel: only byteFallback: true is supported (LLaMA layout)');
  if (!Number.isInteger(vocabSize) || vocabSize < 259 + 1) throw new AhamaskError(`trainBpeModel: vocabSize ${vocabSize} must be an integer ≥ 260 (3 specials + 256 bytes + pieces)`);

  // Word frequencies.
  const wordFreq = new Map<string, number>();
  for (const t of texts) for (const w of splitWords(normalize(t))) wordFreq.set(w, (wordFreq.get(w) ?? 0) + 1);
  const words = [...wordFreq.keys()].sort();
  const freqs = words.map((w) => wordFreq.get(w)!);
  const syms = words.map((w) => [...w]);

  // Required characters: every non-control character of the corpus, most frequent first (ties by code point).
  const charFreq = new Map<string, number>();
  syms.forEach((s, i) => {
    for (const c of s) if (!isControl(c)) charFreq.set(c, (charFreq.get(c) ?? 0) + freqs[i]);
  });
  const chars = [...charFreq.entries()].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map(([c]) => c);
  const reserved = 3 + 256;
  if (reserved + chars.length > vocabSize)
    throw new AhamaskError(`trainBpeModel: the corpus has ${chars.length} distinct characters; vocabSize ${vocabSize} leaves room for only ${vocabSize - reserved}`);

  // Greedy merges. The corpus is small (a few hundred words), so pair counts are recomputed each round.
  const merged: string[] = [];
  const have = new Set<string>(chars);
  const budget = vocabSize - reserved - chars.length;
  while (merged.length < budget) {
    const counts = new Map<string, { n: number; a: string; b: string }>();
    syms.forEach((s, wi) => {
      for (let i = 0; i + 1 < s.length; i++) {
        const a = s[i], b = s[i + 1];
        if (isControl(a) || isControl(b)) continue;
        const key = a + '\u0000' + b;
        const e = counts.get(key);
        if (e) e.n += freqs[wi];
        else counts.set(key, { n: freqs[wi], a, b });
      }
    });
    let best: { n: number; a: string; b: string } | null = null;
    for (const e of counts.values()) {
      const m = e.a + e.b;
      if (have.has(m)) continue;
      if (!validPiece([...m], maxLen)) continue;
      if (!best || e.n > best.n || (e.n === best.n && m < best.a + best.b)) best = e;
    }
    if (!best) break;
    const m = best.a + best.b;
    merged.push(m);
    have.add(m);
    for (const s of syms) {
      for (let i = 0; i + 1 < s.length; i++) {
        if (s[i] === best.a && s[i + 1] === best.b) s.splice(i, 2, m);
      }
    }
  }

  const pieces: TrainedBpe['pieces'] = [
    { piece: '<unk>', score: 0, type: PieceType.UNKNOWN },
    { piece: '<s>', score: 0, type: PieceType.CONTROL },
    { piece: '</s>', score: 0, type: PieceType.CONTROL },
  ];
  for (let b = 0; b < 256; b++) pieces.push({ piece: byteToPiece(b), score: 0, type: PieceType.BYTE });
  merged.forEach((m, i) => pieces.push({ piece: m, score: -i, type: PieceType.NORMAL }));
  chars.forEach((c, i) => pieces.push({ piece: c, score: -(merged.length + i), type: PieceType.NORMAL }));
  return { bytes: writeModelProto(pieces, { modelPrefix: options.modelPrefix }), pieces };
}

/** `trainBpe(texts, options).bytes`: the `tokenizer.model` file. */
export function trainBpeModel(texts: readonly string[], options: TrainBpeOptions): Uint8Array {
  return trainBpe(texts, options).bytes;
}

// ---------------------------------------------------------------------------------------------------------
// proto2 wire format writer.

class Writer {
  private buf = new Uint8Array(1024);
  private n = 0;
  private ensure(k: number): void {
    if (this.n + k <= this.buf.length) return;
    const b = new Uint8Array(Math.max(this.buf.length * 2, this.n + k));
    b.set(this.buf.subarray(0, this.n));
    this.buf = b;
  }
  byte(v: number): void {
    this.ensure(1);
    this.buf[this.n++] = v;
  }
  /** Unsigned varint; negative int32 values are written as 10-byte two's complement, as protobuf does. */
  varint(v: number): void {
    if (v < 0) {
      let lo = v >>> 0, hi = 0xffffffff;
      for (let i = 0; i < 9; i++) {
        this.byte((lo & 0x7f) | 0x80);
        lo = (lo >>> 7) | ((hi & 0x7f) << 25);
        hi >>>= 7;
      }
      this.byte(1);
      return;
    }
    while (v >= 0x80) {
      this.byte((v % 0x80) | 0x80);
      v = Math.floor(v / 0x80);
    }
    this.byte(v);
  }
  tag(field: number, wire: number): void {
    this.varint(field * 8 + wire);
  }
  int(field: number, v: number): void {
    this.tag(field, 0);
    this.varint(v);
  }
  bool(field: number, v: boolean): void {
    this.int(field, v ? 1 : 0);
  }
  float(field: number, v: number): void {
    this.tag(field, 5);
    this.ensure(4);
    new DataView(this.buf.buffer).setFloat32(this.n, v, true);
    this.n += 4;
  }
  bytes(field: number, v: Uint8Array): void {
    this.tag(field, 2);
    this.varint(v.length);
    this.ensure(v.length);
    this.buf.set(v, this.n);
    this.n += v.length;
  }
  string(field: number, s: string): void {
    this.bytes(field, UTF8.encode(s));
  }
  finish(): Uint8Array {
    return this.buf.slice(0, this.n);
  }
}
const UTF8 = new TextEncoder();

/**
 * Serialises a BPE `ModelProto` in LLaMA's layout (trainer spec with byte fallback, identity normalizer) from
 * its pieces; the pieces must already hold `<unk>` (UNKNOWN) and the 256 BYTE pieces.
 */
export function writeModelProto(pieces: ReadonlyArray<{ piece: string; score: number; type: number }>, options: { modelPrefix?: string } = {}): Uint8Array {
  const modelPrefix = options.modelPrefix ?? 'tokenizer';
  const w = new Writer();
  for (const p of pieces) {
    const pw = new Writer();
    pw.string(1, p.piece);
    pw.float(2, p.score);
    if (p.type !== PieceType.NORMAL) pw.int(3, p.type);
    w.bytes(1, pw.finish());
  }
  // trainer_spec: the fields LLaMA's tokenizer.model sets (sentencepiece_model.proto numbering).
  const t = new Writer();
  t.string(2, modelPrefix); // model_prefix
  t.int(3, ModelType.BPE); // model_type
  t.int(4, pieces.length); // vocab_size
  t.float(10, 1); // character_coverage
  t.int(16, 1); // num_threads
  t.int(20, 16); // max_sentencepiece_length
  t.bool(21, true); // split_by_unicode_script
  t.bool(23, true); // split_by_number
  t.bool(22, true); // split_by_whitespace
  t.bool(24, false); // treat_whitespace_as_suffix
  t.bool(25, true); // split_digits
  t.bool(26, true); // allow_whitespace_only_pieces
  t.bool(35, true); // byte_fallback
  t.int(40, 0); // unk_id
  t.int(41, 1); // bos_id
  t.int(42, 2); // eos_id
  t.int(43, -1); // pad_id
  t.string(44, ' \u2047 '); // unk_surface
  t.string(45, '<unk>');
  t.string(46, '<s>');
  t.string(47, '</s>');
  t.string(48, '<pad>');
  w.bytes(2, t.finish());
  // normalizer_spec: LLaMA's identity normalizer.
  const n = new Writer();
  n.string(1, 'identity');
  n.bytes(2, new Uint8Array(0));
  n.bool(3, true); // add_dummy_prefix
  n.bool(4, false); // remove_extra_whitespaces
  n.bool(5, true); // escape_whitespaces
  w.bytes(3, n.finish());
  return w.finish();
}
