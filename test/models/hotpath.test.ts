// Hot-path budgets on the GPU (tiny-salmonn fixture), measured with Device.stats: one readback and one submit per
// decode step (greedy and beam search), greedy reading back only the chosen ids (rows x 4 bytes), two submits and two
// readbacks per training step, no pipeline compile after the first generate, live GPU bytes back to their baseline
// after a session / an end-to-end generate (encoder buffers released), and flat over training steps.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/index.js';
import '../../src/autograd/index.js';
import { fromHost, type Tensor } from '../../src/index.js';
import type { Device } from '../../src/index.js';
import { loadAudio } from '../../src/index.js';
import { parseTrainConfig } from '../../src/index.js';
import { parseNpy } from '../../src/io/npy.js';
import { Salmonn } from '../../src/index.js';
import { generate, type GenerateOptions, type StepModel } from '../../src/index.js';
import { nodeFileSystem } from '../../src/node/index.js';
import { NodeTrainFs } from '../../src/node/index.js';
import { salmonnObjective } from '../../src/index.js';
import { SpeechCache, type SpeechEmbeds } from '../../src/train/cache.js';
import { SpeechSource, type SpeechEncoder } from '../../src/train/speech.js';
import { Trainer } from '../../src/index.js';
import { FIXTURE } from '../helpers/paths.js';
import { gpu } from '../helpers/gpu.js';
import { json, loadTiny, npy } from './fixture.js';

let dev: Device;
let model: Salmonn;

test.before(async () => {
  dev = await gpu();
  ({ model } = await loadTiny(dev));
});
test.after(() => model?.dispose());

/** Counts readbacks, bytes read, submits and pipeline compiles made inside each step of a StepModel (host or argmax path). */
class Metered implements StepModel {
  steps = 0;
  stepReadbacks: number[] = [];
  stepCompiles: number[] = [];
  stepSubmits: number[] = [];
  stepBytes: number[] = [];
  prefillBytes = 0;
  prefillArgmax?: (copies: number) => Promise<Int32Array>;
  stepArgmax?: (tokens: number[]) => Promise<Int32Array>;
  /** hostOnly: hide the inner model's argmax fast path (generate() then reads the logits every step). */
  constructor(readonly inner: StepModel, hostOnly = false) {
    const pa = inner.prefillArgmax, sa = inner.stepArgmax;
    if (pa && !hostOnly) this.prefillArgmax = (c) => this.meterPrefill(() => pa.call(inner, c));
    if (sa && !hostOnly) this.stepArgmax = (t) => this.meter(() => sa.call(inner, t));
  }
  get vocab(): number {
    return this.inner.vocab;
  }
  prefill(copies: number): Promise<Float32Array> {
    return this.meterPrefill(() => this.inner.prefill(copies));
  }
  step(tokens: number[]): Promise<Float32Array> {
    return this.meter(() => this.inner.step(tokens));
  }
  private async meterPrefill<T>(f: () => Promise<T>): Promise<T> {
    const b0 = dev.stats.bytesRead;
    const out = await f();
    this.prefillBytes = dev.stats.bytesRead - b0;
    return out;
  }
  private async meter<T>(f: () => Promise<T>): Promise<T> {
    const r0 = dev.stats.readbacks, c0 = dev.stats.pipelineCompiles;
    const s0 = dev.stats.submits, b0 = dev.stats.bytesRead;
    const out = await f();
    this.stepSubmits.push(dev.stats.submits - s0);
    this.stepReadbacks.push(dev.stats.readbacks - r0);
    this.stepCompiles.push(dev.stats.pipelineCompiles - c0);
    this.stepBytes.push(dev.stats.bytesRead - b0);
    this.steps++;
    return out;
  }
  reorder(idx: number[]): void {
    this.inner.reorder(idx);
  }
}

const embeds = (audio = 'chirp3s', rows = 1): Tensor => {
  const a = npy(`${audio}/mask_only/llm_input_embeds.npy`);
  const data = new Float32Array(a.data.length * rows);
  for (let r = 0; r < rows; r++) data.set(a.data, r * a.data.length);
  return fromHost(data, [rows, ...a.shape], 'f32', dev);
};

