import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { ROOT } from '../helpers/paths.js';

test('ahamask doctor --json reports the adapter, features, limits and a passing self-test', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'doctor', '--json'], { cwd: ROOT, encoding: 'utf8', timeout: 120_000 });
  assert.is(r.status, 0, r.stderr);
  // Dawn's two native "artificially reduced" notices are filtered out of the command's stderr
  assert.not.match(r.stderr, /artificially reduced/);
  const line = r.stdout.trim().split('\n').filter((l) => l.startsWith('{')).pop()!;
  const j = JSON.parse(line);
  assert.equal(Object.keys(j).sort(), ['adapter', 'features', 'limits', 'selftest']);
  assert.is(j.selftest, 'ok');
  assert.ok(j.features.includes('timestamp-query'));
  assert.ok(j.limits.maxStorageBufferBindingSize > 0);
});

test('unknown command exits 2 with the usage', () => {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'frobnicate'], { cwd: ROOT, encoding: 'utf8' });
  assert.is(r.status, 2);
  assert.match(r.stderr, /unknown command 'frobnicate'/);
  assert.match(r.stderr, /doctor/);
});

test.run();
