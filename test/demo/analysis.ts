// Independent checks of what a demo clip contains, from its samples alone: a tonal-frame detector finds the
// beeps (a beep frame has almost all its energy in one narrow peak; speech spreads it over harmonics and
// formants), and an autocorrelation pitch tracker gives the speaker's F0.
import { FFT, realPowerSpectrum } from '../../src/models/fft.js';

const SR = 16000;
const WIN = 512, HOP = 80; // 32 ms Hann window, 5 ms hop
/** Beeps sweep within 600–2000 Hz; a female voice's fundamental (≤ 300 Hz) can also be nearly a pure tone. */
const MIN_TONE_HZ = 450;

export interface ToneRun {
  /** Seconds: centres of the first and last tonal frames. */
  start: number;
  end: number;
  /** Peak frequency (Hz) in the first and last frames of the run. */
  fromHz: number;
  toHz: number;
}

/** Runs of ≥ 40 ms of non-silent frames whose ±2-bin peak, at ≥ 450 Hz, holds ≥ 80 % of the frame energy. */
export function toneRuns(x: Float32Array | Float64Array): ToneRun[] {
  const fft = new FFT(WIN);
  const re = new Float64Array(WIN), im = new Float64Array(WIN), pw = new Float64Array(WIN / 2 + 1);
  const frame = new Float64Array(WIN);
  const hann = Float64Array.from({ length: WIN }, (_, i) => 0.5 - 0.5 * Math.cos((2 * Math.PI * i) / WIN));
  const frames: Array<{ t: number; tonal: boolean; hz: number }> = [];
  for (let s = 0; s + WIN <= x.length; s += HOP) {
    for (let i = 0; i < WIN; i++) frame[i] = x[s + i] * hann[i];
    realPowerSpectrum(fft, frame, pw, re, im);
    let total = 0, peak = 1;
    for (let k = 1; k < pw.length; k++) {
      total += pw[k];
      if (pw[k] > pw[peak]) peak = k;
    }
    let near = 0;
    for (let k = Math.max(1, peak - 2); k <= Math.min(pw.length - 1, peak + 2); k++) near += pw[k];
    const rms = Math.sqrt(total / WIN);
    frames.push({ t: (s + WIN / 2) / SR, tonal: rms > 0.01 && near / total > 0.8 && peak * SR >= MIN_TONE_HZ * WIN, hz: (peak * SR) / WIN });
  }
  const runs: ToneRun[] = [];
  for (let i = 0; i < frames.length; ) {
    if (!frames[i].tonal) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < frames.length && frames[j + 1].tonal) j++;
    if ((j - i + 1) * HOP >= 0.04 * SR) runs.push({ start: frames[i].t, end: frames[j].t, fromHz: frames[i].hz, toHz: frames[j].hz });
    i = j + 1;
  }
  return runs;
}

/** Median F0 (Hz) over voiced 40 ms frames of [from, to) seconds, by normalised autocorrelation in 70–400 Hz. */
export function medianF0(x: Float32Array | Float64Array, from: number, to: number): number {
  const n = 640, minLag = Math.floor(SR / 400), maxLag = Math.ceil(SR / 70);
  const f0s: number[] = [];
  for (let s = Math.floor(from * SR); s + n + maxLag <= Math.min(x.length, Math.ceil(to * SR)); s += 320) {
    let e0 = 0;
    for (let i = 0; i < n; i++) e0 += x[s + i] * x[s + i];
    if (e0 / n < 1e-4) continue;
    let best = 0, bestLag = 0;
    for (let lag = minLag; lag <= maxLag; lag++) {
      let c = 0, e1 = 0;
      for (let i = 0; i < n; i++) {
        c += x[s + i] * x[s + i + lag];
        e1 += x[s + i + lag] * x[s + i + lag];
      }
      const r = c / Math.sqrt(e0 * e1 + 1e-12);
      if (r > best) {
        best = r;
        bestLag = lag;
      }
    }
    if (best > 0.7) f0s.push(SR / bestLag);
  }
  f0s.sort((a, b) => a - b);
  return f0s.length ? f0s[f0s.length >> 1] : NaN;
}
