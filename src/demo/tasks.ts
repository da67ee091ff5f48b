// The demo SALMONN's tasks (issue 11): every procedural clip holds spoken digits (male or female voice) and
// 1–3 rising or falling beeps, so one clip serves every task. Targets are fixed lowercase strings; the
// composite tasks differ only in order, so a mask must encode the answer format too (as AHAMask's
// asr_gender / gender_asr). Browser-clean: the generator itself lives in src/cli/demo-data.ts.

export type Gender = 'male' | 'female';
export type Tone = 'rising' | 'falling';

/** One generated clip with all its attributes (an entry of `clips.json`). */
export interface DemoClip {
  /** `s{seed}_{index:05d}`. */
  id: string;
  /** The audio file as written in the data json (relative to where the generator ran). */
  path: string;
  /** The spoken digits, 2–4 of them, 0..9. */
  digits: number[];
  gender: Gender;
  /** The espeak-ng voice, e.g. `en+m3`. */
  voice: string;
  /** Number of beeps, 1–3. */
  beeps: number;
  tone: Tone;
  /** Clip length in seconds (16 kHz samples / 16000). Optional: older data may lack it. */
  duration?: number;
  /** [start, end) of the speech in seconds. */
  speech?: [number, number];
  /** [start, end) of each beep in seconds, in time order. */
  beepSpans?: [number, number][];
}

export interface DemoTask {
  name: string;
  metric: 'accuracy' | 'wer';
  /** Paraphrases for training prompts, each `"<Speech><SpeechHere></Speech> " + text`. */
  instructions: string[];
  /** Held-out instruction used at test time (not among `instructions`). */
  testInstruction: string;
  target(clip: DemoClip): string;
}

export const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;

/** SALMONN's speech placeholder prefix of every instruction. */
export const SPEECH_PROMPT = '<Speech><SpeechHere></Speech> ';
/** AHAMask's empty mask prompt. */
export const MASK_PROMPT = SPEECH_PROMPT;

const p = (text: string) => SPEECH_PROMPT + text;

export function digitsText(digits: readonly number[]): string {
  return digits.map((d) => DIGIT_WORDS[d]).join(' ');
}
export function beepsText(n: number): string {
  return n === 1 ? 'one beep' : `${DIGIT_WORDS[n]} beeps`;
}

export const DEMO_TASKS: DemoTask[] = [
  {
    name: 'asr',
    metric: 'wer',
    instructions: [p('Recognize the digits in the speech.'), p('Transcribe the spoken digits.'), p('Which digits are spoken?')],
    testInstruction: p('Write down the digits you hear.'),
    target: (c) => digitsText(c.digits),
  },
  {
    name: 'gender',
    metric: 'accuracy',
    instructions: [p('Is the speaker male or female?'), p("What is the speaker's gender?"), p('Is this a male or a female voice?')],
    testInstruction: p('Tell me whether the voice is male or female.'),
    target: (c) => c.gender,
  },
  {
    name: 'beeps',
    metric: 'accuracy',
    instructions: [p('How many beeps are there?'), p('Count the beeps.'), p('How many beeps do you hear?')],
    testInstruction: p('What is the number of beeps in the audio?'),
    target: (c) => beepsText(c.beeps),
  },
  {
    name: 'tone',
    metric: 'accuracy',
    instructions: [p('Do the beeps rise or fall?'), p('Is the tone of the beeps rising or falling?'), p('Are the beeps rising or falling?')],
    testInstruction: p('Does the pitch of the beeps go up or down?'),
    target: (c) => c.tone,
  },
  {
    name: 'asr_gender',
    metric: 'wer',
    instructions: [
      p("Transcribe the digits, then say the speaker's gender."),
      p('Recognize the digits and then tell the gender of the speaker.'),
      p('Write the spoken digits, followed by male or female.'),
    ],
    testInstruction: p('First the digits, then the gender of the voice.'),
    target: (c) => `${digitsText(c.digits)}, ${c.gender}`,
  },
  {
    name: 'gender_asr',
    metric: 'wer',
    instructions: [
      p("Say the speaker's gender, then transcribe the digits."),
      p('Tell the gender of the speaker and then recognize the digits.'),
      p('Say male or female, followed by the spoken digits.'),
    ],
    testInstruction: p('First the gender of the voice, then the digits.'),
    target: (c) => `${c.gender}, ${digitsText(c.digits)}`,
  },
];

