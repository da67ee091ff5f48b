// Training infrastructure that needs no model: data, prompts, targets/labels, loader + resume, schedules,
// checkpoints (write -> our reader), speech cache, log lines, heatmap.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE } from '../helpers/paths.js';
import { pythonWithTorch } from '../helpers/torch.js';
import { Rng } from '../../src/autograd/rng.js';
import { parseTrainConfig } from '../../src/io/config.js';
import { LlamaTokenizer } from '../../src/models/tokenizer.js';
import { MemorySource } from '../../src/io/bytes.js';
import {
  InfiniteLoader, TrainDataError, buildLabels, checkTasks, choosePrompt, countTargets, parseAnnotations, parsePromptDict,
  permutation, sequentialBatches, tokenizeTargets,
} from '../../src/train/data.js';
import { makeSchedule } from '../../src/train/schedule.js';
import { encodeTrainCheckpoint, findLastCheckpoint, readTrainCheckpoint } from '../../src/train/checkpoint.js';
import { MemoryFs, sha256Hex } from '../../src/train/fs.js';
import { SpeechCache } from '../../src/train/cache.js';
import { jsonLine, progressLine } from '../../src/train/log.js';
import { trainingHeatmapSvg } from '../../src/train/heatmap.js';
import { parseNpy } from '../../src/io/npy.js';

const fx = (p: string): string => join(FIXTURE, p);
const training = JSON.parse(readFileSync(fx('expected/training/training.json'), 'utf8'));
const cfgText = readFileSync(fx('train_config.yaml'), 'utf8');
const cfg = parseTrainConfig(cfgText, { file: 'train_config.yaml', cwd: FIXTURE, warn: () => {} });

test('annotations and prompts of the fixture; targets and labels as the official batch', () => {
  const ann = parseAnnotations(readFileSync(cfg.datasets.train_ann_path, 'utf8'), 'train.json', FIXTURE);
  assert.equal(ann.map((a) => a.id), ['audio/chirp3s.wav', 'audio/mix12s.wav']);
  assert.equal(ann[0].path, fx('audio/chirp3s.wav'));
  assert.equal(ann[0].task, 'asr');
  const prompts = parsePromptDict(readFileSync(cfg.model.prompt_path, 'utf8'), 'train_prompt.json', cfg.model.prompt_template);
  checkTasks(ann, prompts, 'train_prompt.json', 'train.json');
  const rng = new Rng(1);
  const p = ann.map((a) => choosePrompt(a, prompts, rng));
  assert.equal(p, training.prompt);
  const tok = LlamaTokenizer.fromBytes(readFileSync(fx('vicuna/tokenizer.model')));
  const t = tokenizeTargets(tok, ann.map((a) => a.text), cfg.model.end_sym, cfg.model.max_txt_len);
  assert.equal(t.ids, training.text_ids_padded);
  assert.is(tok.padId, training.pad_id);
  const prefix = training.p_before_ids.length + 88 + training.p_after_ids.length;
  const labels = buildLabels(t, prefix);
  const exp = parseNpy(new Uint8Array(readFileSync(fx('expected/training/targets.npy'))));
  assert.equal(Array.from(labels), Array.from(exp.data as BigInt64Array, Number));
  assert.is(countTargets(labels, 2), 7 + 12); // "a tone then a rising chirp</s>" and the 12 ids of the second text
});

test('unknown task names the key and the prompt file', () => {
  const prompts = parsePromptDict('{"asr": ["<Speech><SpeechHere></Speech> "]}', 'prompts/p.json', 'USER: {}\nASSISTANT:');
  const ann = parseAnnotations('{"annotation": [{"path": "a.wav", "text": "x", "task": "nope"}]}', 'd.json');
  try {
    checkTasks(ann, prompts, 'prompts/p.json', 'd.json');
    assert.unreachable();
  } catch (e) {
    assert.instance(e, TrainDataError);
    assert.match((e as Error).message, "'nope'");
    assert.match((e as Error).message, 'prompts/p.json');
  }
  assert.throws(() => parseAnnotations('{"annotation": [{"text": "x"}]}', 'd.json'), /annotation\[0\] has no 'path'/);
  // QA prompt filled with Q; prompts without the placeholder dropped
  const qa = parsePromptDict('{"QA": ["<Speech><SpeechHere></Speech> {}", "no placeholder"]}', 'p.json', 'USER: {}\nASSISTANT:');
  assert.equal(qa.get('QA'), ['USER: <Speech><SpeechHere></Speech> {}\nASSISTANT:']);
  const a2 = parseAnnotations('{"annotation": [{"path": "a.wav", "text": "x", "task": "QA", "Q": "who?"}]}', 'd.json');
  assert.is(choosePrompt(a2[0], qa, new Rng(0)), 'USER: <Speech><SpeechHere></Speech> who?\nASSISTANT:');
});

