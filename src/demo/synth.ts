// Procedural demo clips (issue 11), the browser-clean part: every random choice of a clip (from the library's
// Rng seeded by seed and clip index, so clip k is the same whatever n is), the beeps, and the mix. Speech
// comes from espeak-ng, which only the Node generator (src/cli/demo-data.ts) runs.
import { Rng } from '../autograd/rng.js';
import { DIGIT_WORDS, type DemoClip, type Gender, type Tone } from './tasks.js';

export const SAMPLE_RATE = 16000;
/** Every clip fits a 4 s Whisper window with room to spare. */
export const MAX_CLIP_SECONDS = 3.8;
export const MALE_VOICES = ['en+m1', 'en+m2', 'en+m3', 'en+m4', 'en+m5', 'en+m6', 'en+m7'];
export const FEMALE_VOICES = ['en+f1', 'en+f2', 'en+f3', 'en+f4', 'en+f5'];
/** espeak-ng `-p` (0–99, 50 = the voice's own pitch): disjoint ranges keep the genders clearly apart. */
export const PITCH_RANGE: Record<Gender, [number, number]> = { male: [20, 42], female: [58, 80] };
/** espeak-ng `-s` (words per minute). */
export const SPEED_RANGE: [number, number] = [140, 180];

/** Everything random about one clip except the noise samples. */
export interface ClipPlan {
  id: string;
  digits: number[];
  gender: Gender;
  voice: string;
  /** espeak-ng -s, -p, -g (word gap in 10 ms units). */
  speed: number;
  pitch: number;
  wordGap: number;
  beeps: number;
  tone: Tone;
  /** Duration of each beep and of each gap between beeps, seconds. */
  beepDurations: number[];
  beepGaps: number[];
  /** Sweep start and end frequency (Hz): low→high when rising, high→low when falling. */
  sweepFrom: number;
  sweepTo: number;
  beepAmplitude: number;
  /** Peak level the speech is scaled to. */
  speechPeak: number;
  speechFirst: boolean;
  /** Silence before the first event, between speech and beeps, after the last event (seconds). */
  lead: number;
  gap: number;
  tail: number;
  /** Standard deviation of the white noise floor. */
  noise: number;
  /** Seeds the noise samples' Rng (the plan's last draw). */
  noiseSeed: number;
}

export function clipId(seed: number, index: number): string {
  return `s${seed}_${String(index).padStart(5, '0')}`;
}

/** The Rng of clip `index` of `seed`: independent streams per clip. */
export function clipRng(seed: number, index: number): Rng {
  return new Rng((Math.imul(seed >>> 0, 0x9e3779b1) ^ Math.imul(index + 1, 0x85ebca6b)) >>> 0);
}

const uniform = (rng: Rng, lo: number, hi: number) => lo + (hi - lo) * rng.uniform();
const int = (rng: Rng, lo: number, hi: number) => lo + Math.min(hi - lo, Math.floor(rng.uniform() * (hi - lo + 1)));
const pick = <T>(rng: Rng, xs: readonly T[]): T => xs[int(rng, 0, xs.length - 1)];
/** Rounded to whole samples, so spans in clips.json are exact. */
const samples = (s: number) => Math.round(s * SAMPLE_RATE);

export function planClip(seed: number, index: number): ClipPlan {
  const rng = clipRng(seed, index);
  const nDigits = int(rng, 2, 4);
  const digits = Array.from({ length: nDigits }, () => int(rng, 0, 9));
  const gender: Gender = rng.uniform() < 0.5 ? 'male' : 'female';
  const voice = pick(rng, gender === 'male' ? MALE_VOICES : FEMALE_VOICES);
  const [p0, p1] = PITCH_RANGE[gender];
  const pitch = int(rng, p0, p1);
  const speed = int(rng, SPEED_RANGE[0], SPEED_RANGE[1]);
  const wordGap = int(rng, 0, 3);
  const beeps = int(rng, 1, 3);
  const tone: Tone = rng.uniform() < 0.5 ? 'rising' : 'falling';
  const beepDurations = Array.from({ length: beeps }, () => samples(uniform(rng, 0.12, 0.2)) / SAMPLE_RATE);
  const beepGaps = Array.from({ length: beeps - 1 }, () => samples(uniform(rng, 0.08, 0.15)) / SAMPLE_RATE);
  const low = uniform(rng, 600, 1000), high = low * uniform(rng, 1.6, 2.0);
  return {
    id: clipId(seed, index),
    digits,
    gender,
    voice,
    speed,
    pitch,
    wordGap,
    beeps,
    tone,
    beepDurations,
    beepGaps,
    sweepFrom: tone === 'rising' ? low : high,
    sweepTo: tone === 'rising' ? high : low,
    beepAmplitude: uniform(rng, 0.15, 0.3),
    speechPeak: uniform(rng, 0.35, 0.6),
    speechFirst: rng.uniform() < 0.5,
    lead: samples(uniform(rng, 0.05, 0.3)) / SAMPLE_RATE,
    gap: samples(uniform(rng, 0.1, 0.35)) / SAMPLE_RATE,
    tail: samples(uniform(rng, 0.05, 0.25)) / SAMPLE_RATE,
    noise: 10 ** uniform(rng, -3.5, -3.1),
    noiseSeed: rng.nextU32(),
  };
}

/** The text espeak-ng speaks. */
export function speechText(plan: Pick<ClipPlan, 'digits'>): string {
  return plan.digits.map((d) => DIGIT_WORDS[d]).join(' ');
}

/** espeak-ng arguments (speed override for clips whose speech is too long to fit). */
export function espeakArgs(plan: ClipPlan, speed = plan.speed): string[] {
  return ['-v', plan.voice, '-s', String(speed), '-p', String(plan.pitch), '-g', String(plan.wordGap), '--stdout', speechText(plan)];
}

