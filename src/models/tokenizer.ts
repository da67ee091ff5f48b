// SentencePiece (BPE, byte fallback) and the HF `LlamaTokenizer` (transformers 4.28, slow) on top of it,
// reading the real `tokenizer.model` bytes. No dependencies, browser-clean.
//
// Layers, as in the reference stack (spec §2.8, §2.10.6, §10.1, §10.13):
// * `SentencePieceProcessor`: sentencepiece 0.1.97 — normalizer (identity or precompiled charsmap,
//   dummy prefix, whitespace escaping), BPE merges in score order (bpe_model.cc), byte fallback, decode.
// * `LlamaTokenizer`: HF slow tokenizer — special tokens (`<s>`, `</s>`, `<unk>`, added `[PAD]`) are split
//   out of the text before sentencepiece sees it, no BOS unless asked, HF 4.28 decode rules.
import { AhamaskError, FormatError } from '../errors.js';
import {
  ModelType,
  PieceType,
  parseModelProto,
  type ModelProto,
  type NormalizerSpec,
  type SentencePieceEntry,
} from './sentencepiece-proto.js';

export { ModelType, PieceType, parseModelProto };
export type { ModelProto, NormalizerSpec, SentencePieceEntry, TrainerSpec } from './sentencepiece-proto.js';

/** U+2581 LOWER ONE EIGHTH BLOCK, SentencePiece's whitespace symbol. */
export const SPACE_SYMBOL = '\u2581';
const REPLACEMENT = '\ufffd';

const utf8Encoder = new TextEncoder();
const utf8Lenient = new TextDecoder('utf-8', { ignoreBOM: true });

// ---------------------------------------------------------------------------------------------------------
// Byte / UTF-8 helpers with sentencepiece's exact rules.

/** `<0xXX>` (upper-case hex), sentencepiece's ByteToPiece. */
export function byteToPiece(b: number): string {
  return `<0x${b.toString(16).toUpperCase().padStart(2, '0')}>`;
}

const BYTE_PIECE = /^<0x([0-9A-F]{2})>$/;
/** The byte of a `<0xXX>` piece, or -1 (sentencepiece's PieceToByte: upper-case hex only). */
export function pieceToByte(piece: string): number {
  const m = BYTE_PIECE.exec(piece);
  return m ? parseInt(m[1], 16) : -1;
}

const isTrail = (b: number) => (b & 0xc0) === 0x80;
const isValidCodepoint = (c: number) => c < 0xd800 || (c >= 0xe000 && c <= 0x10ffff);

/**
 * sentencepiece's `string_util::DecodeUTF8` + `IsValidDecodeUTF8`: the code point at `pos` and its length;
 * `cp = -1` for a structurally invalid sequence (then `len = 1`). A literal U+FFFD counts as valid.
 */
function decodeUtf8At(b: ArrayLike<number>, pos: number, end: number): { cp: number; len: number } {
  const len = end - pos;
  const c0 = b[pos];
  if (c0 < 0x80) return { cp: c0, len: 1 };
  if (len >= 2 && (c0 & 0xe0) === 0xc0) {
    const cp = ((c0 & 0x1f) << 6) | (b[pos + 1] & 0x3f);
    if (isTrail(b[pos + 1]) && cp >= 0x80 && isValidCodepoint(cp)) return { cp, len: 2 };
  } else if (len >= 3 && (c0 & 0xf0) === 0xe0) {
    const cp = ((c0 & 0x0f) << 12) | ((b[pos + 1] & 0x3f) << 6) | (b[pos + 2] & 0x3f);
    if (isTrail(b[pos + 1]) && isTrail(b[pos + 2]) && cp >= 0x800 && isValidCodepoint(cp)) return { cp, len: 3 };
  } else if (len >= 4 && (c0 & 0xf8) === 0xf0) {
    const cp = ((c0 & 0x07) << 18) | ((b[pos + 1] & 0x3f) << 12) | ((b[pos + 2] & 0x3f) << 6) | (b[pos + 3] & 0x3f);
    if (isTrail(b[pos + 1]) && isTrail(b[pos + 2]) && isTrail(b[pos + 3]) && cp >= 0x10000 && isValidCodepoint(cp))
      return { cp, len: 4 };
  }
  return { cp: -1, len: 1 };
}

