// `ahamask pretrain` on a micro configuration (GPU path): the layout it writes loads with Salmonn.load, the loss
// falls, and --resume continues exactly (same losses and weights as an uninterrupted run).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE, ROOT } from '../helpers/paths.js';
import '../../src/autograd/index.js';
import { getDevice } from '../../src/node/gpu.js';
import { nodeFileSystem, loadFromConfig, NodeTrainFs } from '../../src/node/index.js';
import { Tensor } from '../../src/index.js';
import { parsePretrainConfig, pretrainLr, Pretrainer, type PretrainConfig } from '../../src/train/pretrain.js';
import { FormatError } from '../../src/errors.js';

const TMP = mkdtempSync(join(tmpdir(), 'ahamask-pretrain-'));
const TEST_DATA = join(ROOT, 'checkpoints/demo/data/test');

/** 8 shipped held-out clips, one task (gender), the fixture tokenizer; a micro model. */
function microConfig(name: string, steps: number): PretrainConfig {
  const ann = JSON.parse(readFileSync(join(TEST_DATA, 'gender.json'), 'utf8')).annotation.slice(0, 8)
    .map((a: { path: string; text: string; task: string }) => ({ ...a, path: join(ROOT, a.path) }));
  writeFileSync(join(TMP, 'gender.json'), JSON.stringify({ annotation: ann }));
  const prompts = join(TEST_DATA, 'prompts');
  const yaml = `
seed: 3
output_dir: ${join(TMP, name, 'out')}
run_dir: ${join(TMP, name, 'run')}
model:
  whisper: {d_model: 80, encoder_layers: 1, encoder_attention_heads: 2, encoder_ffn_dim: 80, chunk_length: 4}
  beats: {embed_dim: 16, encoder_embed_dim: 32, encoder_layers: 1, encoder_attention_heads: 2, encoder_ffn_embed_dim: 32, conv_pos: 8, conv_pos_groups: 2, num_buckets: 16, max_distance: 64}
  qformer: {hidden_size: 32, intermediate_size: 64, num_attention_heads: 2}
  llama: {hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 4, vocab_size: 600}
  second_per_window: 0.5
data:
  train_ann_path: ${join(TMP, 'gender.json')}
  prompt_path: ${join(prompts, 'train_prompt.json')}
  test_prompt_path: ${join(prompts, 'test_prompt.json')}
  mask_prompt_path: ${join(prompts, 'mask_prompt.json')}
  tokenizer_model: ${join(FIXTURE, 'vicuna/tokenizer.model')}
optim: {lr: 1.0e-2, min_lr: 1.0e-3, warmup_steps: 2, weight_decay: 0.0}
steps: ${steps}
batch_size: 4
save_every: 0
`;
  const file = join(TMP, `${name}.yaml`);
  writeFileSync(file, yaml);
  return parsePretrainConfig(yaml, file);
}

async function run(cfg: PretrainConfig, opts: { resume?: boolean; maxSteps?: number } = {}): Promise<number[]> {
  const pt = new Pretrainer({ cfg, dir: nodeFileSystem(process.cwd()), fs: new NodeTrainFs(), target: await getDevice(), ...opts });
  try {
    await pt.setup();
    return (await pt.train()).losses;
  } finally {
    pt.dispose();
  }
}

const logLosses = (cfg: PretrainConfig): number[] =>
  readFileSync(join(cfg.run_dir, 'log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).loss as number);

test('config: bad fields are named', () => {
  const cfg = microConfig('cfg', 3);
  assert.is(cfg.model.whisper.trainable, false);
  const text = readFileSync(join(TMP, 'cfg.yaml'), 'utf8');
  for (const [from, to, re] of [
    ['d_model: 80', 'd_model: 64', /d_model' must be >= 80/],
    ['num_hidden_layers: 2, num_attention_heads: 4', 'num_hidden_layers: 2, num_attention_heads: 5', /model\.llama': width 32 is not divisible by 5 heads/],
    ['steps: 3', 'steps: x', /'steps' must be an integer/],
  ] as const) {
    try {
      parsePretrainConfig(text.replace(from, to), 'p.yaml');
      assert.unreachable(`expected a FormatError for ${to}`);
    } catch (e) {
      assert.instance(e, FormatError);
      assert.match((e as Error).message, re);
      assert.match((e as Error).message, /p\.yaml/);
    }
  }
  // warmup then cosine to min_lr
  const o = cfg.optim;
  assert.ok(Math.abs(pretrainLr(0, o, 10) - 0.005) < 1e-12 && Math.abs(pretrainLr(1, o, 10) - 0.01) < 1e-12);
  assert.ok(Math.abs(pretrainLr(10, o, 10) - o.min_lr) < 1e-12 && pretrainLr(6, o, 10) < pretrainLr(3, o, 10));
});

test('micro pretraining: the loss falls and the written layout is a SALMONN that evaluate loads', async () => {
  const cfg = microConfig('fall', 12);
  const losses = await run(cfg);
  assert.is(losses.length, 12);
  const head = (losses[0] + losses[1] + losses[2]) / 3, tail = (losses[9] + losses[10] + losses[11]) / 3;
  assert.ok(tail < 0.6 * head, `loss did not fall: first ${losses.slice(0, 3).map((x) => x.toFixed(3))}, last ${losses.slice(-3).map((x) => x.toFixed(3))}`);
  // the shipped form loads like any SALMONN (decode_config.yaml as written, LLM in f16)
  const decode = join(cfg.output_dir, 'decode_config.yaml');
  const pp = JSON.parse(readFileSync(join(cfg.output_dir, 'whisper/preprocessor_config.json'), 'utf8'));
  assert.is(pp.chunk_length, 4);
  assert.is(pp.n_samples, 64000);
  assert.is(pp.nb_max_frames, 400);
  const { model } = await loadFromConfig(decode, { cwd: process.cwd() });
  try {
    assert.is(model.configs.whisper.max_source_positions, 200);
    assert.is(model.arch.speechTokens, 8); // 0.5 s windows of 25 frames over 200 frames
    const q = model.llama.p.layers[0].q;
    assert.ok(q instanceof Tensor && q.dtype === 'f16', 'the LLM stays f16');
    assert.is(model.configs.bert.hidden_size, 32); // bert-base-uncased/config.json beside salmonn.pth
  } finally {
    model.dispose();
  }
});

test('micro pretraining: --resume continues exactly', async () => {
  const a = microConfig('a', 6);
  await run(a);
  const b = microConfig('b', 6);
  await run(b, { maxSteps: 3 });
  await run(b, { resume: true });
  assert.equal(logLosses(b), logLosses(a));
  const wa = readFileSync(join(a.run_dir, 'weights.safetensors')), wb = readFileSync(join(b.run_dir, 'weights.safetensors'));
  assert.ok(wa.equals(wb), 'weights differ after resume');
  assert.ok(readFileSync(join(a.output_dir, 'salmonn.pth')).equals(readFileSync(join(b.output_dir, 'salmonn.pth'))));
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