/** One decode through a session; returns the per-step meters and the generation. */
async function decode(emb: Tensor, o: Partial<GenerateOptions>, rows = 1, hostOnly = false) {
  const sess = model.session(emb, 'default', o.maxNewTokens!);
  const m = new Metered(sess, hostOnly);
  try {
    const r = await generate(m, rows, o);
    return { m, r };
  } finally {
    sess.dispose();
  }
}

const CASES: Array<[string, Partial<GenerateOptions>, number]> = [
  ['greedy', { numBeams: 1, maxNewTokens: 12 }, 1],
  ['greedy, 2 rows', { numBeams: 1, maxNewTokens: 12 }, 2],
  ['beam search (3 beams)', { numBeams: 3, maxNewTokens: 8 }, 1],
  ['beam search (2 beams), 2 rows', { numBeams: 2, maxNewTokens: 8 }, 2],
];

for (const [name, o, rows] of CASES) {
  test(`${name}: one readback and one submit per decode step, no pipeline compile after the first generate, live bytes back to baseline`, async () => {
    const emb = embeds('chirp3s', rows);
    await decode(emb, o, rows); // warm-up: pipelines, rope table, attention dummies, pool
    await dev.sync();
    const live0 = dev.stats.liveBytes, compiles0 = dev.stats.pipelineCompiles;
    const liveAfter: number[] = [];
    for (let k = 0; k < 3; k++) {
      const { m, r } = await decode(emb, o, rows);
      await dev.sync();
      liveAfter.push(dev.stats.liveBytes - live0);
      assert.ok(m.steps >= 1, 'decoded at least one step');
      console.log(`  ${name}: ${m.steps} steps, readbacks/step ${JSON.stringify(m.stepReadbacks)}, submits/step ${JSON.stringify(m.stepSubmits)}, live bytes after generate ${dev.stats.liveBytes - live0 >= 0 ? '+' : ''}${dev.stats.liveBytes - live0}`);
      for (const n of m.stepReadbacks) assert.ok(n <= 1, `readbacks per step: ${m.stepReadbacks}`);
      // no upload after the first dispatch of a step (an upload ends the command buffer): one submit, the readback's
      for (const n of m.stepSubmits) assert.ok(n <= 1, `submits per step: ${m.stepSubmits}`);
      // greedy picks the ids on the GPU (argmax) and reads back only rows x i32; beam search needs the logits
      const perStep = (o.numBeams ?? 1) === 1 ? rows * 4 : rows * (o.numBeams ?? 1) * model.llama.vocabSize * 4;
      console.log(`  ${name}: bytes read per step ${JSON.stringify(m.stepBytes)}, prefill ${m.prefillBytes}`);
      assert.equal(m.stepBytes, new Array(m.steps).fill(perStep), `bytes read per step: ${m.stepBytes}`);
      assert.is(m.prefillBytes, (o.numBeams ?? 1) === 1 ? rows * 4 : rows * model.llama.vocabSize * 4, 'bytes read by the prefill');
      assert.ok(r.tokens.length === rows);
    }
    assert.is(dev.stats.pipelineCompiles - compiles0, 0, 'pipeline compiles after warm-up');
    assert.equal(liveAfter, [0, 0, 0], `live GPU bytes after each generate (relative to baseline): ${liveAfter}`);
    emb.dispose();
  });
}

test('greedy decode still matches the fixture (the metering changes nothing)', async () => {
  const emb = embeds('chirp3s');
  const { r } = await decode(emb, { numBeams: 1, maxNewTokens: 20 });
  emb.dispose();
  assert.equal(r.tokens[0], json('chirp3s/mask_only/generation.json').generated_ids);
});

