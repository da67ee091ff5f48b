// The procedural part of the demo clips (src/demo/synth.ts), without espeak-ng: plans, beeps, mixing.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  FEMALE_VOICES, MALE_VOICES, MAX_CLIP_SECONDS, PITCH_RANGE, SAMPLE_RATE, SPEED_RANGE, chirp, clipId, demoClip,
  espeakArgs, maxSpeechSamples, planClip, renderClip, speechText, trimSilence, type ClipPlan,
} from '../../src/demo/synth.js';
import { toneRuns } from './analysis.js';

/** A speech stand-in: a 120 Hz pulse-like harmonic series (not tonal: energy over many harmonics). */
function fakeSpeech(seconds: number): Float32Array {
  const n = Math.round(seconds * SAMPLE_RATE);
  const x = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    let v = 0;
    for (let h = 1; h <= 25; h++) v += Math.sin((2 * Math.PI * 120 * h * i) / SAMPLE_RATE + h) / Math.sqrt(h);
    x[i] = 0.1 * v;
  }
  return x;
}

test('clip ids and plans are deterministic, per (seed, index)', () => {
  assert.is(clipId(1000, 7), 's1000_00007');
  assert.is(clipId(3, 12345), 's3_12345');
  assert.equal(planClip(5, 3), planClip(5, 3));
  assert.not.equal(planClip(5, 3), planClip(5, 4));
  assert.not.equal(planClip(5, 3), planClip(6, 3));
  const p = planClip(5, 3);
  assert.is(p.id, 's5_00003');
  assert.equal(espeakArgs(p), ['-v', p.voice, '-s', String(p.speed), '-p', String(p.pitch), '-g', String(p.wordGap), '--stdout', speechText(p)]);
  assert.is(espeakArgs(p, 200)[3], '200');
  assert.is(speechText({ digits: [3, 1, 4, 0] }), 'three one four zero');
});

test('plans stay in their documented ranges and cover every class', () => {
  const N = 400;
  const count = new Map<string, number>();
  const inc = (k: string) => count.set(k, (count.get(k) ?? 0) + 1);
  for (let i = 0; i < N; i++) {
    const p: ClipPlan = planClip(42, i);
    assert.ok(p.digits.length >= 2 && p.digits.length <= 4 && p.digits.every((d) => Number.isInteger(d) && d >= 0 && d <= 9));
    assert.ok((p.gender === 'male' ? MALE_VOICES : FEMALE_VOICES).includes(p.voice), p.voice);
    const [lo, hi] = PITCH_RANGE[p.gender];
    assert.ok(p.pitch >= lo && p.pitch <= hi && p.speed >= SPEED_RANGE[0] && p.speed <= SPEED_RANGE[1]);
    assert.ok(p.beeps >= 1 && p.beeps <= 3 && p.beepDurations.length === p.beeps && p.beepGaps.length === p.beeps - 1);
    assert.ok(p.beepDurations.every((d) => d >= 0.12 - 1e-9 && d <= 0.2 + 1e-9));
    assert.ok(p.beepGaps.every((d) => d >= 0.08 - 1e-9 && d <= 0.15 + 1e-9));
    assert.is(p.tone === 'rising', p.sweepTo > p.sweepFrom);
    assert.ok(Math.max(p.sweepFrom, p.sweepTo) / Math.min(p.sweepFrom, p.sweepTo) >= 1.6 - 1e-9);
    assert.ok(p.noise > 0 && p.noise < 0.001);
    inc(p.gender); inc(p.tone); inc(`beeps${p.beeps}`); inc(`digits${p.digits.length}`); inc(p.speechFirst ? 'speech-first' : 'beeps-first');
    for (const d of p.digits) inc(`d${d}`);
  }
  for (const k of ['male', 'female', 'rising', 'falling', 'speech-first', 'beeps-first']) assert.ok(count.get(k)! > 0.4 * N, `${k}: ${count.get(k)}`);
  for (const k of ['beeps1', 'beeps2', 'beeps3', 'digits2', 'digits3', 'digits4']) assert.ok(count.get(k)! > 0.25 * N, `${k}: ${count.get(k)}`);
  for (let d = 0; d < 10; d++) assert.ok(count.get(`d${d}`)! > 0.05 * 3 * N, `digit ${d}`);
  // The genders' pitch ranges are disjoint.
  assert.ok(PITCH_RANGE.male[1] < PITCH_RANGE.female[0]);
});

