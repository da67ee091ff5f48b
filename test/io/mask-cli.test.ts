import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AHAMASK_DATA, FIXTURE, ROOT } from '../helpers/paths.js';

const DERIVED = JSON.parse(readFileSync(join(AHAMASK_DATA, 'derived/masks_13b.json'), 'utf8'));
const NAMES = Object.keys(DERIVED).filter((k) => !k.startsWith('_'));
const TMP = mkdtempSync(join(tmpdir(), 'ahamask-cli-'));

function cli(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => c.kill('SIGKILL'), 60000);
    c.on('close', (code) => { clearTimeout(timer); resolve({ code, stdout, stderr }); });
  });
}

test('mask show --json equals derived/masks_13b.json for all 10 released masks', async () => {
  const results = await Promise.all(NAMES.map((n) => cli(['mask', 'show', join(AHAMASK_DATA, DERIVED[n].source_file), '--json'])));
  NAMES.forEach((name, i) => {
    const r = results[i];
    assert.is(r.code, 0, r.stderr);
    const j = JSON.parse(r.stdout);
    const d = DERIVED[name];
    assert.equal(Object.keys(j), ['n_layers', 'n_heads', 'heads_on', 'per_layer_on', 'head_on', 'ffn', 'logits']);
    assert.is(j.n_layers, d.n_layers ?? DERIVED._format.n_layers);
    assert.is(j.n_heads, DERIVED._format.n_heads);
    assert.is(j.heads_on, d.heads_on, name);
    assert.equal(j.per_layer_on, d.heads_on_per_layer, name);
    assert.equal(j.head_on, d.head_on.map((row: string) => [...row].map(Number)), name);
    assert.equal(j.ffn, d.ffn_entries, name);
    assert.equal(j.logits, d.logits, name);
  });
});

test('mask show: table, percentages and SVG', async () => {
  const svg = join(TMP, 'gender.svg');
  const r = await cli(['mask', 'show', join(AHAMASK_DATA, 'legacy_checkpoints/gender_librispeech/checkpoint.pth'), '--svg', svg]);
  assert.is(r.code, 0, r.stderr);
  assert.match(r.stdout, /heads on: 1259\/1600 \(78\.69 %\)/);
  assert.match(r.stdout, /79\.2073 %/);
  const lines = r.stdout.split('\n').filter((l) => /^L\d\d /.test(l));
  assert.is(lines.length, 40);
  for (const [l, line] of lines.entries()) {
    const row = line.split(' ')[1];
    assert.is(row, DERIVED.gender_librispeech.head_on[l].replace(/1/g, '#').replace(/0/g, '.'));
    assert.ok(line.endsWith(`${DERIVED.gender_librispeech.heads_on_per_layer[l]}/40`));
  }
  assert.ok(existsSync(svg));
  const s = readFileSync(svg, 'utf8');
  assert.match(s, /^<svg /);
  assert.is((s.match(/<rect x=/g) ?? []).length, 40 * 41);
});

test('mask show: explicit layout for the tiny fixture; errors', async () => {
  const tiny = join(FIXTURE, 'masks/tiny_task/checkpoint.pth');
  const [ok, noLayout, wrong, missing, usage, notTorch] = await Promise.all([
    cli(['mask', 'show', tiny, '--layers', '3', '--heads', '4', '--json']),
    cli(['mask', 'show', tiny]),
    cli(['mask', 'show', tiny, '--layers', '40', '--heads', '40']),
    cli(['mask', 'show', join(TMP, 'nope.pth')]),
    cli(['mask', 'show']),
    cli(['mask', 'show', join(FIXTURE, 'decode_config.yaml')]),
  ]);
  assert.is(ok.code, 0, ok.stderr);
  const j = JSON.parse(ok.stdout);
  assert.equal(j.head_on, [[1, 0, 1, 1], [0, 1, 0, 1], [1, 1, 0, 0]]);
  assert.equal(j.per_layer_on, [3, 2, 2]);
  assert.is(noLayout.code, 1);
  assert.match(noLayout.stderr, /15 entries/);
  assert.is(wrong.code, 1);
  assert.match(wrong.stderr, /expected 1640/);
  assert.is(missing.code, 1);
  assert.match(missing.stderr, /nope\.pth/);
  assert.is(usage.code, 2);
  assert.match(usage.stderr, /missing <checkpoint.pth>/);
  assert.match(usage.stderr, /'ahamask mask show --help'/);
  assert.is(notTorch.code, 1);
  assert.match(notTorch.stderr, /decode_config\.yaml/);
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
