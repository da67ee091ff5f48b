import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { KERNEL_WORKLOADS } from '../../src/ops/kernel-catalog.js';

const cli = (args: string[], env: Record<string, string> = {}) =>
  spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'kernels', ...args], { cwd: ROOT, encoding: 'utf8', timeout: 300_000, env: { ...process.env, ...env } });

test('kernels --profile software --json lists a kernel for every registered WebGPU kernel', () => {
  const r = cli(['--profile', 'software', '--json']);
  assert.is(r.status, 0, r.stderr);
  const j = JSON.parse(r.stdout.trim().split('\n').pop()!);
  assert.equal(j.uncovered, []);
  const ops = new Set(j.kernels.map((k: { op: string }) => k.op));
  // every catalog op compiles at least one pipeline of its own, except those sharing a pipeline with an earlier op
  for (const w of KERNEL_WORKLOADS) if (!['crossEntropyPerRow'].includes(w.op)) assert.ok(ops.has(w.op), `no kernel listed for ${w.op}`);
  const keys = j.kernels.map((k: { key: string }) => k.key);
  assert.is(new Set(keys).size, keys.length, 'a key is listed twice');
  assert.ok(keys.some((k: string) => k.startsWith('mm:')) && keys.some((k: string) => k.startsWith('attnDecSg:')));
});

test('kernels --op --out writes each variant WGSL with its key, and an index', () => {
  const dir = mkdtempSync(join(tmpdir(), 'ahamask-kernels-'));
  const r = cli(['--profile', 'gpu', '--op', 'matmul,layerNorm', '--out', dir]);
  assert.is(r.status, 0, r.stderr);
  const index = JSON.parse(readFileSync(join(dir, 'index.json'), 'utf8')) as { op: string; key: string; file: string }[];
  assert.equal([...new Set(index.map((e) => e.op))], ['matmul', 'layerNorm']);
  assert.ok(index.some((e) => e.key.startsWith('mmt:')), 'the gpu profile gets the tiled matmul');
  assert.is(readdirSync(dir).filter((f) => f.endsWith('.wgsl')).length, index.length);
  for (const e of index) {
    const code = readFileSync(join(dir, e.file), 'utf8');
    assert.ok(code.startsWith(`// key: ${e.key}\n`));
    assert.match(code, /@compute/);
  }
});

test('bad options exit 2 with one line', () => {
  const r = cli(['--op', 'nosuchop', '--profile', 'gpu']);
  assert.is(r.status, 2);
  assert.match(r.stderr, /no kernel 'nosuchop'/);
  assert.is(cli(['--profile', 'tpu']).status, 2);
});

test('AHAMASK_PRINT_WGSL=1 prints each compiled kernel once to stderr (real device)', () => {
  const r = cli(['--op', 'softmax,logSoftmax'], { AHAMASK_PRINT_WGSL: '1' });
  assert.is(r.status, 0, r.stderr);
  const heads = r.stderr.split('\n').filter((l) => l.startsWith('// ---- ahamask kernel '));
  assert.is(heads.length, 2, r.stderr);
  assert.is(new Set(heads).size, 2);
  assert.match(r.stderr, /fn main/);
});

test.run();
