// Runs every test/**/*.test.ts with uvu under tsx and ends with "N passed, N failed".
//
//   node scripts/test.mjs [substring ...]   only the files whose path contains one of the substrings (no typecheck)
//
// Each file runs in its own process (a crash or a hang in one cannot hide the others' results) through
// scripts/test-file.mjs, which exits with uvu's code once uvu has finished. A file counts only when its process
// exits with code 0, its result record (written by test-file.mjs on fd 3) says every test passed, and its stdout
// ends with exactly one uvu summary that agrees with the record. Every other ending — a crash or signal, a non-zero
// exit, no summary, a summary with failures, or no ending within the hang limit — is a failure with a reason.
//
// Environment: AHAMASK_TEST_DIR (default "test"), AHAMASK_TEST_TIMEOUT_S (hang limit per file, default 1200).
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const WRAPPER = join(HERE, 'test-file.mjs');
const DIR = process.env.AHAMASK_TEST_DIR || join(ROOT, 'test');
const TIMEOUT_S = Number(process.env.AHAMASK_TEST_TIMEOUT_S || 1200);
if (!(TIMEOUT_S > 0)) {
  console.log(`AHAMASK_TEST_TIMEOUT_S must be a positive number of seconds, got "${process.env.AHAMASK_TEST_TIMEOUT_S}"`);
  process.exit(2);
}

const only = process.argv.slice(2);
const files = [];
(function walk(d) {
  for (const f of readdirSync(d).sort()) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.test.ts') && (only.length === 0 || only.some((o) => p.includes(o)))) files.push(p);
  }
})(DIR);

let passed = 0, failed = 0;
const failures = [];
const fail = (what, why) => { failures.push(`${what}: ${why}`); console.log(`FAIL ${what}: ${why}`); };

if (only.length === 0) {
  // Library, then tests and benches (tsconfig.test.json): a test that does not type-check is a failing test.
  for (const cfg of ['tsconfig.json', 'tsconfig.test.json']) {
    const r = await run(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, cfg), '--noEmit']);
    if (r.code === 0 && !r.signal) passed++;
    else { failed++; fail(`typecheck ${cfg}`, r.timedOut ? `no result within ${TIMEOUT_S} s` : `tsc exited with ${r.signal ?? r.code}`); }
  }
}

for (const f of files) {
  const r = await run(process.execPath, ['--import', 'tsx', '--expose-gc', WRAPPER, relative(ROOT, f)], 3);
  const v = verdict(r);
  if (v.ok) passed += v.passed; // a file whose process did not end cleanly counts none of its tests
  else {
    failed += Math.max(1, v.total - v.passed);
    fail(relative(process.cwd(), f) || f, v.why);
  }
}
if (failures.length) console.log(`\nFailed:\n  ${failures.join('\n  ')}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

/** uvu's summary block (after stripping colours); `g` finds every occurrence. */
function summaries(stdout) {
  const text = stdout.replace(/\x1b\[[0-9;]*m/g, '');
  const re = /\n {2}Total: {5}(\d+)\n {2}Passed: {4}(\d+)\n {2}Skipped: {3}(\d+)\n {2}Duration: {2}[\d.]+m?s\n\n/g;
  const found = [];
  for (let m; (m = re.exec(text)); ) found.push({ total: +m[1], passed: +m[2], skipped: +m[3], end: m.index + m[0].length });
  return { text, found };
}

/** Decides how one file's process ended: { ok, passed, total, why }. */
function verdict(r) {
  const records = r.extra.split('\n').filter(Boolean);
  let rec = null;
  if (records.length === 1) { try { rec = JSON.parse(records[0]); } catch { rec = null; } }
  const total = rec?.total ?? 0, ok = rec?.passed ?? 0;
  const counts = rec ? ` (${ok} of ${total} tests passed)` : '';
  const bad = (why) => ({ ok: false, passed: ok, total, why });
  const { text, found } = summaries(r.stdout);
  const after = rec || found.length ? ' after uvu finished' : '';
  if (r.timedOut) return bad(`no ending within ${TIMEOUT_S} s (hang); killed${counts}`);
  if (r.signal) return bad(`killed by ${r.signal}${after}${counts}`);
  // uvu's own non-zero code for failed tests: say how many failed rather than how the process ended
  if (rec && r.code === rec.code && rec.passed < rec.total) return bad(`${rec.total - rec.passed} of ${rec.total} tests failed`);
  if (r.code !== 0) return bad(`exited with code ${r.code}${after}${counts}`);
  if (records.length === 0) return bad('exited without finishing its tests (no result from uvu)');
  if (!rec) return bad(`unreadable result record: ${records.join(' | ').slice(0, 200)}`);
  if (found.length === 0) return bad('no uvu summary on stdout');
  if (found.length > 1) return bad(`${found.length} uvu summaries on stdout, expected exactly one`);
  const s = found[0];
  if (text.slice(s.end).trim() !== '') return bad('output after the uvu summary');
  if (s.total !== rec.total || s.passed !== rec.passed || s.skipped !== rec.skipped) {
    return bad(`printed summary (${s.passed}/${s.total}) disagrees with uvu's result (${rec.passed}/${rec.total})`);
  }
  if (rec.total === 0) return bad('no tests ran');
  if (rec.passed !== rec.total) return bad(`${rec.total - rec.passed} of ${rec.total} tests failed`);
  if (rec.code !== 0) return bad(`uvu reported failure (code ${rec.code})`);
  return { ok: true, passed: rec.passed, total: rec.total, why: '' };
}

/** Runs a process, echoing its output; `resultFd` opens one more pipe for test-file.mjs's result record. */
function run(cmd, args, resultFd) {
  return new Promise((resolve) => {
    const stdio = ['ignore', 'pipe', 'pipe'];
    const env = { ...process.env };
    if (resultFd) { stdio[resultFd] = 'pipe'; env.AHAMASK_TEST_RESULT_FD = String(resultFd); }
    const c = spawn(cmd, args, { stdio, env, cwd: ROOT });
    let stdout = '', stderr = '', extra = '', timedOut = false;
    const limit = setTimeout(() => { timedOut = true; c.kill('SIGKILL'); }, TIMEOUT_S * 1000);
    c.stdout.on('data', (b) => { const t = b.toString(); stdout += t; process.stdout.write(t); });
    c.stderr.on('data', (b) => { const t = b.toString(); stderr += t; process.stderr.write(t); });
    if (resultFd) c.stdio[resultFd].on('data', (b) => (extra += b.toString()));
    c.on('close', (code, signal) => { clearTimeout(limit); resolve({ code, signal, stdout, stderr, extra, timedOut }); });
  });
}
