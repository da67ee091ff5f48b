// A dependency-free reader of SentencePiece's `ModelProto` (the `tokenizer.model` file), proto2 wire format.
// Field numbers follow sentencepiece_model.proto (sentencepiece 0.1.97); unknown fields are skipped,
// anything structurally broken (truncated, bad wire type, bad varint, invalid UTF-8) is a FormatError.
import { FormatError } from '../errors.js';

/** `ModelProto.SentencePiece.Type`. */
export const PieceType = {
  NORMAL: 1,
  UNKNOWN: 2,
  CONTROL: 3,
  USER_DEFINED: 4,
  UNUSED: 5,
  BYTE: 6,
} as const;
export type PieceType = (typeof PieceType)[keyof typeof PieceType];

/** `TrainerSpec.ModelType`. */
export const ModelType = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;
export type ModelType = (typeof ModelType)[keyof typeof ModelType];

export interface SentencePieceEntry {
  piece: string;
  /** float32 score (higher merges first in BPE). */
  score: number;
  type: PieceType;
}

/** The parts of `TrainerSpec` that matter at encode/decode time (proto defaults applied). */
export interface TrainerSpec {
  modelType: ModelType;
  vocabSize: number;
  byteFallback: boolean;
  treatWhitespaceAsSuffix: boolean;
  splitDigits: boolean;
  unkId: number;
  bosId: number;
  eosId: number;
  padId: number;
  unkPiece: string;
  bosPiece: string;
  eosPiece: string;
  padPiece: string;
  /** What sentencepiece's decoder prints for `<unk>` (default " \u2047 "). */
  unkSurface: string;
}

export interface NormalizerSpec {
  name: string;
  precompiledCharsmap: Uint8Array;
  addDummyPrefix: boolean;
  removeExtraWhitespaces: boolean;
  escapeWhitespaces: boolean;
}

export interface ModelProto {
  pieces: SentencePieceEntry[];
  trainerSpec: TrainerSpec;
  normalizerSpec: NormalizerSpec;
  /** Present only when the file has one. */
  denormalizerSpec?: NormalizerSpec;
}

const WIRE_VARINT = 0, WIRE_FIXED64 = 1, WIRE_LEN = 2, WIRE_SGROUP = 3, WIRE_EGROUP = 4, WIRE_FIXED32 = 5;

