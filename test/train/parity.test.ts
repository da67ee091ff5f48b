// Reference parity of AHAMask training on the tiny-salmonn fixture (expected/training/, official PyTorch code):
//  - the LLM stage from the fixture's batched speech embeddings (loss, dLoss/dlogits at step 0), CPU and GPU;
//  - end to end through `ahamask train` (audio -> 3 steps) for det_init_official (no noise) and
//    gumbel_init_official (replayed Exp(1) draws): hard masks, gradients, masks after each step, losses, lr, τ;
//  - resume equivalence (2 steps, then --resume to 3 = 3 uninterrupted steps), checkpoint round trip through
//    our reader and evaluate's mask reader and torch.load (a missing torch fails that test).
// The fixture's logits cover the real vocabulary only (no [PAD] row); a model whose lm_head had a zero [PAD] row
// would be compared with *_with_zero_pad_logit instead (README).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE, ROOT } from '../helpers/paths.js';
import { pythonWithTorch } from '../helpers/torch.js';
import '../../src/index.js';
import '../../src/autograd/index.js';
import { backwardMany, gumbelSigmoid, requiresGrad } from '../../src/autograd/index.js';
import { parseTrainConfig } from '../../src/io/config.js';
import { npyToFloat64, parseNpy } from '../../src/io/npy.js';
import { MemorySource } from '../../src/io/bytes.js';
import { Salmonn } from '../../src/models/salmonn.js';
import type { Target } from '../../src/models/weights.js';
import { fromHost } from '../../src/tensor/tensor.js';
import { getDevice } from '../../src/node/gpu.js';
import { readMaskCheckpointFile } from '../../src/node/files.js';
import { nodeFileSystem } from '../../src/cli/evaluate.js';
import { salmonnObjective } from '../../src/train/salmonn.js';
import { readTrainCheckpoint } from '../../src/train/checkpoint.js';
import { SpeechCache, type SpeechEmbeds } from '../../src/train/cache.js';
import { SpeechSource, type SpeechEncoder } from '../../src/train/speech.js';
import { Trainer } from '../../src/train/trainer.js';
import { NodeTrainFs } from '../../src/cli/train-fs.js';

const EXP = join(FIXTURE, 'expected/training');
const npy = (p: string): Float32Array => {
  const a = parseNpy(new Uint8Array(readFileSync(p)), p);
  return a.dtype === 'f4' ? (a.data as Float32Array) : Float32Array.from(npyToFloat64(a));
};
const tj = JSON.parse(readFileSync(join(EXP, 'training.json'), 'utf8'));
const RUNS = ['det_init_official', 'gumbel_init_official'] as const;
const tmp = mkdtempSync(join(tmpdir(), 'ahamask-parity-'));

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.is(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}
/**
 * Gradient tolerance per entry: GRAD_ATOL + GRAD_RTOL·|expected|. It must stay well under the smallest term the
 * gradient has to show: the norm_lambda term λ/B·Σ_b σ'(z_bi)/τ (4.4e-6 to 6.0e-6 per entry here), which a
 * tolerance of 5e-6 swallowed whole. `normTerm` computes that term and every check asserts it is ≥ 5× the tolerance.
 * (Measured: |Δgrad| ≤ 2e-8 on the GPU end to end.)
 */
const GRAD_ATOL = 1e-7, GRAD_RTOL = 1e-5;
const gradTol = (e: number): number => GRAD_ATOL + GRAD_RTOL * Math.abs(e);

/** The first entry whose gradient is outside the tolerance, as a message; null when all agree. */
function gradMismatch(got: ArrayLike<number>, exp: ArrayLike<number>, what: string): string | null {
  if (got.length !== exp.length) return `${what}: ${got.length} entries vs ${exp.length}`;
  for (let i = 0; i < exp.length; i++) {
    const d = Math.abs(got[i] - exp[i]);
    if (!(d <= gradTol(exp[i]))) return `${what}[${i}]: ${got[i]} vs ${exp[i]} (|d| ${d.toExponential(2)} > ${gradTol(exp[i]).toExponential(2)})`;
  }
  return null;
}
function assertGrad(got: ArrayLike<number>, exp: ArrayLike<number>, what: string): void {
  const m = gradMismatch(got, exp, what);
  assert.ok(m === null, m ?? '');
}