test('greedy on the GPU (argmax ids) gives the same generations as greedy over host logits; logits processors keep the host path', async () => {
  for (const rows of [1, 2]) {
    const emb = embeds('chirp3s', rows);
    for (const o of [
      { numBeams: 1, maxNewTokens: 12 },
      { numBeams: 1, maxNewTokens: 12, eosTokenId: -1, stopSequences: [] },
      { numBeams: 1, maxNewTokens: 12, repetitionPenalty: 1.3 },
      { numBeams: 1, maxNewTokens: 12, minLength: 5 },
    ] as Partial<GenerateOptions>[]) {
      const dev1 = await decode(emb, o, rows);
      const host = await decode(emb, o, rows, true);
      assert.equal(dev1.r.sequences, host.r.sequences, `rows ${rows}, ${JSON.stringify(o)}`);
      const V = model.llama.vocabSize;
      assert.ok(host.m.stepBytes.every((b) => b === rows * V * 4), 'host path reads the logits');
      if (o.repetitionPenalty) assert.ok(dev1.m.stepBytes.every((b) => b === rows * V * 4), 'repetition penalty: host path');
      else if (o.minLength) {
        // ids per row after step k (0-based) = k + 2; forcing while that is < min_length
        dev1.m.stepBytes.forEach((b, k) => assert.is(b, k + 2 < o.minLength! ? rows * V * 4 : rows * 4, `min_length: step ${k}: ${dev1.m.stepBytes}`));
      } else assert.ok(dev1.m.stepBytes.every((b) => b === rows * 4), `argmax path: ${dev1.m.stepBytes}`);
    }
    emb.dispose();
  }
  // keepLogits needs the logits: host path, same tokens
  const emb = embeds('chirp3s');
  const k = await decode(emb, { numBeams: 1, maxNewTokens: 6, keepLogits: true });
  const g = await decode(emb, { numBeams: 1, maxNewTokens: 6 });
  emb.dispose();
  assert.equal(k.r.sequences, g.r.sequences);
  assert.ok(k.m.stepBytes.every((b) => b === model.llama.vocabSize * 4));
});

test('live GPU bytes per decode step stay flat (KV cache preallocated)', async () => {
  const emb = embeds('chirp3s');
  const sess = model.session(emb, 'default', 12);
  const perStep: number[] = [];
  const m: StepModel = {
    vocab: sess.vocab,
    prefill: (c) => sess.prefill(c),
    step: async (t) => {
      const out = await sess.step(t);
      perStep.push(dev.stats.liveBytes);
      return out;
    },
    reorder: (i) => sess.reorder(i),
  };
  await generate(m, 1, { numBeams: 1, maxNewTokens: 12, stopSequences: [], eosTokenId: -1 });
  sess.dispose();
  emb.dispose();
  console.log(`  live bytes per step (relative to step 1): ${perStep.map((b) => b - perStep[0])}`);
  assert.ok(perStep.length >= 3);
  for (const b of perStep) assert.is(b, perStep[0], `live bytes per step: ${perStep.map((x) => x - perStep[0])}`);
});

test('end-to-end generate from a waveform (encoders included): live bytes back to baseline, encoder buffers released', async () => {
  const wav = await loadAudio(new Uint8Array(readFileSync(join(FIXTURE, 'audio/chirp3s.wav'))), 'chirp3s.wav');
  const o = { generate: { numBeams: 1, maxNewTokens: 6 } };
  await model.generate({ wavs: [wav] }, o); // warm-up
  await dev.sync();
  const live0 = dev.stats.liveBytes, compiles0 = dev.stats.pipelineCompiles;
  const growth: number[] = [];
  for (let k = 0; k < 2; k++) {
    await model.generate({ wavs: [wav] }, o);
    await dev.sync();
    growth.push(dev.stats.liveBytes - live0);
  }
  console.log(`  end-to-end generate: live bytes after each call (relative to baseline): ${growth}`);
  assert.equal(growth, [0, 0]);
  assert.is(dev.stats.pipelineCompiles - compiles0, 0, 'pipeline compiles after warm-up');
});