/** Bounds-checked cursor over a protobuf message; every read either advances or throws. */
class Reader {
  pos: number;
  private readonly view: DataView;
  constructor(
    private readonly buf: Uint8Array,
    private readonly file: string,
    private readonly what: string,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
    this.view = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  }
  fail(msg: string, at = this.pos): never {
    throw new FormatError(this.file, `invalid SentencePiece model (${this.what}): ${msg} at byte offset ${at}`);
  }
  done(): boolean {
    return this.pos >= this.end;
  }
  /** A varint as [low 32 bits, high 32 bits], both unsigned. */
  varint(): [number, number] {
    const start = this.pos;
    let lo = 0, hi = 0;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) this.fail('truncated varint', start);
      const b = this.buf[this.pos++];
      const bits = b & 0x7f;
      if (i < 4) lo |= bits << (7 * i);
      else if (i === 4) {
        lo |= (bits & 0x0f) << 28;
        hi |= bits >>> 4;
      } else hi |= bits << (7 * i - 32);
      if ((b & 0x80) === 0) return [lo >>> 0, hi >>> 0];
    }
    this.fail('varint longer than 10 bytes', start);
  }
  /** A varint field as proto2 int32 (negative values are 10-byte varints: take the low 32 bits). */
  int32(): number {
    return this.varint()[0] | 0;
  }
  bool(): boolean {
    const [lo, hi] = this.varint();
    return lo !== 0 || hi !== 0;
  }
  float(): number {
    if (this.pos + 4 > this.end) this.fail('truncated fixed32');
    const v = this.view.getFloat32(this.pos, true);
    this.pos += 4;
    return v;
  }
  /** A length-delimited field: returns [start, end) of its payload. */
  lengthDelimited(): [number, number] {
    const at = this.pos;
    const [lo, hi] = this.varint();
    if (hi !== 0 || lo > this.end - this.pos) this.fail(`length ${hi ? '>= 2^32' : lo} runs past the end of the data`, at);
    const s = this.pos;
    this.pos += lo;
    return [s, this.pos];
  }
  bytes(): Uint8Array {
    const [s, e] = this.lengthDelimited();
    return this.buf.slice(s, e);
  }
  string(field: string): string {
    const at = this.pos;
    const [s, e] = this.lengthDelimited();
    try {
      return UTF8.decode(this.buf.subarray(s, e));
    } catch {
      this.fail(`${field} is not valid UTF-8`, at);
    }
  }
  /** A field key: [field number, wire type]. */
  tag(): [number, number] {
    const at = this.pos;
    const [lo, hi] = this.varint();
    if (hi !== 0) this.fail('field key out of range', at);
    const field = lo >>> 3, wire = lo & 7;
    if (field === 0) this.fail('field number 0', at);
    if (wire > 5) this.fail(`unknown wire type ${wire} (field ${field})`, at);
    return [field, wire];
  }
  /** Skips a field of the given wire type (groups are skipped up to their matching end tag). */
  skip(field: number, wire: number): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        if (this.pos + 8 > this.end) this.fail('truncated fixed64');
        this.pos += 8;
        return;
      case WIRE_LEN:
        this.lengthDelimited();
        return;
      case WIRE_FIXED32:
        if (this.pos + 4 > this.end) this.fail('truncated fixed32');
        this.pos += 4;
        return;
      case WIRE_SGROUP: {
        // iterative: 100k nested groups would overflow the call stack if each level recursed
        const at = this.pos;
        const open = [field];
        while (open.length) {
          if (this.done()) this.fail(`unterminated group (field ${open[open.length - 1]}, ${open.length} level(s) open)`, at);
          const [f, w] = this.tag();
          if (w === WIRE_EGROUP) {
            const g = open.pop()!;
            if (f !== g) this.fail(`end of group ${f} inside group ${g}`);
          } else if (w === WIRE_SGROUP) {
            open.push(f);
          } else {
            this.skip(f, w);
          }
        }
        return;
      }
      case WIRE_EGROUP:
        this.fail(`unexpected end of group ${field}`);
    }
  }
  sub(what: string): Reader {
    const [s, e] = this.lengthDelimited();
    return new Reader(this.buf, this.file, what, s, e);
  }
}

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

function defaultTrainerSpec(): TrainerSpec {
  return {
    modelType: ModelType.UNIGRAM,
    vocabSize: 8000,
    byteFallback: false,
    treatWhitespaceAsSuffix: false,
    splitDigits: false,
    unkId: 0,
    bosId: 1,
    eosId: 2,
    padId: -1,
    unkPiece: '<unk>',
    bosPiece: '<s>',
    eosPiece: '</s>',
    padPiece: '<pad>',
    unkSurface: ' \u2047 ',
  };
}

function defaultNormalizerSpec(): NormalizerSpec {
  return {
    name: '',
    precompiledCharsmap: new Uint8Array(0),
    addDummyPrefix: true,
    removeExtraWhitespaces: true,
    escapeWhitespaces: true,
  };
}

function parsePiece(r: Reader, index: number): SentencePieceEntry {
  const out: SentencePieceEntry = { piece: '', score: 0, type: PieceType.NORMAL };
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_LEN) out.piece = r.string(`piece #${index}`);
    else if (f === 2 && w === WIRE_FIXED32) out.score = r.float();
    else if (f === 3 && w === WIRE_VARINT) {
      const at = r.pos;
      const t = r.int32();
      if (t < 1 || t > 6) r.fail(`piece #${index} has unknown type ${t}`, at);
      out.type = t as PieceType;
    } else r.skip(f, w);
  }
  return out;
}