/** dNormLoss/dθ_i = λ/B · Σ_b s_bi(1 − s_bi)/τ with s = sigmoid((θ + log E)/τ), in f64 (E = 1: no noise). */
function normTerm(theta: ArrayLike<number>, tau: number, batch: number, noise: ArrayLike<number> | null): Float64Array {
  const lambda = tj.norm_lambda as number, n = theta.length, out = new Float64Array(n);
  for (let b = 0; b < batch; b++) {
    for (let i = 0; i < n; i++) {
      const s = 1 / (1 + Math.exp(-(theta[i] + (noise ? Math.log(noise[b * n + i]) : 0)) / tau));
      out[i] += (lambda / batch) * s * (1 - s) / tau;
    }
  }
  return out;
}

/** The tolerance can see the norm_lambda term: every entry's term is ≥ 5× its tolerance, so a gradient without it fails. */
function assertSeesNormTerm(expGrad: ArrayLike<number>, term: ArrayLike<number>, what: string): void {
  for (let i = 0; i < term.length; i++) {
    assert.ok(term[i] >= 5 * gradTol(expGrad[i]), `${what}[${i}]: norm_lambda term ${term[i]} is not well above the tolerance ${gradTol(expGrad[i])}`);
  }
  const dropped = Array.from(expGrad, (g, i) => g - term[i]);
  assert.ok(gradMismatch(dropped, expGrad, what) !== null, `${what}: a gradient without the norm_lambda term would pass`);
}

/**
 * The optimizer update itself: (ours after − ours before) against (expected after − expected before), per entry
 * within 10 % of the step's largest expected move. Early steps move the mask by only 1e-6 to 8e-6 (lr warms up from
 * 1e-6), so comparing masks at 1e-6 could not see a missing update; this check can (asserted: a step that does not
 * move the mask fails it).
 */
const UPDATE_RTOL = 0.1;
function updateMismatch(gotBefore: ArrayLike<number>, gotAfter: ArrayLike<number>, expBefore: ArrayLike<number>, expAfter: ArrayLike<number>, what: string): string | null {
  let scale = 0;
  for (let i = 0; i < expAfter.length; i++) scale = Math.max(scale, Math.abs(expAfter[i] - expBefore[i]));
  const tol = UPDATE_RTOL * scale;
  for (let i = 0; i < expAfter.length; i++) {
    const got = gotAfter[i] - gotBefore[i], exp = expAfter[i] - expBefore[i];
    if (!(Math.abs(got - exp) <= tol)) return `${what}[${i}]: moved by ${got.toExponential(3)}, expected ${exp.toExponential(3)} (tolerance ${tol.toExponential(2)})`;
  }
  return null;
}

/** Checks the 3 dumped steps of `run` in `dump` against the reference: hard masks, gradients, updates. */
function assertSteps(run: (typeof RUNS)[number], dump: string, what: string): void {
  const steps = tj.variants[run].steps;
  let gotBefore = npy(join(EXP, run, 'mask_init.npy')), expBefore = gotBefore;
  for (let k = 0; k < 3; k++) {
    assert.equal(Array.from(npy(join(dump, `weights_tensor_step${k}.npy`))), Array.from(npy(join(EXP, run, `weights_tensor_step${k}.npy`))), `${what} hard mask ${k}`);
    const expGrad = npy(join(EXP, run, `grad_step${k}.npy`));
    const noise = run === 'det_init_official' ? null : npy(join(EXP, run, `exp_noise_step${k}.npy`));
    assertSeesNormTerm(expGrad, normTerm(expBefore, steps[k].tau, 2, noise), `${what} grad_step${k}`);
    assertGrad(npy(join(dump, `grad_step${k}.npy`)), expGrad, `${what} grad_step${k}`);
    const gotAfter = npy(join(dump, `mask_after_step${k + 1}.npy`)), expAfter = npy(join(EXP, run, `mask_after_step${k + 1}.npy`));
    // the check must see a step that does not happen (or moves the mask too little)
    assert.ok(updateMismatch(expBefore, expBefore, expBefore, expAfter, 'no update') !== null, `${what}: a missing update ${k + 1} would pass`);
    const m = updateMismatch(gotBefore, gotAfter, expBefore, expAfter, `${what} update ${k + 1}`);
    assert.ok(m === null, m ?? '');
    assert.ok(maxAbs(gotAfter, expAfter) <= 1e-6, `${what} mask_after_step${k + 1}`);
    gotBefore = gotAfter;
    expBefore = expAfter;
  }
}