test('end-to-end generate over clips of different lengths: GPU memory does not grow with each new length', async () => {
  const wav = await loadAudio(new Uint8Array(readFileSync(join(FIXTURE, 'audio/speech_espeak.wav'))), 'speech_espeak.wav');
  const o = { generate: { numBeams: 1, maxNewTokens: 2 } };
  const clip = (s: number) => wav.subarray(0, Math.min(wav.length, Math.round(s * 16000)));
  await model.generate({ wavs: [clip(1.5)] }, o);
  await dev.sync();
  const live0 = dev.stats.liveBytes;
  const growth: number[] = [];
  for (const s of [2, 2.5, 1.5]) {
    await model.generate({ wavs: [clip(s)] }, o);
    await dev.sync();
    growth.push(dev.stats.liveBytes - live0);
  }
  console.log(`  clips of 2, 2.5, 1.5 s after one of 1.5 s: live bytes (relative): ${growth}`);
  assert.is(growth[2], 0, `live bytes back at the first length: ${growth}`);
});

/** The fixture's batched speech embeddings as a SpeechEncoder (as test/train/parity.test.ts). */
class FixtureSpeech implements SpeechEncoder {
  readonly id = 'fixture-speech-embeds-batch';
  async encode(waves: Float64Array[]): Promise<SpeechEmbeds[]> {
    const p = join(FIXTURE, 'expected/training/speech_embeds_batch.npy');
    const sp = parseNpy(new Uint8Array(readFileSync(p)), p).data as Float32Array;
    const longest = Math.max(...waves.map((w) => w.length));
    return waves.map((w) => {
      const i = w.length === longest ? 1 : 0;
      return { data: sp.slice(i * 88 * 64, (i + 1) * 88 * 64), tokens: 88, dim: 64 };
    });
  }
}

test('training: live GPU bytes stay flat over steps (tape, batch, gradients and optimizer state released)', async () => {
  const cfg = parseTrainConfig(readFileSync(join(FIXTURE, 'train_config.yaml'), 'utf8'), { file: 'train_config.yaml', cwd: FIXTURE, warn: () => {} });
  const m = await Salmonn.load({ model: cfg.model, fs: nodeFileSystem(FIXTURE), target: dev, mask: null, cwd: FIXTURE, warn: () => {} });
  const fs = new NodeTrainFs();
  const { mkdtempSync, rmSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const out = mkdtempSync(join(tmpdir(), 'ahamask-hotpath-'));
  const trainer = new Trainer({
    cfg, fs, outputDir: out, maxSteps: 5, validate: false, noise: { kind: 'sample' },
    speech: new SpeechSource(fs, new FixtureSpeech(), new SpeechCache({ modelId: 'fixture' }), 'padded_batch'),
    objectives: [salmonnObjective(m, cfg.model)],
  });
  try {
    await trainer.setup();
    // warm-up: pipelines, AdamW moments; the first AdamW update (no moments yet) uses other kernels than the next
    await trainer.step();
    await trainer.step();
    await dev.sync();
    const live0 = dev.stats.liveBytes, compiles0 = dev.stats.pipelineCompiles;
    const growth: number[] = [];
    for (let k = 0; k < 3; k++) {
      const s0 = dev.stats.submits, r0 = dev.stats.readbacks;
      await trainer.step();
      await dev.sync();
      const subs = dev.stats.submits - s0, reads = dev.stats.readbacks - r0;
      console.log(`  training step: ${subs} submits, ${reads} readbacks`);
      // one command buffer for the forward/backward (every upload before it; backward seeds cached) ending in one
      // readback of loss, mask and gradient together; one for the AdamW update ending in the read of θ (was 10 and 4)
      assert.is(subs, 2, 'submits per training step');
      assert.is(reads, 2, 'readbacks per training step');
      growth.push(dev.stats.liveBytes - live0);
    }
    console.log(`  training: live bytes after steps 3..5 (relative to step 2): ${growth}; compiles after step 2: ${dev.stats.pipelineCompiles - compiles0}`);
    assert.equal(growth, [0, 0, 0]);
    assert.is(dev.stats.pipelineCompiles - compiles0, 0, 'pipeline compiles after the first two steps');
  } finally {
    trainer.dispose();
    m.dispose();
    rmSync(out, { recursive: true, force: true });
  }
});

test.run();
