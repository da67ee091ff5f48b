// The test runner (scripts/test.mjs) itself: a file counts only when its process exits cleanly with exactly one uvu
// summary at the end; every other ending is a failure with a reason. Each case is a small synthetic test file in a
// temp folder, run through the real runner (AHAMASK_TEST_DIR points it there; a path filter skips the typecheck).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';

// The synthetic files live outside the repository, so they import the very uvu module the runner's wrapper uses.
const UVU = import.meta.resolve('uvu');
const head = `import { test } from '${UVU}';\n`;

const CASES: Record<string, string> = {
  // counted: two passing tests
  'pass.test.ts': head + `test('a', () => {}); test('b', async () => {}); test.run();`,
  // counted: prints "Duration:" before its summary (the old runner killed it there and counted nothing)
  'duration-early.test.ts': head + `test('a', () => { console.log('  Duration:  1.00ms'); }); test.run();`,
  'assert-fail.test.ts': head + `test('a', () => {}); test('b', () => { throw new Error('boom'); }); test.run();`,
  'duration-early-fail.test.ts': head + `test('a', () => { console.log('  Duration:  1.00ms'); throw new Error('x'); }); test.run();`,
  // stray text resembling a summary must not be parsed: the only test fails
  'stray-fail.test.ts': head + `test('a', () => { console.log('  Total:     1\\n  Passed:    1'); throw new Error('x'); }); test.run();`,
  // a whole fake summary block printed by a test: two summaries, not one
  'fake-summary.test.ts': head + `test('a', () => { process.stdout.write('\\n  Total:     1\\n  Passed:    1\\n  Skipped:   0\\n  Duration:  1.00ms\\n\\n'); }); test.run();`,
  // all tests pass, then the process dies (as a native teardown crash would)
  'crash-after.test.ts': head + `process.on('exit', () => process.kill(process.pid, 'SIGSEGV')); test('a', () => {}); test.run();`,
  // all tests pass, then something exits non-zero after the summary
  'exit-after.test.ts': head + `test('a', () => {}); test.after(() => { setTimeout(() => process.exit(3), 0); }); test.run();`,
  'import-throw.test.ts': head + `throw new Error('cannot load');`,
  // leaves with code 0 in the middle of its tests: no summary, no result
  'exit-early.test.ts': head + `test('a', () => { process.exit(0); }); test('b', () => {}); test.run();`,
  'no-tests.test.ts': head + `console.log('nothing here');`,
  // never ends: a live handle and a test that never settles
  'hang.test.ts': head + `setInterval(() => {}, 1000); test('a', () => new Promise(() => {})); test.run();`,
};

const dir = mkdtempSync(join(tmpdir(), 'ahamask-runner-'));
for (const [name, src] of Object.entries(CASES)) writeFileSync(join(dir, name), src);
test.after(() => rmSync(dir, { recursive: true, force: true }));

function runner(filter: string[], env: Record<string, string> = {}): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, [join(ROOT, 'scripts/test.mjs'), ...filter], {
      cwd: ROOT, env: { ...process.env, AHAMASK_TEST_DIR: dir, ...env }, stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    c.stdout.on('data', (b) => (out += b));
    c.stderr.on('data', (b) => (out += b));
    c.on('close', (code) => resolve({ code, out }));
  });
}

const failLine = (out: string, file: string) => out.split('\n').find((l) => l.startsWith('FAIL ') && l.includes(`/${file}:`));

test('every ending but a clean exit with one summary is a failure with its reason', async () => {
  const names = Object.keys(CASES).filter((n) => n !== 'hang.test.ts');
  const { code, out } = await runner(names);
  assert.is(code, 1, out);
  const expect: Record<string, RegExp | null> = {
    'pass.test.ts': null,
    'duration-early.test.ts': null,
    'assert-fail.test.ts': /1 of 2 tests failed/,
    'duration-early-fail.test.ts': /1 of 1 tests failed/,
    'stray-fail.test.ts': /1 of 1 tests failed/,
    'fake-summary.test.ts': /2 uvu summaries/,
    'crash-after.test.ts': /killed by SIGSEGV after uvu finished \(1 of 1 tests passed\)/,
    'exit-after.test.ts': /exited with code 3 after uvu finished\b/,
    'import-throw.test.ts': /exited with code 1$/,
    'exit-early.test.ts': /exited with code 1$/,
    'no-tests.test.ts': /no tests ran/,
  };
  for (const [file, why] of Object.entries(expect)) {
    const line = failLine(out, file);
    if (why === null) assert.is(line, undefined, `${file} should count as passed:\n${out}`);
    else assert.ok(line && why.test(line), `${file}: expected a FAIL line matching ${why}, got ${line}\n${out}`);
  }
  // 2 + 1 tests counted; every failing file counts at least one failure (8 files, each 1)
  assert.match(out, /\n3 passed, 9 failed\n/);
});

test('a clean run exits 0', async () => {
  const { code, out } = await runner(['pass.test.ts', 'duration-early.test.ts']);
  assert.is(code, 0, out);
  assert.match(out, /\n3 passed, 0 failed\n/);
});

test('a hang is a failure after the hang limit (AHAMASK_TEST_TIMEOUT_S)', async () => {
  const t0 = Date.now();
  const { code, out } = await runner(['hang.test.ts'], { AHAMASK_TEST_TIMEOUT_S: '3' });
  assert.is(code, 1, out);
  assert.match(failLine(out, 'hang.test.ts') ?? '', /no ending within 3 s \(hang\)/);
  assert.match(out, /\n0 passed, 1 failed\n/);
  assert.ok(Date.now() - t0 < 60_000, 'the hang limit did not stop the file');
});

test.run();