test('trimSilence cuts below 2 % of the peak and keeps a 10 ms margin', () => {
  const x = new Float32Array(16000);
  for (let i = 4000; i < 8000; i++) x[i] = Math.sin(i / 3) * 0.5;
  x[100] = 0.005; // below 2 % of the peak: trimmed
  const y = trimSilence(x);
  assert.ok(Math.abs(y.length - (4000 + 2 * 160)) <= 4, String(y.length));
  assert.is(trimSilence(new Float32Array(100)).length, 0);
});

test('chirp sweeps from its start to its end frequency', () => {
  for (const [from, to] of [[700, 1300], [1800, 900]]) {
    const runs = toneRuns(chirp(3200, from, to, 0.3)); // 0.2 s
    assert.is(runs.length, 1);
    assert.ok(Math.abs(runs[0].fromHz - from) < 150 && Math.abs(runs[0].toHz - to) < 150, JSON.stringify(runs[0]));
  }
});

test('renderClip: ≤ 3.8 s, speech and beeps where the spans say, beeps detectable and in the right direction', () => {
  for (let i = 0; i < 30; i++) {
    const plan = planClip(7, i);
    const speechSec = 0.6 + 0.05 * plan.digits.length * (1 + (i % 5));
    const r = renderClip(plan, fakeSpeech(Math.min(speechSec, maxSpeechSamples(plan) / SAMPLE_RATE)));
    const dur = r.samples.length / SAMPLE_RATE;
    assert.ok(dur <= MAX_CLIP_SECONDS, `${plan.id} ${dur}`);
    assert.is(r.beepSpans.length, plan.beeps);
    // Spans are ordered, disjoint and inside the clip; speech and beeps do not overlap.
    const events = [r.speech, ...r.beepSpans].sort((a, b) => a[0] - b[0]);
    for (let k = 1; k < events.length; k++) assert.ok(events[k][0] >= events[k - 1][1] + 0.07, `${plan.id} overlap`);
    assert.ok(events[0][0] >= 0.05 - 1e-9 && events[events.length - 1][1] <= dur);
    assert.is(plan.speechFirst, r.speech[0] < r.beepSpans[0][0]);
    // The detector finds exactly the beeps, at their spans, sweeping the planned way.
    const runs = toneRuns(r.samples);
    assert.is(runs.length, plan.beeps, plan.id);
    runs.forEach((run, k) => {
      assert.ok(Math.abs(run.start - r.beepSpans[k][0]) < 0.02 && Math.abs(run.end - r.beepSpans[k][1]) < 0.02, `${plan.id} beep ${k}`);
      assert.is(run.toHz > run.fromHz, plan.tone === 'rising', `${plan.id} beep ${k} direction`);
    });
    // Outside speech and beeps there is only the noise floor.
    const quiet = (a: number, b: number) => {
      let e = 0;
      for (let j = Math.ceil(a * SAMPLE_RATE); j < Math.floor(b * SAMPLE_RATE); j++) e += r.samples[j] ** 2;
      return Math.sqrt(e / Math.max(1, Math.floor(b * SAMPLE_RATE) - Math.ceil(a * SAMPLE_RATE)));
    };
    assert.ok(quiet(0, events[0][0]) < 3 * plan.noise, `${plan.id} lead`);
    assert.ok(quiet(events[events.length - 1][1], dur) < 3 * plan.noise, `${plan.id} tail`);
    const c = demoClip(plan, `x/${plan.id}.wav`, r);
    assert.equal([c.id, c.digits, c.gender, c.beeps, c.tone, c.duration], [plan.id, plan.digits, plan.gender, plan.beeps, plan.tone, dur]);
  }
});

test('renderClip shrinks the silences to fit the longest speech, and refuses longer speech', () => {
  const plan = planClip(9, 1);
  const max = maxSpeechSamples(plan);
  const r = renderClip(plan, fakeSpeech(max / SAMPLE_RATE));
  assert.is(r.samples.length, Math.round(MAX_CLIP_SECONDS * SAMPLE_RATE));
  assert.is(toneRuns(r.samples).length, plan.beeps);
  assert.throws(() => renderClip(plan, fakeSpeech((max + 1) / SAMPLE_RATE)), /does not fit/);
  // Same plan and speech, same samples (the noise comes from the plan's seed).
  const s = fakeSpeech(1);
  assert.equal(renderClip(plan, s).samples, renderClip(plan, s).samples);
});

test.run();
