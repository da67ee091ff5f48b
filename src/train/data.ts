// Training data: the annotation JSON (AHAMask dataset.py schema), the train prompt JSON, targets and labels
// (SALMONN.forward), and the infinite shuffled loader (LAVIS IterLoader over a drop_last DataLoader).
import { AhamaskError, FormatError } from '../errors.js';
import { resolvePath } from '../io/config.js';
import type { Rng } from '../autograd/rng.js';

/** An exported RNG state (autograd Rng.getState()). */
export type RngState = number[];

export const SPEECH_PLACEHOLDER = '<SpeechHere>';
export const IGNORE_INDEX = -100;

/** Bad training input (unknown task, empty data set, ...): the message names the file and key. */
export class TrainDataError extends AhamaskError {}

export interface Annotation {
  /** Index in the annotation file. */
  index: number;
  /** `path` as written (the output id). */
  id: string;
  /** `path` resolved against the working directory. */
  path: string;
  text: string;
  task: string;
  Q: string;
  /** Extra files appended after 0.1 s of silence (resolved). */
  expandWav: string[];
}

/** Parses `{"annotation": [{path, text, task?, Q?, expand_wav?}, ...]}`. */
export function parseAnnotations(json: string, file: string, cwd = ''): Annotation[] {
  let root: unknown;
  try {
    root = JSON.parse(json);
  } catch (e) {
    throw new FormatError(file, `not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  const list = (root as { annotation?: unknown } | null)?.annotation;
  if (!Array.isArray(list)) throw new FormatError(file, "expected an object with an 'annotation' list");
  return list.map((a, index): Annotation => {
    const where = `annotation[${index}]`;
    if (typeof a !== 'object' || a === null || Array.isArray(a)) throw new FormatError(file, `${where} is not an object`);
    const o = a as Record<string, unknown>;
    const str = (k: string, def?: string): string => {
      const v = o[k];
      if (v === undefined || v === null) {
        if (def === undefined) throw new FormatError(file, `${where} has no '${k}'`);
        return def;
      }
      if (typeof v !== 'string') throw new FormatError(file, `${where}.${k} must be a string, got ${JSON.stringify(v)}`);
      return v;
    };
    const path = str('path');
    const ew = o.expand_wav;
    if (ew !== undefined && ew !== null && (!Array.isArray(ew) || ew.some((x) => typeof x !== 'string'))) {
      throw new FormatError(file, `${where}.expand_wav must be a list of paths`);
    }
    return {
      index,
      id: path,
      path: resolvePath(cwd, path),
      text: str('text'),
      task: str('task', 'asr'),
      Q: str('Q', ''),
      expandWav: ((ew as string[] | undefined) ?? []).map((p) => resolvePath(cwd, p)),
    };
  });
}

export type PromptDict = Map<string, string[]>;

/**
 * SALMONN's prompt_dict: for each task, `prompt_template.format(p)` for each prompt containing `<SpeechHere>`.
 * A task's value may be a string or a list of strings.
 */
export function parsePromptDict(json: string, file: string, template: string): PromptDict {
  let root: unknown;
  try {
    root = JSON.parse(json);
  } catch (e) {
    throw new FormatError(file, `not valid JSON: ${(e as Error).message}`, { cause: e });
  }
  if (typeof root !== 'object' || root === null || Array.isArray(root)) throw new FormatError(file, 'expected an object {task: [prompts]}');
  const out: PromptDict = new Map();
  for (const [task, v] of Object.entries(root)) {
    const list = typeof v === 'string' ? [v] : v;
    if (!Array.isArray(list) || list.some((p) => typeof p !== 'string')) throw new FormatError(file, `'${task}' must be a list of strings`);
    out.set(task, (list as string[]).filter((p) => p.includes(SPEECH_PLACEHOLDER)).map((p) => pyFormat1(template, p)));
  }
  return out;
}

/** Python's `s.format(arg)` for templates with `{}` fields (and `{{`/`}}` escapes). */
export function pyFormat1(template: string, arg: string): string {
  if (!template) return arg;
  let out = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i];
    if (c === '{' && template[i + 1] === '{') { out += '{'; i++; }
    else if (c === '}' && template[i + 1] === '}') { out += '}'; i++; }
    else if (c === '{' && template[i + 1] === '}') { out += arg; i++; }
    else out += c;
  }
  return out;
}

/** Every annotation's task must be a key of the prompt dict (with at least one usable prompt). */
export function checkTasks(entries: readonly Annotation[], prompts: PromptDict, promptFile: string, annFile: string): void {
  for (const e of entries) {
    const p = prompts.get(e.task);
    if (!p) {
      throw new TrainDataError(
        `${annFile}: annotation[${e.index}] (${e.id}) has task '${e.task}', which is not a key of the prompt file ${promptFile} ` +
          `(known: ${[...prompts.keys()].join(', ') || 'none'})`,
      );
    }
    if (p.length === 0) throw new TrainDataError(`${promptFile}: task '${e.task}' has no prompt containing ${SPEECH_PLACEHOLDER}`);
  }
}

/** SALMONN.forward: `random.choice(prompt_dict[task])`, then `{}` filled with Q when present. */
export function choosePrompt(e: Annotation, prompts: PromptDict, rng: Rng): string {
  const list = prompts.get(e.task);
  if (!list || list.length === 0) throw new TrainDataError(`no prompt for task '${e.task}'`);
  const p = list.length === 1 ? list[0] : list[randInt(rng, list.length)];
  return p.includes('{}') ? pyFormat1(p, e.Q) : p;
}

export interface Tokenizer {
  encode(text: string, options?: { bos?: boolean; eos?: boolean }): number[];
  readonly padId: number;
}

export interface Targets {
  /** [B][T] right-padded with padId. */
  ids: number[][];
  /** [B][T] 1 for tokens, 0 for padding. */
  attention: number[][];
  /** Longest length T. */
  length: number;
}

/**
 * `tokenizer([t + end_sym for t in texts], padding="longest", truncation=True, max_length, add_special_tokens=False)`.
 * `</s>` in the text is the special token (id 2).
 */
export function tokenizeTargets(tok: Tokenizer, texts: readonly string[], endSym: string, maxLen: number): Targets {
  if (tok.padId < 0) throw new AhamaskError('the tokenizer has no pad token ([PAD])');
  const seqs = texts.map((t) => tok.encode(t + endSym).slice(0, maxLen));
  const length = Math.max(0, ...seqs.map((s) => s.length));
  return {
    ids: seqs.map((s) => [...s, ...new Array<number>(length - s.length).fill(tok.padId)]),
    attention: seqs.map((s) => [...new Array<number>(s.length).fill(1), ...new Array<number>(length - s.length).fill(0)]),
    length,
  };
}

/**
 * Labels for `[BOS] ++ prompt/speech (prefixLen positions) ++ text`: -100 for BOS, the prefix and padding, the
 * text ids elsewhere. Row-major [B * (1 + prefixLen + T)].
 */
export function buildLabels(t: Targets, prefixLen: number): Int32Array {
  const B = t.ids.length;
  const L = 1 + prefixLen + t.length;
  const out = new Int32Array(B * L).fill(IGNORE_INDEX);
  for (let b = 0; b < B; b++) {
    for (let j = 0; j < t.length; j++) if (t.attention[b][j]) out[b * L + 1 + prefixLen + j] = t.ids[b][j];
  }
  return out;
}

/** Number of label positions that enter the loss (shifted: labels[:, 1:] != -100). */
export function countTargets(labels: Int32Array, B: number): number {
  const L = labels.length / B;
  let n = 0;
  for (let b = 0; b < B; b++) for (let j = 1; j < L; j++) if (labels[b * L + j] !== IGNORE_INDEX) n++;
  return n;
}

// ---------------------------------------------------------------------------------------------------------------
// Loader

/** Unbiased integer in [0, n) (rejection sampling on 32-bit draws). */
export function randInt(rng: Rng, n: number): number {
  if (!Number.isInteger(n) || n <= 0 || n > 0x100000000) throw new AhamaskError(`randInt: bad bound ${n}`);
  if (n === 1) return 0;
  const limit = Math.floor(0x100000000 / n) * n;
  for (;;) {
    const x = rng.nextU32();
    if (x < limit) return x % n;
  }
}

/** A uniformly random permutation of 0..n-1 (Fisher-Yates). */
export function permutation(rng: Rng, n: number): number[] {
  const a = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randInt(rng, i + 1);
    const t = a[i];
    a[i] = a[j];
    a[j] = t;
  }
  return a;
}

export interface LoaderState {
  /** Items the loader was built over (a resume over a different data set cannot replay its batches). */
  n?: number;
  /** Passes over the data started so far. */
  pass: number;
  /** Next position in the current permutation. */
  pos: number;
  /** State of the shuffle RNG before the current pass's permutation was drawn (regenerates it on resume). */
  passRng: RngState | null;
  /** State of the shuffle RNG now. */
  rng: RngState;
}

/**
 * The infinite training loader: shuffled passes over `n` items, batches of `batchSize` with drop_last (the tail of a
 * pass that does not fill a batch is dropped; the next batch starts a new shuffled pass).
 */
export class InfiniteLoader {
  private perm: number[] = [];
  private pos = 0;
  private pass = 0;
  private passRng: RngState | null = null;

  constructor(readonly n: number, readonly batchSize: number, private readonly rng: Rng, readonly shuffle = true) {
    if (batchSize < 1) throw new TrainDataError(`batch size must be >= 1, got ${batchSize}`);
    if (n < batchSize) throw new TrainDataError(`the training set has ${n} usable item(s), fewer than batch_size_train ${batchSize} (drop_last leaves no batch)`);
  }

  private newPass(): void {
    this.passRng = this.rng.getState();
    this.perm = this.shuffle ? permutation(this.rng, this.n) : Array.from({ length: this.n }, (_, i) => i);
    this.pos = 0;
    this.pass++;
  }

  next(): number[] {
    if (this.pass === 0 || this.pos + this.batchSize > this.perm.length) this.newPass();
    const b = this.perm.slice(this.pos, this.pos + this.batchSize);
    this.pos += this.batchSize;
    return b;
  }

  getState(): LoaderState {
    return { n: this.n, pass: this.pass, pos: this.pos, passRng: this.passRng, rng: this.rng.getState() };
  }

  setState(s: LoaderState): void {
    if (s.n !== undefined && s.n !== this.n) throw new TrainDataError(`cannot resume the data loader: it was built over ${s.n} usable item(s), the data set now has ${this.n}`);
    if (s.pass > 0) {
      if (!s.passRng) throw new AhamaskError('loader state: missing passRng');
      this.rng.setState(s.passRng);
      this.passRng = s.passRng;
      this.perm = this.shuffle ? permutation(this.rng, this.n) : Array.from({ length: this.n }, (_, i) => i);
    } else {
      this.perm = [];
      this.passRng = null;
    }
    this.rng.setState(s.rng);
    this.pass = s.pass;
    this.pos = s.pos;
  }
}

/** Sequential batches over `n` items (validation: no shuffle, last batch may be short). */
export function sequentialBatches(n: number, batchSize: number): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < n; i += batchSize) out.push(Array.from({ length: Math.min(batchSize, n - i) }, (_, k) => i + k));
  return out;
}