test('loader: drop_last passes, state round trip gives the same batches', () => {
  const mk = () => new InfiniteLoader(7, 3, new Rng(42));
  const a = mk();
  const seq: number[][] = [];
  for (let i = 0; i < 10; i++) seq.push(a.next());
  for (let pass = 0; pass < 5; pass++) {
    const s = new Set([...seq[2 * pass], ...seq[2 * pass + 1]]);
    assert.is(s.size, 6); // two batches per pass of 7 (one dropped), no repeats within a pass
  }
  const b = mk();
  for (let i = 0; i < 3; i++) b.next();
  const st = JSON.parse(JSON.stringify(b.getState(), (_k, v) => (Number.isNaN(v) ? 'NaN' : v)), (_k, v) => (v === 'NaN' ? NaN : v));
  const c = mk();
  c.setState(st);
  for (let i = 3; i < 10; i++) assert.equal(c.next(), seq[i]);
  assert.throws(() => new InfiniteLoader(1, 2, new Rng(0)), /fewer than batch_size_train/);
  assert.equal(sequentialBatches(5, 2), [[0, 1], [2, 3], [4]]);
  const perm = permutation(new Rng(3), 100);
  assert.equal([...perm].sort((x, y) => x - y), Array.from({ length: 100 }, (_, i) => i));
});

test('schedules: the fixture lr/tau per step, decay fraction, warmup then cosine', () => {
  const s = makeSchedule(cfg.run);
  assert.is(s.totalSteps, 90000);
  assert.is(s.tauDecaySteps, 27000);
  for (const st of training.variants.det_init_official.steps) {
    assert.ok(Math.abs(s.lr(0, st.step) - st.lr) < 1e-15, `lr ${st.step}`);
    assert.ok(Math.abs(s.tau(st.step) - st.tau) < 1e-12, `tau ${st.step}`);
  }
  assert.is(s.tau(27000), 0.05);
  assert.is(s.tau(80000), 0.05);
  assert.ok(Math.abs(s.lr(1, 0) - ((1e-2 - 1e-4) * 0.5 * (1 + Math.cos((Math.PI * 3000) / 90000)) + 1e-4)) < 1e-15);
  assert.ok(Math.abs(s.lr(0, 2999) - (1e-6 + (1e-2 - 1e-6) * 2999 / 3000)) < 1e-15);
});

test('checkpoint: write -> read round trip (logits, AdamW state, epoch, config, resume state)', async () => {
  const logits = Float32Array.from({ length: 15 }, (_, i) => 4 + i * 0.01);
  const rng = new Rng(5);
  rng.normal(); // leaves a spare
  const loader = new InfiniteLoader(5, 2, new Rng(9));
  loader.next();
  const bytes = encodeTrainCheckpoint({
    logits,
    adam: { step: 3, expAvg: new Float32Array(15).fill(0.5), expAvgSq: new Float32Array(15).fill(0.25) },
    hyper: { lr: 7.666e-6, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, configWeightDecay: 0.05 },
    config: cfg.raw,
    epoch: 2,
    resume: { version: 1, globalStep: 9, epochsDone: 3, worldSize: 1, rng: { gumbel: rng.getState() }, loader: loader.getState() },
  });
  const ck = await readTrainCheckpoint(new MemorySource(bytes, 'checkpoint_2.pth'));
  assert.equal(Array.from(ck.logits), Array.from(logits));
  assert.is(ck.epoch, 2);
  assert.is(ck.adam!.step, 3);
  assert.equal(Array.from(ck.adam!.expAvgSq), new Array(15).fill(0.25));
  assert.is(ck.hyper.lr, 7.666e-6);
  assert.is(ck.hyper.beta2, 0.999);
  assert.is(ck.hyper.weightDecay, 0);
  assert.is(ck.resume!.globalStep, 9);
  const g = ck.resume!.rng.gumbel;
  assert.equal(g.slice(0, 4), rng.getState().slice(0, 4));
  assert.is(g[4], rng.getState()[4]);
  const l2 = new InfiniteLoader(5, 2, new Rng(0));
  l2.setState(ck.resume!.loader);
  assert.equal(l2.next(), loader.next());
  const conf = ck.config as Map<string, unknown>;
  assert.is((conf.get('run') as Map<string, unknown>).get('norm_lambda'), 1e-4);
  // a released mask reads too (no optimizer, no resume state)
  const init = await readTrainCheckpoint(new MemorySource(new Uint8Array(readFileSync(fx('expected/training/det_init_official/mask_init.pth'))), 'mask_init.pth'));
  const npy = parseNpy(new Uint8Array(readFileSync(fx('expected/training/det_init_official/mask_init.npy'))));
  assert.equal(Array.from(init.logits), Array.from(npy.data as Float32Array));
  assert.is(init.adam, null);
  assert.is(init.resume, null);
  // last checkpoint in a folder
  const fs = new MemoryFs();
  for (const e of [0, 1, 10, 2]) await fs.writeAtomic(`/out/checkpoint_${e}.pth`, 'x');
  await fs.writeAtomic('/out/log.jsonl', '');
  assert.equal(await findLastCheckpoint(fs, '/out'), { path: '/out/checkpoint_10.pth', epoch: 10 });
  assert.is(await findLastCheckpoint(fs, '/none'), null);
});

