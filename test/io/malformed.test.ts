// The malformed-input corpus (test/helpers/malformed.ts) through the real entry points: the CLI commands
// (`mask show`, `tokenize`, `evaluate --cpu`, `train --cpu`) in this process, the library readers, and a few cases
// through the `ahamask` binary in a child process. Every malformed case must end in ONE line naming the file and the
// key or field, as an AhamaskError (no JS TypeError/RangeError, no stack trace), within a generous hang guard and
// with bounded memory; every valid case must be accepted.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { appendFileSync, lstatSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ROOT } from '../helpers/paths.js';
import { buildCorpus, type Case } from '../helpers/malformed.js';
import { AhamaskError } from '../../src/errors.js';
import { MemorySource } from '../../src/io/bytes.js';
import { parseNpy } from '../../src/io/npy.js';
import { openCheckpointPath, readFileBytes, writeFileAtomic } from '../../src/node/files.js';
import { readTrainCheckpoint } from '../../src/train/checkpoint.js';
import { loadItemAudio, readAnnotations, run as evaluateRun } from '../../src/cli/evaluate.js';
import { run as maskRun } from '../../src/cli/mask.js';
import { run as tokenizeRun } from '../../src/cli/tokenize.js';
import { run as trainRun } from '../../src/cli/train.js';

const DIR = mkdtempSync(join(tmpdir(), 'ahamask-malformed-'));
let cases: Case[] = [];
/** Hang guard per case (generous: the machine is shared; a real hang would take minutes). */
const HANG_MS = 120_000;
/** The process may not grow beyond this while running the corpus (the 2^31-element views would need 8 GiB). */
const MAX_RSS = 3 * 2 ** 30;

interface Outcome { ok: boolean; message: string; error?: unknown; ms: number; rss: number }

/** Runs one case with stdout/stderr captured; returns what it printed last or the error it threw. */
async function runCase(c: Case): Promise<Outcome> {
  const printed: string[] = [];
  const saved = { log: console.log, error: console.error, warn: console.warn, out: process.stdout.write, err: process.stderr.write };
  const sink = (...a: unknown[]): void => { printed.push(a.map(String).join(' ')); };
  console.log = sink; console.error = sink; console.warn = sink;
  process.stdout.write = ((s: string | Uint8Array, ...rest: unknown[]) => { printed.push(String(s)); const cb = rest.find((x) => typeof x === 'function') as (() => void) | undefined; cb?.(); return true; }) as typeof process.stdout.write;
  process.stderr.write = ((s: string | Uint8Array) => { printed.push(String(s)); return true; }) as typeof process.stderr.write;
  const cwd0 = process.cwd();
  const t0 = performance.now();
  let timer: NodeJS.Timeout | undefined;
  try {
    const e = c.entry;
    const body = async (): Promise<number> => {
      if ('cli' in e) {
        if (e.cli === 'mask') return maskRun(e.args);
        if (e.cli === 'tokenize') return tokenizeRun(e.args);
        // relative paths (bert-base-uncased/) resolve against the working directory, as in the Python scripts
        const [cfg, cwd] = e.config.split('#cwd=');
        process.chdir(cwd ?? join(DIR, 'fx'));
        if (e.cli === 'evaluate') return evaluateRun(['-c', cfg, '--cpu']);
        return trainRun(['-c', cfg, '--cpu', '--quiet', ...(e.args ?? [])]);
      }
      switch (e.lib) {
        case 'checkpoint': { const ck = await openCheckpointPath(e.path); await ck.close(); return 0; }
        case 'trainCheckpoint': await readTrainCheckpoint(new MemorySource(await readFileBytes(e.path), e.path)); return 0;
        case 'audio': await loadItemAudio('', { path: e.path, text: '' }); return 0;
        case 'npy': parseNpy(await readFileBytes(e.path), e.path); return 0;
        case 'write': await writeFileAtomic(e.path, 'x'); return 0;
        case 'annotations': await readAnnotations(e.path); return 0;
      }
    };
    const code = await Promise.race([body(), new Promise<never>((_, rej) => { timer = setTimeout(() => rej(new Error(`hang guard: still running after ${HANG_MS} ms`)), HANG_MS); })]);
    const ms = performance.now() - t0;
    const lines = printed.join('').split('\n').filter((l) => l.trim() && !l.startsWith('warning:'));
    return { ok: code === 0, message: code === 0 ? '' : lines[lines.length - 1] ?? `exit ${code}`, ms, rss: process.memoryUsage().rss };
  } catch (error) {
    return { ok: false, message: error instanceof Error ? error.message : String(error), error, ms: performance.now() - t0, rss: process.memoryUsage().rss };
  } finally {
    clearTimeout(timer);
    process.chdir(cwd0);
    Object.assign(console, { log: saved.log, error: saved.error, warn: saved.warn });
    process.stdout.write = saved.out;
    process.stderr.write = saved.err;
  }
}

test.before(async () => {
  cases = await buildCorpus(DIR);
});
/** AHAMASK_CORPUS_CLASSES=accepted,vague runs only those classes (the coverage test still sees the whole corpus). */
const ONLY = process.env.AHAMASK_CORPUS_CLASSES?.split(',');
test.after(() => rmSync(DIR, { recursive: true, force: true }));

