// The training loop with a toy objective (CPU backend, no LLM): schedules and update order, checkpoints each
// epoch, exact resume (epoch end and mid-epoch), dumps, skipped audio, validation, data-parallel averaging.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, mkdirSync, readFileSync, writeFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE } from '../helpers/paths.js';
import '../../src/index.js';
import '../../src/autograd/index.js';
import { parseTrainConfig } from '../../src/index.js';
import { parseNpy } from '../../src/io/npy.js';
import { MemorySource } from '../../src/index.js';
import { mean, mul, square, sub } from '../../src/index.js';
import { Tensor, fromHost, tidy } from '../../src/index.js';
import { Trainer, findResumeCheckpoint, type TrainerOptions } from '../../src/index.js';
import { SpeechCache } from '../../src/index.js';
import { SpeechSource, type SpeechEncoder } from '../../src/train/speech.js';
import type { MaskObjective, PreparedBatch, TrainItem } from '../../src/train/objective.js';
import { readTrainCheckpoint } from '../../src/train/checkpoint.js';
import { NodeTrainFs } from '../../src/node/index.js';

const L = 3, H = 4, N = L * (H + 1);

/** Speech "embeddings": a few statistics of the waveform. */
class StatsEncoder implements SpeechEncoder {
  readonly id = 'stats-v1';
  calls = 0;
  async encode(waves: Float64Array[]): Promise<{ data: Float32Array; tokens: number; dim: number }[]> {
    this.calls += waves.length;
    return waves.map((w) => {
      let s = 0, s2 = 0, mx = 0;
      for (const x of w) { s += x; s2 += x * x; mx = Math.max(mx, Math.abs(x)); }
      return { data: Float32Array.of(s / w.length, Math.sqrt(s2 / w.length), w.length / 16000, mx), tokens: 1, dim: 4 };
    });
  }
}

interface ToyBatch extends PreparedBatch {
  w: Tensor;
  y: Tensor;
}

/** ce = mean((m * w - y)^2) with w, y from the speech stats and the text. */
class ToyObjective implements MaskObjective {
  readonly nLayers = L;
  readonly nHeads = H;
  readonly target = 'cpu' as const;
  prepare(items: TrainItem[]): PreparedBatch {
    const B = items.length;
    const w = new Float32Array(B * N), y = new Float32Array(B * N);
    items.forEach((it, b) => {
      for (let j = 0; j < N; j++) {
        w[b * N + j] = 0.5 + it.speech.data[j % 4] + 0.01 * j;
        y[b * N + j] = ((j + it.text.length) % 3) / 2;
      }
    });
    const dummy = fromHost([0], [1], 'f32', 'cpu');
    return { size: B, embeds: dummy, seqLen: 0, prefixLen: 0, textLen: 0, targets: dummy, nTargets: B, labels: new Int32Array(0), w: fromHost(w, [B, N], 'f32', 'cpu'), y: fromHost(y, [B, N], 'f32', 'cpu') } as ToyBatch;
  }
  ce(batch: PreparedBatch, m: Tensor): Tensor {
    const b = batch as ToyBatch;
    return tidy(() => mean(mean(square(sub(mul(m, b.w), b.y)), 1), 0));
  }
  release(batch: PreparedBatch): void {
    const b = batch as ToyBatch;
    b.embeds.dispose();
    b.w.dispose();
    b.y.dispose();
  }
}