test('checkpoint: torch.load reads it and a LAVIS-style AdamW accepts its optimizer state (needs torch)', () => {
  const py = pythonWithTorch();
  const dir = mkdtempSync(join(tmpdir(), 'ahamask-ck-'));
  try {
    const logits = Float32Array.from({ length: 15 }, (_, i) => i - 3.5);
    const bytes = encodeTrainCheckpoint({
      logits, adam: { step: 3, expAvg: new Float32Array(15).fill(0.1), expAvgSq: new Float32Array(15).fill(0.01) },
      hyper: { lr: 7.666e-6, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, configWeightDecay: 0.05 }, config: cfg.raw, epoch: 4,
      resume: { version: 1, globalStep: 3, epochsDone: 0, worldSize: 1, rng: { gumbel: new Rng(1).getState() }, loader: new InfiniteLoader(5, 2, new Rng(1)).getState() },
    });
    const f = join(dir, 'checkpoint_4.pth');
    writeFileSync(f, bytes);
    const out = execFileSync(py, ['-c', [
      'import sys, torch',
      'c = torch.load(sys.argv[1], map_location="cpu")',
      'p = torch.nn.Parameter(torch.zeros(15))',
      'opt = torch.optim.AdamW([{"params": [], "weight_decay": 0.05}, {"params": [p], "weight_decay": 0}], lr=1e-2)',
      'opt.load_state_dict(c["optimizer"])',
      'print(sorted(c.keys()), c["epoch"], c["model"]["tensor"].tolist(), float(opt.state[p]["step"]), opt.param_groups[1]["lr"], c["config"]["run"]["norm_lambda"])',
    ].join('\n'), f], { encoding: 'utf8' });
    assert.match(out, "['ahamask_resume', 'config', 'epoch', 'model', 'optimizer', 'scaler'] 4 ");
    assert.match(out, '4 [-3.5, -2.5, -1.5, -0.5, 0.5,');
    assert.match(out, / 3\.0 7\.666e-06 0\.0001\n$/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('speech cache: memory LRU, disk round trip, keys', async () => {
  const fs = new MemoryFs();
  const h = await sha256Hex('abc');
  assert.is(h, 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  assert.is(SpeechCache.key(h, 100, 100), h);
  assert.is(SpeechCache.key(h, 100, 200), `${h}_pad200`);
  const e = { data: Float32Array.from({ length: 12 }, (_, i) => i), tokens: 3, dim: 4 };
  const c1 = new SpeechCache({ modelId: 'm1', fs, dir: '/cache', maxMemoryBytes: 100 });
  assert.is(await c1.get('k1'), null);
  await c1.put('k1', e);
  await c1.put('k2', e);
  assert.is(c1.memoryEntries, 2); // 96 bytes
  await c1.put('k3', e);
  assert.is(c1.memoryEntries, 2); // k1 evicted from memory
  const c2 = new SpeechCache({ modelId: 'm1', fs, dir: '/cache' });
  const got = await c2.get('k1');
  assert.equal(Array.from(got!.data), Array.from(e.data));
  assert.is(c2.stats.diskHits, 1);
  const c3 = new SpeechCache({ modelId: 'm2', fs, dir: '/cache' });
  assert.is(await c3.get('k1'), null); // another model: another folder
});

test('log line, progress line, heatmap', () => {
  assert.is(jsonLine({ a: NaN, b: 1 }), '{"a":"NaN","b":1}\n');
  const line = progressLine({ epoch: 0, maxEpoch: 30, iter: 1500, itersPerEpoch: 3000, loss: 8.6689, ce: 8.6674, lr: 5e-3, tau: 3.5, headsOn: 10, headsTotal: 12, rate: 2, stepsLeft: 88500 });
  assert.match(line, /^ep 1\/30 \[##########\.{10}\] 1500\/3000 loss 8\.6689/);
  assert.match(line, /eta 12:17:30$/);
  const logits = Float32Array.from({ length: 15 }, (_, i) => (i % 3 === 0 ? -1 : 2));
  const svg = trainingHeatmapSvg(logits, 3, 4, { title: 'x<y', history: { step: [0, 1, 2], loss: [3, 2, 1], headsOn: [12, 10, 8] } });
  assert.match(svg, /^<svg/);
  assert.match(svg, /x&lt;y: 8\/12 heads on/);
  assert.is((svg.match(/<rect x=/g) ?? []).length, 15 + 2);
});

test.run();
