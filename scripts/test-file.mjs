// Runs one uvu test file and ends its process deterministically (run under `node --import tsx`).
// A live WebGPU instance (Dawn) keeps Node's event loop running after the last test, so the process would never
// exit by itself; killing it on a timer after the summary also hides crashes. Instead this wrapper runs uvu in
// its deferred (CLI) mode, awaits uvu's own exec() and then exits with uvu's code. It tallies the suites itself
// and hands the tally to scripts/test.mjs on a private file descriptor, so no text a test prints can pass for it.
//
// usage: node --import tsx scripts/test-file.mjs <file.test.ts>
import { writeSync } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const file = process.argv[2];
if (!file) {
  console.error('usage: node --import tsx scripts/test-file.mjs <file.test.ts>');
  process.exit(2);
}

// Must be set before uvu is first evaluated: uvu reads it once, at import.
globalThis.UVU_DEFER = 1;
globalThis.UVU_QUEUE = globalThis.UVU_QUEUE || [];
globalThis.UVU_QUEUE.push([file]);
globalThis.UVU_INDEX = 0;

const { exec } = await import('uvu');
await import(pathToFileURL(resolve(file)).href);

// Each queued entry is uvu's runner for one suite; it resolves to [errors | true, passed, skipped, total].
let total = 0, passed = 0, skipped = 0, suites = 0;
for (const group of globalThis.UVU_QUEUE) {
  for (let i = 1; i < group.length; i++) {
    const run = group[i];
    group[i] = async () => {
      const r = await run();
      suites++; passed += r[1]; skipped += r[2]; total += r[3];
      return r;
    };
  }
}

await exec();
// One turn of the event loop, so an error a test left pending (a late rejection, a throwing timer callback of 0 ms)
// still surfaces and fails the process rather than being cut off by the exit below.
await new Promise((r) => setTimeout(r, 0));
await new Promise((r) => setImmediate(r));
const code = typeof process.exitCode === 'number' ? process.exitCode : 0;

// The result record: only the runner opens this descriptor (AHAMASK_TEST_RESULT_FD).
const fd = Number(process.env.AHAMASK_TEST_RESULT_FD);
if (Number.isInteger(fd) && fd > 2) {
  writeSync(fd, JSON.stringify({ file, suites, total, passed, skipped, code }) + '\n');
}
// Drain stdout and stderr, then leave even though Dawn holds the event loop open.
await new Promise((r) => process.stdout.write('', r));
await new Promise((r) => process.stderr.write('', r));
process.exit(code);