const root = mkdtempSync(join(tmpdir(), 'ahamask-train-'));
const data = join(root, 'train.json');
writeFileSync(join(root, 'broken.wav'), 'not audio at all');
writeFileSync(data, JSON.stringify({
  annotation: [
    { path: join(FIXTURE, 'audio/chirp3s.wav'), text: 'a tone then a rising chirp', task: 'asr' },
    { path: join(root, 'missing.wav'), text: 'gone', task: 'asr' },
    { path: join(FIXTURE, 'audio/mix12s.wav'), text: 'noise bursts', task: 'asr' },
    { path: join(root, 'broken.wav'), text: 'broken', task: 'asr' },
    { path: join(FIXTURE, 'audio/speech_espeak.wav'), text: 'speech', task: 'audiocaption' },
  ],
}));
const yaml = readFileSync(join(FIXTURE, 'train_config.yaml'), 'utf8')
  .replace('train_ann_path: "data/train.json"', `train_ann_path: "${data}"`)
  .replace('valid_ann_path: "data/train.json"', `valid_ann_path: "${join(FIXTURE, 'data/train.json')}"`)
  .replace('iters_per_epoch: 3000', 'iters_per_epoch: 3')
  .replace('max_epoch: 30', 'max_epoch: 2')
  .replace('warmup_steps: 3000', 'warmup_steps: 2')
  .replace('init_lr: 1e-2', 'init_lr: 0.3')
  .replace('norm_lambda: 1e-4', 'norm_lambda: 0.01')
  .replace('tau_decay_steps: 0.3', 'tau_decay_steps: 0.5');
const cfg = parseTrainConfig(yaml, { file: 'toy.yaml', cwd: FIXTURE, warn: () => {} });
const fs = new NodeTrainFs();
const init = Float32Array.from({ length: N }, (_, j) => (j % 5 === 2 ? -0.2 : 0.3 + 0.01 * j));

function opts(out: string, extra: Partial<TrainerOptions> = {}, workers = 1): TrainerOptions {
  const enc = new StatsEncoder();
  return {
    cfg, fs, outputDir: out, initLogits: init,
    speech: new SpeechSource(fs, enc, new SpeechCache({ modelId: enc.id, fs, dir: join(root, 'cache') })),
    objectives: Array.from({ length: workers }, () => new ToyObjective()),
    ...extra,
  };
}

async function train(out: string, extra: Partial<TrainerOptions> = {}, workers = 1) {
  const t = new Trainer(opts(out, extra, workers));
  try {
    return await t.run();
  } finally {
    t.dispose();
  }
}

let full: Awaited<ReturnType<typeof train>>;

test('uninterrupted run: steps, schedules, checkpoints, validation, skipped audio, log, heatmap', async () => {
  const out = join(root, 'full');
  full = await train(out, { dumpDir: join(root, 'dump') });
  assert.is(full.globalStep, 6);
  assert.equal(full.skipped.map((s) => s.id), [join(root, 'missing.wav'), join(root, 'broken.wav')]);
  assert.equal(full.history.map((h) => h.lr), [0.3 * 0 + 1e-6, 1e-6 + (0.3 - 1e-6) / 2, ...[2, 3, 4, 5].map((s) => (0.3 - 1e-4) * 0.5 * (1 + Math.cos((Math.PI * s) / 6)) + 1e-4)]);
  assert.equal(full.history.map((h) => h.tau), [0, 1, 2, 3, 4, 5].map((s) => (s >= 3 ? 0.05 : 4 - (s / 3) * 3.95)));
  assert.ok(full.history.every((h) => Number.isFinite(h.loss) && h.loss > 0));
  assert.ok(full.history.some((h, i) => i > 0 && h.loss !== full.history[0].loss));
  assert.equal(full.checkpoints, [join(out, 'checkpoint_0.pth'), join(out, 'checkpoint_1.pth')]);
  assert.is(full.valid.length, 2);
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  assert.equal(log.map((r) => r.type), ['skipped', 'skipped', 'step', 'step', 'step', 'valid', 'epoch', 'step', 'step', 'step', 'valid', 'epoch']);
  assert.ok(existsSync(full.heatmapPath));
  const ck = await readTrainCheckpoint(new MemorySource(await fs.read(join(out, 'checkpoint_1.pth')), 'ck'));
  assert.equal(Array.from(ck.logits), Array.from(full.logits));
  assert.is(ck.epoch, 1);
  assert.is(ck.adam!.step, 6);
  assert.is(ck.resume!.globalStep, 6);
  // dumps
  const w0 = parseNpy(new Uint8Array(readFileSync(join(root, 'dump/weights_tensor_step0.npy'))));
  assert.equal(w0.shape, [2, N]);
  assert.ok(Array.from(w0.data as Float32Array).every((v) => v === 0 || v === 1));
  const g5 = parseNpy(new Uint8Array(readFileSync(join(root, 'dump/grad_step5.npy'))));
  assert.equal(g5.shape, [N]);
  const m6 = parseNpy(new Uint8Array(readFileSync(join(root, 'dump/mask_after_step6.npy'))));
  assert.equal(Array.from(m6.data as Float32Array), Array.from(full.logits));
  const tj = JSON.parse(readFileSync(join(root, 'dump/training.json'), 'utf8'));
  assert.equal(tj.steps.map((s: { step: number }) => s.step), [0, 1, 2, 3, 4, 5]);
  assert.is(tj.steps[3].loss, full.history[3].loss);
});