function parseTrainerSpec(r: Reader, spec: TrainerSpec): void {
  while (!r.done()) {
    const [f, w] = r.tag();
    if (w === WIRE_VARINT) {
      switch (f) {
        case 3: {
          const at = r.pos;
          const t = r.int32();
          if (t < 1 || t > 4) r.fail(`unknown model_type ${t}`, at);
          spec.modelType = t as ModelType;
          continue;
        }
        case 4: spec.vocabSize = r.int32(); continue;
        case 24: spec.treatWhitespaceAsSuffix = r.bool(); continue;
        case 25: spec.splitDigits = r.bool(); continue;
        case 35: spec.byteFallback = r.bool(); continue;
        case 40: spec.unkId = r.int32(); continue;
        case 41: spec.bosId = r.int32(); continue;
        case 42: spec.eosId = r.int32(); continue;
        case 43: spec.padId = r.int32(); continue;
      }
    } else if (w === WIRE_LEN) {
      switch (f) {
        case 44: spec.unkSurface = r.string('trainer_spec.unk_surface'); continue;
        case 45: spec.unkPiece = r.string('trainer_spec.unk_piece'); continue;
        case 46: spec.bosPiece = r.string('trainer_spec.bos_piece'); continue;
        case 47: spec.eosPiece = r.string('trainer_spec.eos_piece'); continue;
        case 48: spec.padPiece = r.string('trainer_spec.pad_piece'); continue;
      }
    }
    r.skip(f, w);
  }
}

function parseNormalizerSpec(r: Reader, spec: NormalizerSpec, what: string): void {
  while (!r.done()) {
    const [f, w] = r.tag();
    if (f === 1 && w === WIRE_LEN) spec.name = r.string(`${what}.name`);
    else if (f === 2 && w === WIRE_LEN) spec.precompiledCharsmap = r.bytes();
    else if (f === 3 && w === WIRE_VARINT) spec.addDummyPrefix = r.bool();
    else if (f === 4 && w === WIRE_VARINT) spec.removeExtraWhitespaces = r.bool();
    else if (f === 5 && w === WIRE_VARINT) spec.escapeWhitespaces = r.bool();
    else r.skip(f, w);
  }
}

/**
 * Parses the bytes of a SentencePiece `tokenizer.model`. `file` only names the source in error messages.
 * Submessages that occur more than once are merged, as protobuf does.
 */
export function parseModelProto(bytes: Uint8Array, file = 'tokenizer.model'): ModelProto {
  const r = new Reader(bytes, file, 'ModelProto');
  const pieces: SentencePieceEntry[] = [];
  const trainerSpec = defaultTrainerSpec();
  const normalizerSpec = defaultNormalizerSpec();
  let denormalizerSpec: NormalizerSpec | undefined;
  while (!r.done()) {
    const [f, w] = r.tag();
    if (w !== WIRE_LEN || f < 1 || f > 5) {
      r.skip(f, w);
      continue;
    }
    switch (f) {
      case 1:
        pieces.push(parsePiece(r.sub(`pieces[${pieces.length}]`), pieces.length));
        break;
      case 2:
        parseTrainerSpec(r.sub('trainer_spec'), trainerSpec);
        break;
      case 3:
        parseNormalizerSpec(r.sub('normalizer_spec'), normalizerSpec, 'normalizer_spec');
        break;
      case 5:
        denormalizerSpec ??= defaultNormalizerSpec();
        parseNormalizerSpec(r.sub('denormalizer_spec'), denormalizerSpec, 'denormalizer_spec');
        break;
      default:
        r.skip(f, w); // 4: self_test_data
    }
  }
  if (pieces.length === 0) throw new FormatError(file, 'invalid SentencePiece model: no pieces');
  return { pieces, trainerSpec, normalizerSpec, ...(denormalizerSpec ? { denormalizerSpec } : {}) };
}