/** The task called `name`, or undefined. */
export function demoTask(name: string): DemoTask | undefined {
  return DEMO_TASKS.find((t) => t.name === name);
}

/** Lowercase, trim, collapse whitespace, strip final punctuation (`.`, `!`, `?`, `,`, `;`, `:`). */
export function normalizeAnswer(s: string): string {
  return s
    .toLowerCase()
    .replace(/\s+/g, ' ')
    .trim()
    .replace(/[.!?,;:]+$/, '')
    .trim();
}

/** Word-level Levenshtein distance of normalised hypothesis vs reference, divided by the reference's word count. */
export function wordErrorRate(hyp: string, ref: string): number {
  const h = splitWords(hyp), r = splitWords(ref);
  if (r.length === 0) return h.length === 0 ? 0 : 1;
  return editDistance(h, r) / r.length;
}

function editDistance(h: readonly string[], r: readonly string[]): number {
  let prev = Array.from({ length: h.length + 1 }, (_, j) => j);
  for (let i = 1; i <= r.length; i++) {
    const cur = [i];
    for (let j = 1; j <= h.length; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (r[i - 1] === h[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return prev[h.length];
}

/** Words for WER: normalised, and commas detached so "four, male" counts "four" and "male" as words. */
function splitWords(s: string): string[] {
  const n = normalizeAnswer(s).replace(/,/g, ' ').trim();
  return n.length === 0 ? [] : n.split(/\s+/);
}

export type TaskScore = { accuracy: number } | { wer: number; accuracy: number };

/**
 * Scores model outputs against targets: accuracy tasks compare normalised strings exactly; WER tasks report
 * the corpus WER (total word errors / total reference words) and the exact-match accuracy.
 */
export function scoreTask(task: Pick<DemoTask, 'metric'>, outputs: readonly string[], refs: readonly string[]): TaskScore {
  if (outputs.length !== refs.length) throw new RangeError(`scoreTask: ${outputs.length} outputs for ${refs.length} references`);
  const n = refs.length;
  let exact = 0;
  for (let i = 0; i < n; i++) if (normalizeAnswer(outputs[i]) === normalizeAnswer(refs[i])) exact++;
  const accuracy = n === 0 ? 0 : exact / n;
  if (task.metric === 'accuracy') return { accuracy };
  let errors = 0, words = 0;
  for (let i = 0; i < n; i++) {
    const r = splitWords(refs[i]);
    errors += editDistance(splitWords(outputs[i]), r);
    words += r.length;
  }
  return { wer: words === 0 ? 0 : errors / words, accuracy };
}

/** SALMONN's prompt template pieces (decode_config `prompt_template`: "USER: {}\nASSISTANT:"). */
export const TEMPLATE_PIECES = ['USER: ', '\nASSISTANT:', '<Speech>', '</Speech>'];

/**
 * The tokenizer training corpus: every instruction, every possible target of every task, the template pieces.
 * Targets are enumerated over all digit words / genders / counts / tones rather than taken from clips, so the
 * vocabulary does not depend on a seed.
 */
export function demoTokenizerTexts(): string[] {
  const texts: string[] = [...TEMPLATE_PIECES, SPEECH_PROMPT.trim()];
  for (const t of DEMO_TASKS) texts.push(...t.instructions, t.testInstruction);
  const genders: Gender[] = ['male', 'female'];
  // Each digit word alone and in pairs keeps the corpus small while covering every word and its neighbours.
  for (let a = 0; a < 10; a++) {
    for (let b = 0; b < 10; b++) {
      const digits = [a, b];
      for (const g of genders) {
        const clip: DemoClip = { id: '', path: '', digits, gender: g, voice: '', beeps: 1 + ((a + b) % 3), tone: (a + b) % 2 ? 'rising' : 'falling' };
        for (const t of DEMO_TASKS) texts.push(t.target(clip));
      }
    }
  }
  for (const n of [1, 2, 3]) texts.push(beepsText(n));
  texts.push('rising', 'falling');
  return [...new Set(texts)];
}
