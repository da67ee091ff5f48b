// `ahamask train` argument parsing and bad input that must fail before the model loads.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FIXTURE, ROOT } from '../helpers/paths.js';
import { parseTrainArgs } from '../../src/cli/train.js';

test('arguments', () => {
  const a = parseTrainArgs(['-c', 'x.yaml', '--resume', '--max-steps', '3', '--dump-dir', 'd', '--no-gumbel-noise', '--speech-batching', 'padded_batch']);
  assert.type(a, 'object');
  if (typeof a === 'string') return;
  assert.is(a.config, 'x.yaml');
  assert.ok(a.resume);
  assert.is(a.resumePath, undefined);
  assert.is(a.maxSteps, 3);
  assert.ok(a.noNoise);
  assert.is(a.batching, 'padded_batch');
  const b = parseTrainArgs(['--resume', 'out/checkpoint_3.pth', '-c', 'x.yaml']);
  assert.is(typeof b !== 'string' && b.resumePath, 'out/checkpoint_3.pth');
  assert.match(parseTrainArgs(['--max-steps', 'x', '-c', 'c']) as string, /non-negative integer/);
  assert.match(parseTrainArgs([]) as string, /missing -c/);
  assert.match(parseTrainArgs(['-c', 'c', '--bogus']) as string, /unknown option '--bogus'/);
  assert.match(parseTrainArgs(['-c', 'c', '--no-gumbel-noise', '--gumbel-noise-dir', 'd']) as string, /exclude/);
  assert.match(parseTrainArgs(['-c', 'c', '--speech-batching', 'x']) as string, /utterance or padded_batch/);
  assert.is(parseTrainArgs(['--help']), '');
});

test('an unknown task key fails before the model loads, naming the key and the prompt file', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ahamask-cli-'));
  try {
    const data = join(dir, 'train.json');
    writeFileSync(data, JSON.stringify({ annotation: [{ path: 'audio/chirp3s.wav', text: 'x', task: 'karaoke' }] }));
    const yaml = readFileSync(join(FIXTURE, 'train_config.yaml'), 'utf8').replace('train_ann_path: "data/train.json"', `train_ann_path: "${data}"`);
    writeFileSync(join(dir, 'config.yaml'), yaml);
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'train', '-c', join(dir, 'config.yaml'), '--output-dir', join(dir, 'out'), '--cpu'], {
      cwd: FIXTURE, encoding: 'utf8', timeout: 60_000,
    });
    assert.is(r.status, 1);
    assert.match(r.stderr, "task 'karaoke'");
    assert.match(r.stderr, 'prompts/train_prompt.json');
    assert.not.match(r.stderr, 'loading');
    const r2 = spawnSync(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'train', '-c', 'train_config.yaml', '--output-dir', join(dir, 'out2'), '--resume', '--cpu'], {
      cwd: FIXTURE, encoding: 'utf8', timeout: 60_000,
    });
    assert.is(r2.status, 1);
    assert.match(r2.stderr, /--resume: no checkpoint with training state in/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