async function stage(target: Target): Promise<void> {
  const cfg = parseTrainConfig(readFileSync(join(FIXTURE, 'train_config.yaml'), 'utf8'), { file: 'train_config.yaml', cwd: FIXTURE, warn: () => {} });
  const model = await Salmonn.load({ model: cfg.model, fs: nodeFileSystem(FIXTURE), target, mask: null, cwd: FIXTURE, warn: () => {} });
  try {
    const obj = salmonnObjective(model, cfg.model);
    const sp = npy(join(EXP, 'speech_embeds_batch.npy'));
    const items = tj.batch.map((b: { text: string }, i: number) => ({ prompt: tj.prompt[i], text: b.text, speech: { data: sp.slice(i * 88 * 64, (i + 1) * 88 * 64), tokens: 88, dim: 64 } }));
    const batch = obj.prepare(items);
    assert.ok(maxAbs(await batch.embeds.data(), npy(join(EXP, 'llm_inputs_embeds.npy'))) <= 2e-4, 'llm_inputs_embeds');
    const targets = npy(join(EXP, 'targets.npy'));
    assert.equal(Array.from(batch.labels), Array.from(targets));
    const zeroPad = model.llama.vocabSize === tj.pad_id + 1;
    for (const run of RUNS) {
      const theta = requiresGrad(fromHost(npy(join(EXP, run, 'mask_init.npy')), [15], 'f32', target));
      const m = gumbelSigmoid(theta, { tau: 4, batch: 2, noise: npy(join(EXP, run, 'exp_noise_step0.npy')) });
      const ce = obj.ce(batch, m);
      const gCe = fromHost([1], [], 'f32', target), gM = fromHost(new Float32Array(30).fill(1e-4 / 2), [2, 15], 'f32', target);
      backwardMany([ce, m], [gCe, gM]);
      const hard = await m.data();
      assert.equal(Array.from(hard), Array.from(npy(join(EXP, run, 'weights_tensor_step0.npy'))), `${run} hard mask`);
      const loss = (await ce.data())[0] + 1e-4 * Array.from(hard).reduce((a, b) => a + b, 0) / 2;
      const step0 = tj.variants[run].steps[0];
      const expLoss = zeroPad && run === 'det_init_official' ? tj.variants[run].step0_loss_with_zero_pad_logit : step0.loss;
      assert.ok(Math.abs(loss - expLoss) <= 1e-4, `${run} loss ${loss} vs ${expLoss}`);
      const gfile = zeroPad && run === 'det_init_official' ? 'grad_step0_with_zero_pad_logit.npy' : 'grad_step0.npy';
      const expGrad = npy(join(EXP, run, gfile)), where = `${run} grad (${target === 'cpu' ? 'cpu' : 'gpu'})`;
      assertGrad(await theta.grad!.data(), expGrad, where);
      // the broken variant: the same backward without the norm_lambda term must fail the same check
      const theta2 = requiresGrad(fromHost(npy(join(EXP, run, 'mask_init.npy')), [15], 'f32', target));
      const m2 = gumbelSigmoid(theta2, { tau: 4, batch: 2, noise: npy(join(EXP, run, 'exp_noise_step0.npy')) });
      const ce2 = obj.ce(batch, m2);
      const gCe2 = fromHost([1], [], 'f32', target);
      backwardMany([ce2], [gCe2]);
      assert.ok(gradMismatch(await theta2.grad!.data(), expGrad, where) !== null, `${where}: a gradient without norm_lambda passes`);
      assertSeesNormTerm(expGrad, normTerm(npy(join(EXP, run, 'mask_init.npy')), 4, 2, npy(join(EXP, run, 'exp_noise_step0.npy'))), where);
      for (const t of [theta.grad!, theta, m, ce, gCe, gM, theta2.grad!, theta2, m2, ce2, gCe2]) t.dispose();
    }
    obj.release(batch);
  } finally {
    model.dispose();
  }
}

test('LLM stage from the fixture speech embeddings: loss and mask gradient at step 0 (CPU)', async () => {
  await stage('cpu');
});

test('LLM stage from the fixture speech embeddings: loss and mask gradient at step 0 (GPU)', async () => {
  await stage(await getDevice());
});

/** The fixture's batched speech embeddings as a SpeechEncoder (by clip length: chirp3s is the shorter one). */
class FixtureSpeech implements SpeechEncoder {
  readonly id = 'fixture-speech-embeds-batch';
  async encode(waves: Float64Array[]): Promise<SpeechEmbeds[]> {
    const sp = npy(join(EXP, 'speech_embeds_batch.npy'));
    const longest = Math.max(...waves.map((w) => w.length));
    return waves.map((w) => {
      const i = w.length === longest ? 1 : 0;
      return { data: sp.slice(i * 88 * 64, (i + 1) * 88 * 64), tokens: 88, dim: 64 };
    });
  }
}