test('resume from the epoch checkpoint ends with the same mask', async () => {
  const out = join(root, 'resume-epoch');
  const first = await train(out, { maxSteps: 3 });
  assert.is(first.globalStep, 3);
  const r = await findResumeCheckpoint(fs, out);
  assert.is(r!.path, join(out, 'checkpoint_0.pth'));
  const second = await train(out, { resume: r!.ckpt, initLogits: null });
  assert.is(second.globalStep, 6);
  assert.equal(Array.from(second.logits), Array.from(full.logits));
  assert.equal(second.history.map((h) => h.loss), full.history.slice(3).map((h) => h.loss));
});

test('resume mid-epoch (--max-steps stop writes checkpoint_latest.pth) ends with the same mask', async () => {
  const out = join(root, 'resume-mid');
  await train(out, { maxSteps: 4 });
  const r = await findResumeCheckpoint(fs, out);
  assert.is(r!.path, join(out, 'checkpoint_latest.pth'));
  assert.is(r!.ckpt.resume!.globalStep, 4);
  const second = await train(out, { resume: r!.ckpt });
  assert.equal(Array.from(second.logits), Array.from(full.logits));
  // the epoch mean of epoch 1 includes the steps before the interruption
  const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const fullLog = readFileSync(join(root, 'full/log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
  const ep = (ls: { type: string; epoch: number; train_loss: number }[]) => ls.filter((x) => x.type === 'epoch' && x.epoch === 1)[0].train_loss;
  assert.ok(Math.abs(ep(log) - ep(fullLog)) < 1e-12);
});

test('no-noise mode and replayed noise: E = 1 everywhere equals replaying ones', async () => {
  const a = await train(join(root, 'nonoise'), { noise: { kind: 'none' }, maxSteps: 2, validate: false });
  const nd = join(root, 'ones');
  mkdirSync(nd, { recursive: true });
  const { encodeNpy } = await import('../../src/io/npy.js');
  for (const s of [0, 1]) writeFileSync(join(nd, `exp_noise_step${s}.npy`), encodeNpy(new Float32Array(2 * N).fill(1), [2, N]), { flag: 'w' });
  const b = await train(join(root, 'replay'), { noise: { kind: 'replay', dir: nd }, maxSteps: 2, validate: false });
  assert.equal(Array.from(a.logits), Array.from(b.logits));
});

test('data parallel: 2 workers x batch 1 average their gradients like one worker with batch 2', async () => {
  const cfg1 = parseTrainConfig(yaml.replace('batch_size_train: 2', 'batch_size_train: 1'), { file: 'toy.yaml', cwd: FIXTURE, warn: () => {} });
  const t = new Trainer({ ...opts(join(root, 'dp'), { maxSteps: 3, validate: false }, 2), cfg: cfg1 });
  const dp = await t.run();
  t.dispose();
  const one = await train(join(root, 'dp1'), { maxSteps: 3, validate: false });
  for (let j = 0; j < N; j++) assert.ok(Math.abs(dp.logits[j] - one.logits[j]) < 1e-6, `logit ${j}: ${dp.logits[j]} vs ${one.logits[j]}`);
});

test.after(() => rmSync(root, { recursive: true, force: true }));

test.run();
