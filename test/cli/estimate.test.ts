// `ahamask estimate` from configs alone: a SALMONN-13B-shaped directory (config.json files and a beats.pt holding
// only its cfg; no weight file exists) gives the issue-15 targets for a decode and a train config, as one JSON
// line; the tiny fixture prints a table; bad flags are one clear line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeTorchSave } from '../../src/io/torch.js';
import { FIXTURE, ROOT } from '../helpers/paths.js';

const MAIN = join(ROOT, 'src/cli/main.ts');
const cli = (cwd: string, ...args: string[]) => spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), MAIN, 'estimate', ...args], { cwd, encoding: 'utf8', timeout: 120_000 });

const BEATS_CFG = {
  input_patch_size: 16, embed_dim: 512, conv_bias: false, encoder_layers: 12, encoder_embed_dim: 768, encoder_ffn_embed_dim: 3072,
  encoder_attention_heads: 12, activation_fn: 'gelu', layer_wise_gradient_decay_ratio: 0.6, layer_norm_first: false, deep_norm: true,
  dropout: 0.0, attention_dropout: 0.0, activation_dropout: 0.0, encoder_layerdrop: 0.05, dropout_input: 0.0, conv_pos: 128,
  conv_pos_groups: 16, relative_position_embedding: true, num_buckets: 320, max_distance: 800, gru_rel_pos: true, finetuned_model: true,
  predictor_dropout: 0.0, predictor_class: 527,
};

function dir13b(): string {
  const d = mkdtempSync(join(tmpdir(), 'ahamask-est-'));
  mkdirSync(join(d, 'vicuna'));
  mkdirSync(join(d, 'whisper'));
  writeFileSync(join(d, 'vicuna/config.json'), JSON.stringify({ hidden_size: 5120, intermediate_size: 13824, num_hidden_layers: 40, num_attention_heads: 40, rms_norm_eps: 1e-6, vocab_size: 32000, torch_dtype: 'float16' }));
  writeFileSync(join(d, 'whisper/config.json'), JSON.stringify({ d_model: 1280, encoder_layers: 32, encoder_attention_heads: 20, encoder_ffn_dim: 5120, num_mel_bins: 80, max_source_positions: 1500 }));
  writeFileSync(join(d, 'beats.pt'), encodeTorchSave(new Map<string, unknown>([['cfg', new Map(Object.entries(BEATS_CFG))], ['model', new Map()]])));
  // the fixture's configs point at vicuna/, whisper/, beats.pt and salmonn.pth (absent here)
  copyFileSync(join(FIXTURE, 'decode_config.yaml'), join(d, 'decode_config.yaml'));
  const dc = readFileSync(join(FIXTURE, 'decode_config.yaml'), 'utf8').replace(/num_beams:.*$/m, 'num_beams: 4').replace(/max_new_tokens:.*$/m, 'max_new_tokens: 100');
  writeFileSync(join(d, 'decode_config.yaml'), dc);
  copyFileSync(join(FIXTURE, 'train_config.yaml'), join(d, 'train_config.yaml'));
  return d;
}

test('SALMONN-13B from configs alone: q4 <= 11 GiB inference, <= 16 GiB training at batch 8; int8 <= 17 GiB inference', () => {
  const d = dir13b();
  const r = cli(d, '-c', 'decode_config.yaml', '--json');
  assert.is(r.status, 0, r.stderr);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 1);
  const j = JSON.parse(lines[0]);
  assert.equal(Object.keys(j), ['fp16', 'int8', 'q4']);
  for (const f of ['fp16', 'int8', 'q4']) assert.equal(Object.keys(j[f]), ['inference']);
  assert.ok(j.q4.inference.peak_gpu_gib <= 11, `q4 ${j.q4.inference.peak_gpu_gib}`);
  assert.ok(j.int8.inference.peak_gpu_gib <= 17, `int8 ${j.int8.inference.peak_gpu_gib}`);
  assert.ok(j.fp16.inference.peak_gpu_gib > 28, `fp16 ${j.fp16.inference.peak_gpu_gib}`);
  assert.ok(j.q4.inference.kv_cache_gib > 1.2 && j.q4.inference.kv_cache_gib < 1.3);
  const t = cli(d, '-c', 'train_config.yaml', '--batch-size', '8', '--json');
  assert.is(t.status, 0, t.stderr);
  const k = JSON.parse(t.stdout.trim());
  assert.equal(Object.keys(k.q4), ['training']);
  assert.ok(k.q4.training.peak_gpu_gib <= 16, `q4 training ${k.q4.training.peak_gpu_gib}`);
  assert.ok(k.fp16.training.peak_gpu_gib > k.int8.training.peak_gpu_gib && k.int8.training.peak_gpu_gib > k.q4.training.peak_gpu_gib);
  // --batch-size changes the estimate; the decode config's own batch is 1
  const b4 = JSON.parse(cli(d, '-c', 'decode_config.yaml', '--json', '--batch-size', '4').stdout.trim());
  assert.ok(b4.q4.inference.kv_cache_gib > 3 * j.q4.inference.kv_cache_gib);
});

test('tiny fixture: a table; bad flags and missing files are one line', () => {
  const r = cli(FIXTURE, '-c', 'decode_config.yaml');
  assert.is(r.status, 0, r.stderr);
  assert.match(r.stdout, /\| q4 \|/);
  assert.match(r.stdout, /inference, batch 1/);
  const bad = cli(FIXTURE, '-c', 'decode_config.yaml', '--batch-size', 'x');
  assert.is(bad.status, 2);
  assert.match(bad.stderr, /--batch-size needs a positive integer/);
  const missing = cli(mkdtempSync(join(tmpdir(), 'ahamask-est-')), '-c', 'nope.yaml');
  assert.is(missing.status, 1);
  assert.is(missing.stderr.trim().split('\n').length, 1, missing.stderr);
});

test.run();