async function trainerFromFixtureEmbeds(target: Target): Promise<void> {
  const cfg = parseTrainConfig(readFileSync(join(FIXTURE, 'train_config.yaml'), 'utf8'), { file: 'train_config.yaml', cwd: FIXTURE, warn: () => {} });
  const model = await Salmonn.load({ model: cfg.model, fs: nodeFileSystem(FIXTURE), target, mask: null, cwd: FIXTURE, warn: () => {} });
  const fs = new NodeTrainFs();
  try {
    for (const run of RUNS) {
      const dump = join(tmp, `fixture-embeds-${run}-${target === 'cpu' ? 'cpu' : 'gpu'}`);
      const trainer = new Trainer({
        cfg, fs, outputDir: join(dump, 'out'), dumpDir: dump, maxSteps: 3, validate: false,
        initLogits: (await readTrainCheckpoint(new MemorySource(new Uint8Array(readFileSync(join(EXP, run, 'mask_init.pth'))), 'mask_init.pth'))).logits,
        noise: run === 'det_init_official' ? { kind: 'none' } : { kind: 'replay', dir: join(EXP, run) },
        speech: new SpeechSource(fs, new FixtureSpeech(), new SpeechCache({ modelId: 'fixture' }), 'padded_batch'),
        objectives: [salmonnObjective(model, cfg.model)],
      });
      try {
        const r = await trainer.run();
        let dl = 0, dg = 0, dm = 0;
        for (let k = 0; k < 3; k++) {
          dl = Math.max(dl, Math.abs(r.history[k].loss - tj.variants[run].steps[k].loss));
          dg = Math.max(dg, maxAbs(npy(join(dump, `grad_step${k}.npy`)), npy(join(EXP, run, `grad_step${k}.npy`))));
          dm = Math.max(dm, maxAbs(npy(join(dump, `mask_after_step${k + 1}.npy`)), npy(join(EXP, run, `mask_after_step${k + 1}.npy`))));
        }
        console.log(`  ${run} (${target === 'cpu' ? 'cpu' : 'gpu'}, fixture speech embeds): max |Δloss| ${dl.toExponential(2)}, |Δgrad| ${dg.toExponential(2)}, |Δmask| ${dm.toExponential(2)}`);
        for (let k = 0; k < 3; k++) {
          const e = tj.variants[run].steps[k];
          assert.ok(Math.abs(r.history[k].loss - e.loss) <= 1e-4, `${run} loss ${k}: ${r.history[k].loss} vs ${e.loss}`);
        }
        assertSteps(run, dump, run);
      } finally {
        trainer.dispose();
      }
    }
  } finally {
    model.dispose();
  }
}

test('trainer on the real LLM from the fixture speech embeddings: 3 steps of both runs (CPU)', async () => {
  await trainerFromFixtureEmbeds('cpu');
});

test('trainer on the real LLM from the fixture speech embeddings: 3 steps of both runs (GPU)', async () => {
  await trainerFromFixtureEmbeds(await getDevice());
});

/** `ahamask train` in the fixture folder (relative paths resolve against the working directory, as train.py). */
function cli(args: string[]): string {
  const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'train', '-c', 'train_config.yaml', '-q', '--speech-batching', 'padded_batch', ...args], {
    // a hang guard only: on a loaded 2-core machine one run took over 120 s
    cwd: FIXTURE, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 600_000,
  });
  if (r.status !== 0) {
    const how = r.error ? `did not finish (${r.error.message})` : r.signal ? `was killed by ${r.signal}` : `exited ${r.status}`;
    throw new Error(`ahamask train ${args.join(' ')} ${how}:\n${r.stdout}\n${r.stderr}`);
  }
  return r.stderr;
}