test('the corpus is deterministic and covers every class with several hundred cases', async () => {
  const again = await buildCorpus(mkdtempSync(join(tmpdir(), 'ahamask-malformed-2-')));
  assert.equal(again.map((c) => c.name), cases.map((c) => c.name));
  const byClass = new Map<string, number>();
  for (const c of cases) byClass.set(c.cls, (byClass.get(c.cls) ?? 0) + 1);
  console.log(`corpus: ${cases.length} cases`, Object.fromEntries(byClass));
  assert.ok(cases.length >= 300, `${cases.length} cases`);
  for (const cls of ['sizes', 'unbounded-read', 'parsing', 'accepted', 'output', 'vague', 'valid']) assert.ok((byClass.get(cls) ?? 0) >= 8, cls);
  assert.is(new Set(cases.map((c) => c.name)).size, cases.length, 'case names are unique');
});

test('every case: one clear line naming the file and key (or accepted when valid), bounded time and memory', async () => {
  const failures: string[] = [];
  let slowest = { ms: 0, name: '' };
  const t0 = performance.now();
  for (const c of cases) {
    if (ONLY && !ONLY.includes(c.cls)) continue;
    const r = await runCase(c);
    // AHAMASK_CORPUS_LOG=file: every case's outcome, for reading the messages
    if (process.env.AHAMASK_CORPUS_LOG) appendFileSync(process.env.AHAMASK_CORPUS_LOG, `[${c.cls}] ${c.name} (${r.ms.toFixed(0)} ms): ${r.ok ? 'accepted' : r.message}\n`);
    if (r.ms > slowest.ms) slowest = { ms: r.ms, name: c.name };
    const where = `[${c.cls}] ${c.name}`;
    if (r.rss > MAX_RSS) failures.push(`${where}: process grew to ${(r.rss / 2 ** 30).toFixed(1)} GiB`);
    if (c.expect === null) {
      if (!r.ok) failures.push(`${where}: refused a valid input: ${r.message}`);
      continue;
    }
    if (r.ok) {
      if (c.expect !== 'either') failures.push(`${where}: accepted, expected an error matching ${c.expect}`);
      continue;
    }
    if (r.error !== undefined && !(r.error instanceof AhamaskError)) {
      failures.push(`${where}: leaked ${(r.error as Error)?.constructor?.name}: ${r.message.split('\n')[0]}`);
      continue;
    }
    if (r.message.includes('\n')) failures.push(`${where}: message is not one line: ${JSON.stringify(r.message.slice(0, 300))}`);
    if (/\n\s+at |node:internal|TypeError|RangeError|Maximum call stack/.test(r.message)) failures.push(`${where}: message shows JS internals: ${r.message.slice(0, 200)}`);
    if (c.expect !== 'either' && !c.expect.test(r.message)) failures.push(`${where}: message ${JSON.stringify(r.message.slice(0, 400))} does not match ${c.expect}`);
  }
  // refused, not done: the device node, FIFO and directory that outputs were aimed at are still what they were
  if (!ONLY || ONLY.includes('output')) {
    assert.ok(lstatSync(join(DIR, 'special/nulldev')).isCharacterDevice(), 'the device node was replaced');
    assert.ok(lstatSync(join(DIR, 'special/fifo')).isFIFO(), 'the FIFO was replaced');
    assert.ok(lstatSync(join(DIR, 'special/out-dir')).isDirectory(), 'the directory was replaced');
    assert.ok(lstatSync(join(DIR, 'special/link-to-dev')).isSymbolicLink(), 'the link was replaced');
  }
  console.log(`${cases.length} cases in ${((performance.now() - t0) / 1000).toFixed(1)} s; slowest ${(slowest.ms / 1000).toFixed(2)} s (${slowest.name})`);
  assert.equal(failures, []);
});

test('the ahamask binary prints one line and exits 1 (no stack trace) for a sample of the corpus', () => {
  const pick = (pred: (c: Case) => boolean): Case => cases.find(pred)!;
  const sample = [
    pick((c) => c.name.startsWith('mask: stride-0 view of 2147483648 FloatStorage')),
    pick((c) => c.name === 'mask show a FIFO'),
    pick((c) => c.name === 'decode config: a self-containing list alias'),
    pick((c) => c.name === 'mask: BoolStorage logits (mask show)'),
    pick((c) => c.name === 'mask: tensor size 4.0'),
    pick((c) => c.name === 'tokenizer.model: unterminated 100k groups'),
  ];
  for (const c of sample) {
    const e = c.entry;
    const args = 'cli' in e ? (e.cli === 'mask' || e.cli === 'tokenize' ? [e.cli, ...e.args] : [e.cli, '-c', e.config, '--cpu']) : [];
    const r = spawnSync(process.execPath, ['--import', pathToFileURL(join(ROOT, 'node_modules/tsx/dist/loader.mjs')).href, join(ROOT, 'src/cli/main.ts'), ...args], {
      encoding: 'utf8', timeout: 120_000, env: { ...process.env, AHAMASK_DEBUG: '' },
    });
    const lines = r.stderr.split('\n').filter((l) => l.trim() && !l.startsWith('warning:'));
    assert.is(r.status, 1, `${c.name}: exit ${r.status} ${r.signal ?? ''} ${r.stderr}`);
    assert.is(lines.length, 1, `${c.name}: ${r.stderr}`);
    assert.ok(c.expect instanceof RegExp && c.expect.test(lines[0]), `${c.name}: ${lines[0]}`);
  }
});

test.run();
