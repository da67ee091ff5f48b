// web/engine.ts (what the page's worker runs) on the CPU backend with the tiny fixture: the model description the
// page shows, streamed text that ends in the library's answer (greedy and beam search), Cancel, the mask
// checkpoint round trip, and a served folder whose config paths are relative to another root (LenientDirectory).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE } from '../helpers/paths.js';
import { MemoryDirectory } from '../../src/io/directories.js';
import { MemorySource } from '../../src/io/bytes.js';
import { readMaskCheckpoint } from '../../src/io/mask.js';
import { openDirectory } from '../../src/node/files.js';
import { Engine, maskCheckpointBytes } from '../../web/engine.js';
import { LenientDirectory } from '../../web/model-dir.js';

const gen = (clip: string, run: string): string => JSON.parse(readFileSync(join(FIXTURE, `expected/${clip}/${run}/generation.json`), 'utf8')).text_ahamask_decode;
let engine: Engine;

async function rejects(p: Promise<unknown>, re: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.match((e as Error).message, re);
    return;
  }
  assert.unreachable(`expected a rejection matching ${re}`);
}

test.before(async () => {
  engine = await Engine.open(new LenientDirectory(openDirectory(FIXTURE)), 'decode_config.yaml', 'cpu');
});

test('describes the model: layout, examples, masks, prompts, tasks, decoding', () => {
  const i = engine.info;
  assert.is(i.layers, 3);
  assert.is(i.heads, 4);
  assert.equal(i.examples.map((e) => e.path), ['audio/chirp3s.wav', 'audio/speech_espeak.wav']);
  assert.equal(i.masks, [{ name: 'tiny_task', path: 'masks/tiny_task/checkpoint.pth' }]);
  assert.is(i.defaultMask, 'tiny_task');
  assert.equal(i.tasks, ['asr']);
  assert.equal(i.taskPrompts, []); // the fixture's test prompts are empty (mask prompts)
  assert.equal(i.generate, { numBeams: 1, maxNewTokens: 20 });
});

test('greedy run streams text that ends in the oracle answer; the mask run too', async () => {
  const seen: string[] = [];
  const r = await engine.run({ audio: { kind: 'path', path: 'audio/chirp3s.wav' }, prompt: 'Recognize the speech and give me the transcription.', mask: null, numBeams: 1, maxNewTokens: 20 }, (s) => seen.push(s), () => false);
  assert.is(r.text, gen('chirp3s', 'prompt_only'));
  assert.is(r.tokens, 20);
  assert.ok(seen.length >= 19, `${seen.length} streamed updates`);
  assert.is(seen.at(-1), r.text);
  for (const s of seen) assert.ok(r.text.startsWith(s.replace(/\uFFFD+$/, '')), `streamed ${JSON.stringify(s)} is not a prefix of the answer`);
  const mask = await engine.readMask('masks/tiny_task/checkpoint.pth');
  const m = await engine.run({ audio: { kind: 'path', path: 'audio/speech_espeak.wav' }, prompt: '', mask, numBeams: 1, maxNewTokens: 20 }, () => {}, () => false);
  assert.is(m.text, gen('speech_espeak', 'mask_only'));
  assert.is(m.stopReason, 'eos');
});

test('beam search through the streaming wrapper equals Salmonn.generate', async () => {
  const wave = await engine.wave({ kind: 'path', path: 'audio/chirp3s.wav' });
  const want = await engine.model.generate({ wavs: [wave] }, { prompt: 'Describe the audio.', mask: null, generate: { numBeams: 3, maxNewTokens: 8 } });
  const r = await engine.run({ audio: { kind: 'bytes', name: 'chirp3s.wav', bytes: new Uint8Array(readFileSync(join(FIXTURE, 'audio/chirp3s.wav'))) }, prompt: 'Describe the audio.', mask: null, numBeams: 3, maxNewTokens: 8 }, () => {}, () => false);
  assert.is(r.text, want.texts[0]);
});

test('microphone PCM at 48 kHz is resampled to 16 kHz', async () => {
  const pcm = new Float32Array(48000 * 1.5).map((_, i) => 0.3 * Math.sin((2 * Math.PI * 440 * i) / 48000));
  const w = await engine.wave({ kind: 'pcm', samples: pcm, sampleRate: 48000 });
  assert.is(w.length, 24000);
  let peak = 0;
  for (const x of w.subarray(1000, 23000)) peak = Math.max(peak, Math.abs(x));
  assert.ok(Math.abs(peak - 0.3) < 0.01, `peak ${peak}`);
});

test('Cancel stops after the current token and returns what was streamed', async () => {
  let n = 0;
  const r = await engine.run({ audio: { kind: 'path', path: 'audio/chirp3s.wav' }, prompt: 'Recognize the speech and give me the transcription.', mask: null, numBeams: 1, maxNewTokens: 20 }, () => n++, () => n >= 3);
  assert.ok(r.cancelled);
  assert.is(r.stopReason, 'cancelled');
  assert.is(r.tokens, 3);
  assert.ok(gen('chirp3s', 'prompt_only').startsWith(r.text.replace(/\uFFFD+$/, '')));
});

test('a mask checkpoint written for download reads back with the library', async () => {
  const l = Float32Array.from({ length: 15 }, (_, i) => (i % 3 ? 4 : -4));
  const m = await readMaskCheckpoint(new MemorySource(maskCheckpointBytes(l), 'checkpoint.pth'));
  assert.equal(Array.from(m.logits), Array.from(l));
  await rejects(engine.readMaskBytes(maskCheckpointBytes(new Float32Array(10)), 'bad.pth'), /3 layers x \(4 heads \+ 1\)/);
});

test('LenientDirectory finds paths written relative to another root', async () => {
  const d = new LenientDirectory(new MemoryDirectory({ 'vicuna/config.json': '{}', 'a/b.txt': 'x' }));
  assert.ok(await d.exists('checkpoints/demo/vicuna/config.json'));
  assert.ok(await d.exists('./a/b.txt'));
  assert.not.ok(await d.exists('checkpoints/demo/whisper/config.json'));
  await rejects(d.open('missing/file.bin'), /no such file/);
  assert.is((await d.open('x/y/a/b.txt')).size, 1);
});

test.after(() => engine?.dispose());
test.run();
