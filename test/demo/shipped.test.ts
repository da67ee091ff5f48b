// The shipped held-out clips (checkpoints/demo/data/test, `demo-data --seed 1000 --n 40 --format flac`): clips.json
// matches the audio files, the task and prompt JSON match clips.json, and the audio holds what clips.json says
// (beeps found by an independent detector, speaker pitch by gender). No espeak-ng needed.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { decodeAudio } from '../../src/io/audio.js';
import { DEMO_TASKS, MASK_PROMPT, type DemoClip } from '../../src/demo/tasks.js';
import { MAX_CLIP_SECONDS } from '../../src/demo/synth.js';
import { ROOT } from '../helpers/paths.js';
import { medianF0, toneRuns } from './analysis.js';

const REL = 'checkpoints/demo/data/test';
const DIR = join(ROOT, REL);
const readJson = (f: string) => JSON.parse(readFileSync(join(DIR, f), 'utf8'));
const meta = readJson('clips.json') as { seed: number; n: number; espeak: string; clips: DemoClip[] };

test('clips.json: seed 1000, 40 clips, ids and paths as documented, exactly the files in audio/', () => {
  assert.equal([meta.seed, meta.n, meta.clips.length], [1000, 40, 40]);
  assert.match(meta.espeak, /^eSpeak NG text-to-speech: \d/);
  meta.clips.forEach((c, i) => {
    assert.is(c.id, `s1000_${String(i).padStart(5, '0')}`);
    assert.is(c.path, `${REL}/audio/${c.id}.flac`);
  });
  assert.equal(readdirSync(join(DIR, 'audio')).sort(), meta.clips.map((c) => `${c.id}.flac`));
  let total = 0;
  for (const f of readdirSync(DIR, { recursive: true }) as string[]) if (statSync(join(DIR, f)).isFile()) total += statSync(join(DIR, f)).size;
  assert.ok(total <= 2 * 1024 * 1024, `shipped set is ${total} bytes`);
  // Every class occurs.
  const has = (f: (c: DemoClip) => unknown, v: unknown) => meta.clips.some((c) => f(c) === v);
  for (const [f, v] of [[(c: DemoClip) => c.gender, 'male'], [(c: DemoClip) => c.gender, 'female'], [(c: DemoClip) => c.tone, 'rising'],
    [(c: DemoClip) => c.tone, 'falling'], [(c: DemoClip) => c.beeps, 1], [(c: DemoClip) => c.beeps, 2], [(c: DemoClip) => c.beeps, 3]] as const)
    assert.ok(has(f, v), String(v));
});

test('task, all and prompt JSON agree with clips.json and the task definitions', () => {
  const all: unknown[] = [];
  for (const t of DEMO_TASKS) {
    const ann = readJson(`${t.name}.json`).annotation;
    const want = meta.clips.map((c) => ({ path: c.path, text: t.target(c), task: t.name }));
    assert.equal(ann, want, t.name);
    all.push(...want);
  }
  assert.equal(readJson('all.json').annotation, all);
  const byTask = <T>(f: (t: (typeof DEMO_TASKS)[number]) => T) => Object.fromEntries(DEMO_TASKS.map((t) => [t.name, f(t)]));
  assert.equal(readJson('prompts/train_prompt.json'), byTask((t) => t.instructions));
  assert.equal(readJson('prompts/test_prompt.json'), byTask((t) => t.testInstruction));
  assert.equal(readJson('prompts/mask_prompt.json'), byTask(() => [MASK_PROMPT]));
});

test('the audio holds what clips.json says: length, beeps (count, place, direction), speech, gender by pitch', async () => {
  const f0 = { male: [] as number[], female: [] as number[] };
  for (const c of meta.clips) {
    const a = await decodeAudio(new Uint8Array(readFileSync(join(ROOT, c.path))), c.path);
    assert.equal([a.container, a.sampleRate, a.numChannels, a.bitsPerSample], ['flac', 16000, 1, 16], c.id);
    const x = a.channels[0];
    assert.is(x.length / 16000, c.duration, c.id);
    assert.ok(c.duration! <= MAX_CLIP_SECONDS, c.id);
    const runs = toneRuns(x);
    assert.is(runs.length, c.beeps, `${c.id}: ${runs.length} tonal runs for ${c.beeps} beeps`);
    runs.forEach((r, k) => {
      assert.ok(Math.abs(r.start - c.beepSpans![k][0]) < 0.02 && Math.abs(r.end - c.beepSpans![k][1]) < 0.02, `${c.id} beep ${k}`);
      assert.is(r.toHz > r.fromHz, c.tone === 'rising', `${c.id} beep ${k} direction`);
    });
    // The speech span is loud, the lead before the first event is only the noise floor.
    const rms = (a0: number, b0: number) => {
      let e = 0, n = 0;
      for (let i = Math.ceil(a0 * 16000); i < Math.floor(b0 * 16000); i++, n++) e += x[i] * x[i];
      return Math.sqrt(e / Math.max(1, n));
    };
    const first = Math.min(c.speech![0], c.beepSpans![0][0]);
    assert.ok(rms(c.speech![0], c.speech![1]) > 0.03, `${c.id} speech level`);
    assert.ok(rms(0, first) < 0.002, `${c.id} lead level`);
    const p = medianF0(x, c.speech![0], c.speech![1]);
    assert.ok(Number.isFinite(p), c.id);
    f0[c.gender].push(p);
  }
  // espeak's male voices at -p 20-42 stay far below its female voices at -p 58-80.
  assert.ok(Math.max(...f0.male) < 150 && Math.min(...f0.female) > 150, `male F0 ≤ ${Math.max(...f0.male)}, female F0 ≥ ${Math.min(...f0.female)}`);
});

test.run();
