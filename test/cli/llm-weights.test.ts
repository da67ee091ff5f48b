// --llm-weights fp16|int8|q4 on evaluate / cli / train and the config keys (model.llm_weight_format,
// low_resource: True -> int8): parsing, one-line errors, and `evaluate` / `train --max-steps 1` running end to end
// over quantized weights on the tiny fixture.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { chmodSync, cpSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseCommonArgs } from '../../src/cli/evaluate.js';
import { parseTrainArgs } from '../../src/cli/train.js';
import { parseDecodeConfig } from '../../src/io/config.js';
import { llmWeightFormatOf } from '../../src/ops/quant.js';
import { FIXTURE, ROOT } from '../helpers/paths.js';

const ahamask = (cwd: string, args: string[]) =>
  spawnSync(process.execPath, ['--import', import.meta.resolve('tsx'), join(ROOT, 'src/cli/main.ts'), ...args], {
    cwd, encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' }, timeout: 300_000,
  });

test('flags and config keys', () => {
  const t = parseTrainArgs(['-c', 'x.yaml', '--llm-weights', 'q4']);
  assert.is(typeof t !== 'string' && t.llmWeights, 'q4');
  assert.match(parseTrainArgs(['-c', 'x.yaml', '--llm-weights', 'q3']) as string, /--llm-weights must be fp16, int8 or q4, got 'q3'/);
  const e = parseCommonArgs(['-c', 'x.yaml', '--llm-weights', 'int8'], true);
  assert.is(typeof e !== 'string' && e.llmWeights, 'int8');
  assert.match(parseCommonArgs(['-c', 'x.yaml', '--llm-weights'], false) as string, /must be fp16, int8 or q4/);
  const yaml = readFileSync(join(FIXTURE, 'decode_config.yaml'), 'utf8');
  const withKey = (line: string) => parseDecodeConfig(yaml.replace('  ckpt: "salmonn.pth"', `  ckpt: "salmonn.pth"\n  ${line}`), { file: 'd.yaml', cwd: FIXTURE, warn: () => {} });
  assert.is(llmWeightFormatOf(withKey('low_resource: False').model), 'fp16');
  assert.is(llmWeightFormatOf(withKey('low_resource: True').model), 'int8');
  assert.is(llmWeightFormatOf(withKey('llm_weight_format: q4').model), 'q4');
  assert.throws(() => withKey('llm_weight_format: q5'), /d\.yaml.*'model\.llm_weight_format' must be "fp16", "int8" or "q4", got "q5"/);
});

test('evaluate --llm-weights int8 / q4 and train --llm-weights q4 run on the tiny fixture', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ahamask-lw-'));
  try {
    cpSync(FIXTURE, dir, { recursive: true });
    const walk = (p: string) => {
      chmodSync(p, statSync(p).isDirectory() ? 0o755 : 0o644);
      if (statSync(p).isDirectory()) for (const f of readdirSync(p)) walk(join(p, f));
    };
    walk(dir);
    for (const f of ['int8', 'q4']) {
      writeFileSync(join(dir, `cfg_${f}.yaml`), readFileSync(join(dir, 'decode_config.yaml'), 'utf8').replace('"tmp.json"', `"out_${f}.json"`));
      const r = ahamask(dir, ['evaluate', '-c', `cfg_${f}.yaml`, '--llm-weights', f]);
      assert.is(r.status, 0, r.stderr);
      const out = JSON.parse(readFileSync(join(dir, `out_${f}.json`), 'utf8'));
      assert.ok(out.prediction.length > 0 && out.prediction.every((p: { output: string }) => typeof p.output === 'string'));
    }
    const t = ahamask(dir, ['train', '-c', 'train_config.yaml', '--llm-weights', 'q4', '--max-steps', '1', '--output-dir', 'out_q4', '--no-valid', '-q']);
    assert.is(t.status, 0, t.stderr);
    const log = readFileSync(join(dir, 'out_q4/log.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    const step = log.find((l: { loss?: number }) => typeof l.loss === 'number');
    assert.ok(step && Number.isFinite(step.loss), JSON.stringify(log[0]));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