/** Bytes to text the way sentencepiece's decoder does: each invalid byte becomes one U+FFFD. */
export function bytesToTextLikeSentencePiece(bytes: ArrayLike<number>): string {
  let out = '';
  for (let i = 0; i < bytes.length; ) {
    const { cp, len } = decodeUtf8At(bytes, i, bytes.length);
    out += cp < 0 ? REPLACEMENT : String.fromCodePoint(cp);
    i += len;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Prefix matchers.

/** Longest-prefix matcher over sequences of small integers (bytes or UTF-16 code units). */
class PrefixTrie {
  private readonly root = new Map<number, TrieNode>();
  add(units: ArrayLike<number>): void {
    let m = this.root;
    let node: TrieNode | undefined;
    for (let i = 0; i < units.length; i++) {
      node = m.get(units[i]);
      if (!node) m.set(units[i], (node = { end: false, next: new Map() }));
      m = node.next;
    }
    if (node) node.end = true;
  }
  /** Length of the longest entry that is a prefix of `get(pos..end)`, or 0. */
  longest(get: (i: number) => number, pos: number, end: number): number {
    let m = this.root, best = 0;
    for (let i = pos; i < end; i++) {
      const node = m.get(get(i));
      if (!node) break;
      if (node.end) best = i + 1 - pos;
      m = node.next;
    }
    return best;
  }
}
interface TrieNode {
  end: boolean;
  next: Map<number, TrieNode>;
}

/** A Darts-clone double array (the trie inside `precompiled_charsmap`), commonPrefixSearch only. */
class DartsDoubleArray {
  constructor(private readonly units: Uint32Array) {}
  /** [length, value] of every key that is a prefix of bytes[pos..end). Out-of-range indices end the walk. */
  commonPrefixSearch(bytes: Uint8Array, pos: number, end: number): Array<[number, number]> {
    const a = this.units;
    const out: Array<[number, number]> = [];
    if (a.length === 0) return out;
    const offset = (u: number) => (u >>> 10) << ((u & (1 << 9)) >>> 6);
    let id = offset(a[0]);
    for (let i = pos; i < end; i++) {
      const c = bytes[i];
      id = (id ^ c) >>> 0;
      if (id >= a.length) return out;
      const unit = a[id];
      // label(): unit & ((1 << 31) | 0xFF)
      if ((unit & 0x800000ff) >>> 0 !== c) return out;
      id = (id ^ offset(unit)) >>> 0;
      if ((unit >>> 8) & 1) {
        if (id >= a.length) return out;
        out.push([i + 1 - pos, a[id] & 0x7fffffff]);
      }
    }
    return out;
  }
}

// ---------------------------------------------------------------------------------------------------------
// Normalizer (normalizer.cc).

class Normalizer {
  private readonly trie: DartsDoubleArray | null = null;
  private readonly normalized: Uint8Array = new Uint8Array(0);
  constructor(
    private readonly spec: NormalizerSpec,
    private readonly file: string,
    private readonly userDefined: PrefixTrie | null,
    private readonly treatWhitespaceAsSuffix: boolean,
  ) {
    const blob = spec.precompiledCharsmap;
    if (blob.length > 0) {
      if (blob.length <= 4) throw new FormatError(file, 'invalid SentencePiece model: precompiled_charsmap is broken');
      const dv = new DataView(blob.buffer, blob.byteOffset, blob.byteLength);
      const trieSize = dv.getUint32(0, true);
      if (trieSize >= blob.length)
        throw new FormatError(file, 'invalid SentencePiece model: precompiled_charsmap trie size exceeds the blob');
      const n = Math.floor(trieSize / 4);
      const units = new Uint32Array(n);
      for (let i = 0; i < n; i++) units[i] = dv.getUint32(4 + 4 * i, true);
      this.trie = new DartsDoubleArray(units);
      this.normalized = blob.subarray(4 + trieSize);
    }
  }

  /** NormalizePrefix: [replacement bytes, consumed input bytes] for the text at `pos`. */
  private prefix(input: Uint8Array, pos: number): [ArrayLike<number>, number] {
    const end = input.length;
    if (this.userDefined) {
      const n = this.userDefined.longest((i) => input[i], pos, end);
      if (n > 0) return [input.subarray(pos, pos + n), n];
    }
    if (this.trie) {
      let bestLen = 0, bestValue = 0;
      for (const [len, value] of this.trie.commonPrefixSearch(input, pos, end)) {
        if (bestLen === 0 || len > bestLen) {
          bestLen = len;
          bestValue = value;
        }
      }
      if (bestLen > 0) {
        const norm = this.normalized;
        if (bestValue >= norm.length)
          throw new FormatError(this.file, `invalid SentencePiece model: precompiled_charsmap points past its strings (${bestValue})`);
        let e = bestValue;
        while (e < norm.length && norm[e] !== 0) e++;
        return [norm.subarray(bestValue, e), bestLen];
      }
    }
    const { cp, len } = decodeUtf8At(input, pos, end);
    if (cp < 0) return [REPLACEMENT_BYTES, 1];
    return [input.subarray(pos, pos + len), len];
  }

  normalize(text: string): string {
    const input = utf8Encoder.encode(text);
    if (input.length === 0) return '';
    const spec = this.spec;
    let pos = 0;
    if (spec.removeExtraWhitespaces) {
      while (pos < input.length) {
        const [s, n] = this.prefix(input, pos);
        if (!(s.length === 1 && s[0] === 0x20)) break;
        pos += n;
      }
    }
    if (pos >= input.length) return '';
    const out: number[] = [];
    const addWs = () => {
      if (spec.escapeWhitespaces) out.push(0xe2, 0x96, 0x81);
      else out.push(0x20);
    };
    if (!this.treatWhitespaceAsSuffix && spec.addDummyPrefix) addWs();
    let isPrevSpace = spec.removeExtraWhitespaces;
    while (pos < input.length) {
      const [s, n] = this.prefix(input, pos);
      let k = 0;
      if (isPrevSpace) while (k < s.length && s[k] === 0x20) k++;
      if (k < s.length) {
        for (let j = k; j < s.length; j++) {
          if (spec.escapeWhitespaces && s[j] === 0x20) out.push(0xe2, 0x96, 0x81);
          else out.push(s[j]);
        }
        isPrevSpace = s[s.length - 1] === 0x20;
      }
      pos += n;
      if (!spec.removeExtraWhitespaces) isPrevSpace = false;
    }
    if (spec.removeExtraWhitespaces) {
      if (spec.escapeWhitespaces) {
        while (out.length >= 3 && out[out.length - 3] === 0xe2 && out[out.length - 2] === 0x96 && out[out.length - 1] === 0x81)
          out.length -= 3;
      } else while (out.length > 0 && out[out.length - 1] === 0x20) out.length -= 1;
    }
    if (this.treatWhitespaceAsSuffix && spec.addDummyPrefix) addWs();
    return utf8Lenient.decode(Uint8Array.from(out));
  }
}
const REPLACEMENT_BYTES = Uint8Array.of(0xef, 0xbf, 0xbd);

// ---------------------------------------------------------------------------------------------------------
// BPE merge agenda: a binary max-heap ordered by (score desc, left asc), like bpe_model.cc's priority_queue.

interface SymbolPair {
  left: number;
  right: number;
  score: number;
  size: number;
}
class Agenda {
  private readonly h: SymbolPair[] = [];
  get size(): number {
    return this.h.length;
  }
  private static before(a: SymbolPair, b: SymbolPair): boolean {
    return a.score > b.score || (a.score === b.score && a.left < b.left);
  }
  push(p: SymbolPair): void {
    const h = this.h;
    let i = h.length;
    h.push(p);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!Agenda.before(p, h[parent])) break;
      h[i] = h[parent];
      i = parent;
    }
    h[i] = p;
  }
  pop(): SymbolPair {
    const h = this.h;
    const top = h[0];
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && Agenda.before(h[r], h[l]) ? r : l;
        if (!Agenda.before(h[c], last)) break;
        h[i] = h[c];
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}

// ---------------------------------------------------------------------------------------------------------

/** One encoded piece: the piece text as sentencepiece reports it, and its id. */
export interface EncodedPiece {
  piece: string;
  id: number;
}

/**
 * sentencepiece 0.1.97 `SentencePieceProcessor` for BPE models: encode / decode exactly as the C++ library.
 * Construct with `SentencePieceProcessor.fromBytes(bytes, 'path/tokenizer.model')`.
 */
export class SentencePieceProcessor {
  readonly proto: ModelProto;
  private readonly pieceList: SentencePieceEntry[];
  /** NORMAL, USER_DEFINED and UNUSED pieces (the ones BPE may produce). */
  private readonly pieces = new Map<string, number>();
  /** CONTROL, UNKNOWN and BYTE pieces. */
  private readonly reserved = new Map<string, number>();
  private readonly unk: number;
  private readonly byteIds: Int32Array;
  private readonly userDefined: PrefixTrie | null;
  private readonly normalizer: Normalizer;
  private readonly denormalizer: Normalizer | null;

  constructor(proto: ModelProto, readonly file = 'tokenizer.model') {
    this.proto = proto;
    this.pieceList = proto.pieces;
    const ts = proto.trainerSpec;
    const bad = (msg: string): never => {
      throw new FormatError(file, `invalid SentencePiece model: ${msg}`);
    };
    if (ts.modelType !== ModelType.BPE) {
      const name = Object.entries(ModelType).find(([, v]) => v === ts.modelType)?.[0] ?? String(ts.modelType);
      bad(`model_type ${name} is not supported (only BPE, as LLaMA/Vicuna use)`);
    }
    let unk = -1;
    const byteIds = new Int32Array(256).fill(-1);
    const userDefinedSymbols: string[] = [];
    proto.pieces.forEach((p, i) => {
      if (p.piece.length === 0) bad(`piece #${i} is empty`);
      const normal = p.type === PieceType.NORMAL || p.type === PieceType.USER_DEFINED || p.type === PieceType.UNUSED;
      const map = normal ? this.pieces : this.reserved;
      if (map.has(p.piece)) bad(`piece ${JSON.stringify(p.piece)} (#${i}) is already defined`);
      map.set(p.piece, i);
      if (p.type === PieceType.USER_DEFINED) userDefinedSymbols.push(p.piece);
      if (p.type === PieceType.UNKNOWN) {
        if (unk >= 0) bad(`unk is already defined (#${unk} and #${i})`);
        unk = i;
      }
      if (p.type === PieceType.BYTE) {
        if (!ts.byteFallback) bad(`byte piece ${JSON.stringify(p.piece)} found although byte_fallback is false`);
        const b = pieceToByte(p.piece);
        if (b < 0) bad(`byte piece ${JSON.stringify(p.piece)} (#${i}) is invalid`);
        byteIds[b] = i;
      }
    });
    if (unk < 0) bad('unk is not defined');
    if (ts.byteFallback && byteIds.includes(-1)) bad('there are not 256 byte pieces although byte_fallback is true');
    this.unk = unk;
    this.byteIds = byteIds;
    if (userDefinedSymbols.length > 0) {
      const t = new PrefixTrie();
      for (const s of userDefinedSymbols) t.add(stringUnits(s));
      this.userDefined = t;
    } else this.userDefined = null;
    let udBytes: PrefixTrie | null = null;
    if (userDefinedSymbols.length > 0) {
      udBytes = new PrefixTrie();
      for (const s of userDefinedSymbols) udBytes.add(utf8Encoder.encode(s));
    }
    this.normalizer = new Normalizer(proto.normalizerSpec, file, udBytes, ts.treatWhitespaceAsSuffix);
    const dn = proto.denormalizerSpec;
    this.denormalizer = dn && dn.precompiledCharsmap.length > 0 ? new Normalizer(dn, file, null, false) : null;
  }

  /** Parses `tokenizer.model` bytes; a broken file throws FormatError naming `file`. */
  static fromBytes(bytes: Uint8Array, file = 'tokenizer.model'): SentencePieceProcessor {
    return new SentencePieceProcessor(parseModelProto(bytes, file), file);
  }

  /** Number of pieces (LLaMA: 32000). */
  get pieceSize(): number {
    return this.pieceList.length;
  }
  get byteFallback(): boolean {
    return this.proto.trainerSpec.byteFallback;
  }
  /** sentencepiece's PieceToId: reserved (control/unknown/byte) pieces first, then normal ones, else unk. */
  pieceToId(piece: string): number {
    return this.reserved.get(piece) ?? this.pieces.get(piece) ?? this.unk;
  }
  /** The piece of `id`; throws for ids outside [0, pieceSize). */
  idToPiece(id: number): string {
    const p = this.pieceList[id];
    if (!Number.isInteger(id) || !p) throw new AhamaskError(`${this.file}: piece id ${id} is out of range [0, ${this.pieceSize})`);
    return p.piece;
  }
  getScore(id: number): number {
    return this.pieceList[id]?.score ?? 0;
  }
  private typeOf(id: number): number {
    return this.pieceList[id]?.type ?? 0;
  }
  isControl(id: number): boolean {
    return this.typeOf(id) === PieceType.CONTROL;
  }
  isUnknown(id: number): boolean {
    return this.typeOf(id) === PieceType.UNKNOWN;
  }
  isUnused(id: number): boolean {
    return this.typeOf(id) === PieceType.UNUSED;
  }
  isByte(id: number): boolean {
    return this.typeOf(id) === PieceType.BYTE;
  }
  isUserDefined(id: number): boolean {
    return this.typeOf(id) === PieceType.USER_DEFINED;
  }
  get unkId(): number {
    return this.unk;
  }
  /** Id of trainer_spec.bos_piece if it is a control piece, else -1 (as sentencepiece). */
  get bosId(): number {
    const id = this.pieceToId(this.proto.trainerSpec.bosPiece);
    return this.isControl(id) ? id : -1;
  }
  get eosId(): number {
    const id = this.pieceToId(this.proto.trainerSpec.eosPiece);
    return this.isControl(id) ? id : -1;
  }
  get padId(): number {
    const id = this.pieceToId(this.proto.trainerSpec.padPiece);
    return this.isControl(id) ? id : -1;
  }

  /** The normalized text BPE runs on (dummy prefix, spaces as U+2581). */
  normalize(text: string): string {
    return this.normalizer.normalize(text);
  }

  /** BPE over normalized text (bpe_model.cc Encode): [piece, id] before byte fallback. */
  private bpe(normalized: string): Array<[string, number]> {
    const n = normalized.length;
    if (n === 0) return [];
    // Initial symbols: user-defined symbols (frozen) or single code points.
    const start: number[] = [], end: number[] = [], frozen: boolean[] = [];
    for (let pos = 0; pos < n; ) {
      let len = this.userDefined ? this.userDefined.longest((i) => normalized.charCodeAt(i), pos, n) : 0;
      const freeze = len > 0;
      if (!freeze) {
        const c = normalized.charCodeAt(pos);
        len = c >= 0xd800 && c < 0xdc00 && pos + 1 < n && (normalized.charCodeAt(pos + 1) & 0xfc00) === 0xdc00 ? 2 : 1;
      }
      start.push(pos);
      end.push(pos + len);
      frozen.push(freeze);
      pos += len;
    }
    const m = start.length;
    const prev = new Int32Array(m), next = new Int32Array(m);
    for (let i = 0; i < m; i++) {
      prev[i] = i - 1;
      next[i] = i + 1 < m ? i + 1 : -1;
    }
    const agenda = new Agenda();
    const revMerge = new Map<string, [string, string]>();
    const pieces = this.pieces, list = this.pieceList;
    const maybeAdd = (left: number, right: number) => {
      if (left < 0 || right < 0 || frozen[left] || frozen[right]) return;
      const piece = normalized.slice(start[left], end[right]);
      const id = pieces.get(piece);
      if (id === undefined) return;
      agenda.push({ left, right, score: list[id].score, size: end[right] - start[left] });
      if (list[id].type === PieceType.UNUSED)
        revMerge.set(piece, [normalized.slice(start[left], end[left]), normalized.slice(start[right], end[right])]);
    };
    for (let i = 1; i < m; i++) maybeAdd(i - 1, i);
    while (agenda.size > 0) {
      const top = agenda.pop();
      const l = top.left, r = top.right;
      const ll = end[l] - start[l], rl = end[r] - start[r];
      if (ll === 0 || rl === 0 || ll + rl !== top.size) continue; // stale
      end[l] = end[r];
      next[l] = next[r];
      if (next[r] >= 0) prev[next[r]] = l;
      end[r] = start[r]; // now empty
      maybeAdd(prev[l], l);
      maybeAdd(l, next[l]);
    }
    const out: Array<[string, number]> = [];
    for (let i = 0; i !== -1; i = next[i]) {
      // Resegment pieces of type UNUSED back into their parts (depth-first, left to right).
      const stack = [normalized.slice(start[i], end[i])];
      while (stack.length > 0) {
        const w = stack.pop()!;
        const id = this.pieceToId(w);
        const split = list[id].type === PieceType.UNUSED ? revMerge.get(w) : undefined;
        if (!split) out.push([w, id]);
        else stack.push(split[1], split[0]);
      }
    }
    return out;
  }

  /**
   * Encodes text into pieces and ids exactly as `sp.encode(text)`: no BOS/EOS; unknown characters become
   * `<0xXX>` byte pieces when the model has byte fallback, else runs of them become one unknown piece.
   */
  encode(text: string): EncodedPiece[] {
    const result = this.bpe(this.normalize(text));
    const out: EncodedPiece[] = [];
    let prevUnk = false;
    for (const [w, id] of result) {
      const isUnk = this.isUnknown(id);
      if (this.isControl(id)) out.push({ piece: w, id });
      else if (isUnk && this.byteFallback) {
        for (const b of utf8Encoder.encode(w)) out.push({ piece: byteToPiece(b), id: this.byteIds[b] });
      } else if (isUnk && prevUnk) out[out.length - 1].piece += w;
      else out.push({ piece: w, id });
      prevUnk = isUnk;
    }
    return out;
  }
  encodeIds(text: string): number[] {
    return this.encode(text).map((p) => p.id);
  }
  encodePieces(text: string): string[] {
    return this.encode(text).map((p) => p.piece);
  }

  /** `sp.decode(ids)`: throws for ids outside the vocabulary. */
  decodeIds(ids: ArrayLike<number>): string {
    return this.decodePieces(Array.from(ids, (id) => this.idToPiece(id)));
  }

  /**
   * `sp.decode(pieces)` (0.1.97): control pieces vanish, `<unk>` prints trainer_spec.unk_surface, runs of byte
   * pieces are reassembled as UTF-8 (each invalid byte gives U+FFFD), U+2581 becomes a space, and while the
   * output is still empty a leading U+2581 is dropped (the dummy prefix).
   */
  decodePieces(pieces: readonly string[]): string {
    const ns = this.proto.normalizerSpec;
    const stripBosWs = ns.addDummyPrefix || ns.removeExtraWhitespaces;
    const ids = pieces.map((p) => this.pieceToId(p));
    let text = '';
    let byteRun: number[] = [];
    const flush = () => {
      if (byteRun.length > 0) {
        text += bytesToTextLikeSentencePiece(byteRun);
        byteRun = [];
      }
    };
    for (let i = 0; i < pieces.length; i++) {
      const id = ids[i];
      if (this.isByte(id)) {
        byteRun.push(pieceToByte(this.pieceList[id].piece));
        continue;
      }
      flush();
      let piece = pieces[i];
      if (this.isControl(id)) continue;
      if (this.isUnknown(id)) {
        text += this.idToPiece(id) === piece ? this.proto.trainerSpec.unkSurface : piece;
        continue;
      }
      if (text.length === 0 && stripBosWs && piece.startsWith(SPACE_SYMBOL)) piece = piece.slice(1);
      text += piece.replaceAll(SPACE_SYMBOL, ' ');
    }
    flush();
    return this.denormalizer ? this.denormalizer.normalize(text) : text;
  }
}

function stringUnits(s: string): number[] {
  const u: number[] = [];
  for (let i = 0; i < s.length; i++) u.push(s.charCodeAt(i));
  return u;
}

// ---------------------------------------------------------------------------------------------------------
// HF LlamaTokenizer (transformers 4.28, use_fast=False).

/** Python's str.isspace() set, for str.strip()/lstrip()/rstrip(). */
const PY_WS = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_LSTRIP = new RegExp(`^[${PY_WS}]+`);
const PY_RSTRIP = new RegExp(`[${PY_WS}]+$`);
/** Python `str.strip()` (no arguments). */
export function pyStrip(s: string): string {
  return s.replace(PY_LSTRIP, '').replace(PY_RSTRIP, '');
}

export interface LlamaTokenizerOptions {
  /** Names the source in error messages. */
  file?: string;
  /**
   * The pad token SALMONN adds with `add_special_tokens({'pad_token': '[PAD]'})` (id = vocab size when the model
   * lacks that piece). `null`: no pad token (plain Vicuna). Default `'[PAD]'`.
   */
  padToken?: string | null;
  /** tokenizer_config.json `clean_up_tokenization_spaces` (Vicuna: false, the LlamaTokenizer default). */
  cleanUpTokenizationSpaces?: boolean;
  unkToken?: string;
  bosToken?: string;
  eosToken?: string;
}

export interface EncodeOptions {
  /** Prepend `<s>` (HF add_special_tokens with add_bos_token). Default false, as SALMONN's prompt halves. */
  bos?: boolean;
  /** Append `</s>`. Default false. */
  eos?: boolean;
}

export interface DecodeOptions {
  /** Drop `<s>`, `</s>`, `<unk>`, `[PAD]` (what SALMONN's batch_decode does). Default false, as HF. */
  skipSpecialTokens?: boolean;
  /** HF `spaces_between_special_tokens` (joins added-token chunks with a space). Default true, as HF. */
  spacesBetweenSpecialTokens?: boolean;
  /** Overrides the tokenizer's `cleanUpTokenizationSpaces`. */
  cleanUpTokenizationSpaces?: boolean;
}

/**
 * The slow HF `LlamaTokenizer` of transformers 4.28 as SALMONN/AHAMask use it: `tokenizer(text,
 * add_special_tokens=False)` for the prompt halves, `batch_decode(ids, skip_special_tokens=True)` for outputs.
 */
export class LlamaTokenizer {
  readonly unkToken: string;
  readonly bosToken: string;
  readonly eosToken: string;
  readonly padToken: string | null;
  readonly unkId: number;
  readonly bosId: number;
  readonly eosId: number;
  /** Id of the pad token, or -1 without one (SALMONN: vocab size, e.g. 32000). */
  readonly padId: number;
  readonly cleanUpTokenizationSpaces: boolean;
  /** Tokens added on top of the sentencepiece vocabulary (HF added_tokens_encoder). */
  private readonly added = new Map<string, number>();
  private readonly addedById = new Map<number, string>();
  /** Tokens never split by sentencepiece (HF unique_no_split_tokens), and whether they strip their neighbours. */
  private readonly noSplit = new Map<string, boolean>();
  private readonly noSplitTrie = new PrefixTrie();
  private readonly specialTokens: string[];
  private readonly specialIds: Set<number>;

  constructor(readonly sp: SentencePieceProcessor, options: LlamaTokenizerOptions = {}) {
    this.unkToken = options.unkToken ?? '<unk>';
    this.bosToken = options.bosToken ?? '<s>';
    this.eosToken = options.eosToken ?? '</s>';
    this.padToken = options.padToken === undefined ? '[PAD]' : options.padToken;
    this.cleanUpTokenizationSpaces = options.cleanUpTokenizationSpaces ?? false;
    // bos/eos/unk come from tokenizer_config.json as AddedToken(lstrip=False, rstrip=False): no stripping.
    for (const t of [this.bosToken, this.eosToken, this.unkToken]) this.addSpecial(t, false);
    // The pad token is added as a plain str, so HF 4.28 strips whitespace on both sides of it in the text.
    if (this.padToken !== null) this.addSpecial(this.padToken, true);
    this.unkId = this.tokenToId(this.unkToken);
    this.bosId = this.tokenToId(this.bosToken);
    this.eosId = this.tokenToId(this.eosToken);
    this.padId = this.padToken === null ? -1 : this.tokenToId(this.padToken);
    this.specialTokens = [this.bosToken, this.eosToken, this.unkToken, ...(this.padToken === null ? [] : [this.padToken])];
    this.specialIds = new Set(this.specialTokens.map((t) => this.tokenToId(t)));
  }

  /** Reads `tokenizer.model` bytes (FormatError naming `options.file` when broken). */
  static fromBytes(bytes: Uint8Array, options: LlamaTokenizerOptions = {}): LlamaTokenizer {
    return new LlamaTokenizer(SentencePieceProcessor.fromBytes(bytes, options.file ?? 'tokenizer.model'), options);
  }

  /** HF `_add_tokens(special_tokens=True)`: a token absent from the sentencepiece vocab gets the next id. */
  private addSpecial(token: string, stripsNeighbours: boolean): void {
    if (token.length === 0) throw new AhamaskError('special tokens must not be empty');
    if (token !== this.unkToken && !this.added.has(token) && this.sp.pieceToId(token) === this.sp.unkId) {
      const id = this.length;
      this.added.set(token, id);
      this.addedById.set(id, token);
    }
    if (!this.noSplit.has(token)) this.noSplitTrie.add(stringUnits(token));
    this.noSplit.set(token, stripsNeighbours);
  }

  /** Sentencepiece vocabulary size (HF `vocab_size`; LLaMA: 32000). */
  get vocabSize(): number {
    return this.sp.pieceSize;
  }
  /** HF `len(tokenizer)`: vocabulary plus added tokens (SALMONN: 32001). */
  get length(): number {
    return this.sp.pieceSize + this.added.size;
  }
  /** HF `all_special_tokens`. */
  get allSpecialTokens(): string[] {
    return [...this.specialTokens];
  }
  /** HF `all_special_ids`. */
  get allSpecialIds(): number[] {
    return this.specialTokens.map((t) => this.tokenToId(t));
  }

  /** HF `convert_tokens_to_ids` for one token: added tokens, then sentencepiece (unknown strings: unk id). */
  tokenToId(token: string): number {
    return this.added.get(token) ?? this.sp.pieceToId(token);
  }
  /** HF `convert_ids_to_tokens` for one id; throws for ids outside [0, length). */
  idToToken(id: number): string {
    const a = this.addedById.get(id);
    if (a !== undefined) return a;
    if (!Number.isInteger(id) || id < 0 || id >= this.sp.pieceSize)
      throw new AhamaskError(`${this.sp.file}: token id ${id} is out of range [0, ${this.length})`);
    return this.sp.idToPiece(id);
  }
  convertIdsToTokens(ids: ArrayLike<number>, skipSpecialTokens = false): string[] {
    const out: string[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (skipSpecialTokens && this.specialIds.has(id)) continue;
      out.push(this.idToToken(id));
    }
    return out;
  }
  convertTokensToIds(tokens: readonly string[]): number[] {
    return tokens.map((t) => this.tokenToId(t));
  }

  /** HF 4.28 `Trie.split` + neighbour stripping: alternating text chunks and no-split (special) tokens. */
  private splitOnSpecial(text: string): Array<{ text: string; special: boolean }> {
    const chunks: Array<{ text: string; special: boolean }> = [];
    let last = 0;
    for (let i = 0; i < text.length; ) {
      const len = this.noSplitTrie.longest((k) => text.charCodeAt(k), i, text.length);
      if (len === 0) {
        i++;
        continue;
      }
      if (i > last) chunks.push({ text: text.slice(last, i), special: false });
      chunks.push({ text: text.slice(i, i + len), special: true });
      i += len;
      last = i;
    }
    if (last < text.length) chunks.push({ text: text.slice(last), special: false });
    for (let i = 0; i < chunks.length; i++) {
      if (!chunks[i].special || !this.noSplit.get(chunks[i].text)) continue;
      const left = chunks[i - 1], right = chunks[i + 1];
      if (right && !right.special) right.text = right.text.replace(PY_LSTRIP, '');
      if (left && !left.special) left.text = left.text.replace(PY_RSTRIP, '');
    }
    return chunks.filter((c) => c.text.length > 0);
  }

  /** HF `tokenize(text)`: special tokens kept whole, every other chunk through sentencepiece (own dummy prefix). */
  tokenize(text: string): string[] {
    const out: string[] = [];
    for (const c of this.splitOnSpecial(text)) {
      if (c.special) out.push(c.text);
      else for (const p of this.sp.encode(c.text)) out.push(p.piece);
    }
    return out;
  }

  /** Pieces and ids of `text` (HF `tokenizer(text, add_special_tokens=False)` unless bos/eos asked). */
  encodeWithPieces(text: string, options: EncodeOptions = {}): { pieces: string[]; ids: number[] } {
    const pieces = this.tokenize(text);
    if (options.bos) pieces.unshift(this.bosToken);
    if (options.eos) pieces.push(this.eosToken);
    return { pieces, ids: this.convertTokensToIds(pieces) };
  }
  /** Ids of `text`; no BOS/EOS unless asked. */
  encode(text: string, options: EncodeOptions = {}): number[] {
    return this.encodeWithPieces(text, options).ids;
  }

  /**
   * LlamaTokenizer 4.28 `convert_tokens_to_string`: runs of ordinary pieces go through sentencepiece decode;
   * a special token is appended literally, preceded by a space unless it is first or follows another special.
   */
  convertTokensToString(tokens: readonly string[]): string {
    let out = '';
    let sub: string[] = [];
    let prevIsSpecial = false;
    tokens.forEach((t, i) => {
      if (this.noSplit.has(t)) {
        if (!prevIsSpecial && i !== 0) out += ' ';
        out += this.sp.decodePieces(sub) + t;
        prevIsSpecial = true;
        sub = [];
      } else {
        sub.push(t);
        prevIsSpecial = false;
      }
    });
    return out + this.sp.decodePieces(sub);
  }

  /** HF 4.28 `decode` (slow tokenizer `_decode`). */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const tokens = this.convertIdsToTokens(ids, options.skipSpecialTokens ?? false);
    const subTexts: string[] = [];
    let current: string[] = [];
    for (const t of tokens) {
      if (this.added.has(t)) {
        if (current.length > 0) subTexts.push(this.convertTokensToString(current));
        current = [];
        subTexts.push(t);
      } else current.push(t);
    }
    if (current.length > 0) subTexts.push(this.convertTokensToString(current));
    const text = subTexts.join((options.spacesBetweenSpecialTokens ?? true) ? ' ' : '');
    return (options.cleanUpTokenizationSpaces ?? this.cleanUpTokenizationSpaces) ? cleanUpTokenization(text) : text;
  }
  batchDecode(sequences: ArrayLike<number>[], options: DecodeOptions = {}): string[] {
    return sequences.map((s) => this.decode(s, options));
  }
}

/** HF `clean_up_tokenization`. */
export function cleanUpTokenization(s: string): string {
  return s
    .replaceAll(' .', '.')
    .replaceAll(' ?', '?')
    .replaceAll(' !', '!')
    .replaceAll(' ,', ',')
    .replaceAll(" ' ", "'")
    .replaceAll(" n't", "n't")
    .replaceAll(" 'm", "'m")
    .replaceAll(" 's", "'s")
    .replaceAll(" 've", "'ve")
    .replaceAll(" 're", "'re");
}

/**
 * AHAMask `evaluate.py` post-processing of a decoded output (spec §2.10.7):
 * `text.strip().replace("\n", " ")`, then drop a trailing `</s>`.
 */
export function postprocessEvaluateOutput(text: string): string {
  const out = pyStrip(text).replaceAll('\n', ' ');
  return out.endsWith('</s>') ? out.slice(0, -4) : out;
}