/** Cuts leading and trailing silence (below 2 % of the peak, 10 ms margin kept). */
export function trimSilence(x: Float32Array): Float32Array {
  let peak = 0;
  for (let i = 0; i < x.length; i++) peak = Math.max(peak, Math.abs(x[i]));
  if (peak === 0) return x.slice(0, 0);
  const thr = 0.02 * peak, margin = samples(0.01);
  let a = 0, b = x.length;
  while (a < b && Math.abs(x[a]) < thr) a++;
  while (b > a && Math.abs(x[b - 1]) < thr) b--;
  return x.slice(Math.max(0, a - margin), Math.min(x.length, b + margin));
}

/** Length in samples of the beep train. */
function beepTrainLength(plan: ClipPlan): number {
  return plan.beepDurations.reduce((s, d) => s + samples(d), 0) + plan.beepGaps.reduce((s, d) => s + samples(d), 0);
}

/** Longest trimmed speech (samples) that still fits the clip with this plan's beeps and minimal silences. */
export function maxSpeechSamples(plan: ClipPlan): number {
  return samples(MAX_CLIP_SECONDS) - beepTrainLength(plan) - samples(0.05 + 0.1 + 0.05);
}

/**
 * One beep: a linear chirp from `from` to `to` Hz (phase-continuous), plus a weak second harmonic so it is
 * "pure-ish", with 10 ms raised-cosine fades.
 */
export function chirp(n: number, from: number, to: number, amplitude: number): Float32Array {
  const out = new Float32Array(n);
  const dur = n / SAMPLE_RATE, fade = Math.min(samples(0.01), n >> 1);
  for (let i = 0; i < n; i++) {
    const t = i / SAMPLE_RATE;
    const phase = 2 * Math.PI * (from * t + ((to - from) * t * t) / (2 * dur));
    let env = 1;
    if (i < fade) env = 0.5 - 0.5 * Math.cos((Math.PI * i) / fade);
    else if (i >= n - fade) env = 0.5 - 0.5 * Math.cos((Math.PI * (n - 1 - i)) / fade);
    out[i] = amplitude * env * (Math.sin(phase) + 0.15 * Math.sin(2 * phase)) / 1.15;
  }
  return out;
}

export interface RenderedClip {
  samples: Float32Array;
  /** [start, end) seconds. */
  speech: [number, number];
  beepSpans: [number, number][];
}

/**
 * Mixes the trimmed 16 kHz speech and the beeps into one clip with a white-noise floor (its own Rng, seeded by
 * the plan). Silences shrink towards their minimum when the total would exceed
 * MAX_CLIP_SECONDS; the caller must keep the speech within `maxSpeechSamples(plan)`.
 */
export function renderClip(plan: ClipPlan, speech: Float32Array): RenderedClip {
  if (speech.length > maxSpeechSamples(plan)) throw new RangeError(`${plan.id}: speech of ${speech.length} samples does not fit the clip`);
  const beepLen = beepTrainLength(plan);
  let lead = samples(plan.lead), gap = samples(plan.gap), tail = samples(plan.tail);
  const over = lead + speech.length + gap + beepLen + tail - samples(MAX_CLIP_SECONDS);
  if (over > 0) {
    // Take the excess from the silences, in proportion to their slack over the minimum.
    const mins = [samples(0.05), samples(0.1), samples(0.05)];
    const cur = [lead, gap, tail];
    const slack = cur.map((c, i) => c - mins[i]);
    const total = slack.reduce((a, b) => a + b, 0);
    let left = over;
    for (let i = 0; i < 3; i++) {
      const take = i === 2 ? left : Math.min(slack[i], Math.ceil((over * slack[i]) / total));
      cur[i] -= take;
      left -= take;
    }
    [lead, gap, tail] = cur;
  }
  const n = lead + speech.length + gap + beepLen + tail;
  const out = new Float32Array(n);
  let peak = 0;
  for (let i = 0; i < speech.length; i++) peak = Math.max(peak, Math.abs(speech[i]));
  const gain = peak > 0 ? plan.speechPeak / peak : 0;
  const speechAt = plan.speechFirst ? lead : lead + beepLen + gap;
  for (let i = 0; i < speech.length; i++) out[speechAt + i] = speech[i] * gain;
  let at = plan.speechFirst ? lead + speech.length + gap : lead;
  const beepSpans: [number, number][] = [];
  plan.beepDurations.forEach((d, k) => {
    const len = samples(d);
    const b = chirp(len, plan.sweepFrom, plan.sweepTo, plan.beepAmplitude);
    for (let i = 0; i < len; i++) out[at + i] += b[i];
    beepSpans.push([at / SAMPLE_RATE, (at + len) / SAMPLE_RATE]);
    at += len + (k < plan.beepGaps.length ? samples(plan.beepGaps[k]) : 0);
  });
  const rng = new Rng(plan.noiseSeed);
  for (let i = 0; i < n; i++) out[i] += plan.noise * rng.normal();
  return { samples: out, speech: [speechAt / SAMPLE_RATE, (speechAt + speech.length) / SAMPLE_RATE], beepSpans };
}

/** DemoClip record of a rendered clip. */
export function demoClip(plan: ClipPlan, path: string, r: RenderedClip): DemoClip {
  return {
    id: plan.id,
    path,
    digits: plan.digits,
    gender: plan.gender,
    voice: plan.voice,
    beeps: plan.beeps,
    tone: plan.tone,
    duration: r.samples.length / SAMPLE_RATE,
    speech: r.speech,
    beepSpans: r.beepSpans,
  };
}