for (const run of RUNS) {
  test(`ahamask train end to end: ${run}, 3 steps (hard masks, gradients, masks, loss, lr, τ)`, async () => {
    const out = join(tmp, run), dump = join(tmp, `${run}-dump`);
    const noise = run === 'det_init_official' ? ['--no-gumbel-noise'] : ['--gumbel-noise-dir', join(EXP, run)];
    cli(['--output-dir', out, '--cache-dir', join(tmp, 'cache'), '--max-steps', '3', '--init-mask', join(EXP, run, 'mask_init.pth'), '--dump-dir', dump, ...noise]);
    const steps = JSON.parse(readFileSync(join(dump, 'training.json'), 'utf8')).steps;
    let dl = 0, dg = 0, dm = 0;
    for (let k = 0; k < 3; k++) {
      dl = Math.max(dl, Math.abs(steps[k].loss - tj.variants[run].steps[k].loss));
      dg = Math.max(dg, maxAbs(npy(join(dump, `grad_step${k}.npy`)), npy(join(EXP, run, `grad_step${k}.npy`))));
      dm = Math.max(dm, maxAbs(npy(join(dump, `mask_after_step${k + 1}.npy`)), npy(join(EXP, run, `mask_after_step${k + 1}.npy`))));
    }
    console.log(`  ${run} (ahamask train, audio end to end, gpu): max |Δloss| ${dl.toExponential(2)}, |Δgrad| ${dg.toExponential(2)}, |Δmask| ${dm.toExponential(2)}`);
    assertSteps(run, dump, `${run} (end to end)`);
    for (let k = 0; k < 3; k++) {
      const e = tj.variants[run].steps[k];
      assert.ok(Math.abs(steps[k].loss - e.loss) <= 1e-4, `${run} loss ${k}: ${steps[k].loss} vs ${e.loss}`);
      assert.ok(Math.abs(steps[k].ce - e.ce) <= 1e-4, `${run} ce ${k}`);
      assert.ok(Math.abs(steps[k].lr - e.lr) <= 1e-12 && Math.abs(steps[k].tau - e.tau) <= 1e-9, `${run} lr/tau ${k}`);
      assert.is(steps[k].normalizer, e.normalizer);
    }
    // the checkpoint of the stopped run: our reader, evaluate's mask reader
    const ck = join(out, 'checkpoint_latest.pth');
    const last = npy(join(dump, 'mask_after_step3.npy'));
    const ours = await readTrainCheckpoint(new MemorySource(new Uint8Array(readFileSync(ck)), ck));
    assert.equal(Array.from(ours.logits), Array.from(last));
    assert.is(ours.adam!.step, 3);
    assert.is(ours.resume!.globalStep, 3);
    assert.equal(Array.from((await readMaskCheckpointFile(ck)).logits), Array.from(last));
    assert.ok(existsSync(join(out, 'mask_heatmap.svg')));
    const log = readFileSync(join(out, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.equal(log.map((r) => r.step), [0, 1, 2]);
  });
}

test('--resume after 2 steps ends with the same mask as 3 uninterrupted steps', async () => {
  const out = join(tmp, 'resume'), dump = join(tmp, 'resume-dump');
  const common = ['--output-dir', out, '--cache-dir', join(tmp, 'cache'), '--gumbel-noise-dir', join(EXP, 'gumbel_init_official'), '--dump-dir', dump];
  cli([...common, '--max-steps', '2', '--init-mask', join(EXP, 'gumbel_init_official/mask_init.pth')]);
  const err = cli([...common, '--max-steps', '3', '--resume']);
  assert.match(err, /resum/);
  const a = npy(join(dump, 'mask_after_step3.npy'));
  const b = npy(join(tmp, 'gumbel_init_official-dump', 'mask_after_step3.npy'));
  assert.equal(Array.from(a), Array.from(b));
  assert.ok(maxAbs(a, npy(join(EXP, 'gumbel_init_official/mask_after_step3.npy'))) <= 1e-6);
});

test('torch.load reads the trained checkpoint (needs torch)', () => {
  const py = pythonWithTorch();
  const ck = join(tmp, 'det_init_official', 'checkpoint_latest.pth');
  assert.ok(existsSync(ck), 'needs the checkpoint of the end-to-end det_init_official test');
  const outp = execFileSync(py, ['-c', [
    'import sys, torch',
    'c = torch.load(sys.argv[1], map_location="cpu")',
    'print(sorted(c.keys()), c["epoch"], c["model"]["tensor"].dtype, tuple(c["model"]["tensor"].shape), c["optimizer"]["param_groups"][1]["weight_decay"], float(c["optimizer"]["state"][0]["step"]))',
  ].join('\n'), ck], { encoding: 'utf8' });
  assert.match(outp, /'ahamask_resume', 'config', 'epoch', 'model', 'optimizer', 'scaler'/);
  assert.match(outp, /torch.float32 \(15,\) 0 3.0/);
});

test.after(() => rmSync(tmp, { recursive: true, force: true }));

test.run();
