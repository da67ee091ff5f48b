// Runs every test/**/*.test.ts with uvu under tsx and ends with "N passed, N failed".
import { spawn } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

process.env.XDG_RUNTIME_DIR ??= '/tmp';
const only = process.argv.slice(2);
const files = [];
(function walk(d) {
  for (const f of readdirSync(d).sort()) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) walk(p);
    else if (p.endsWith('.test.ts') && (only.length === 0 || only.some((o) => p.includes(o)))) files.push(p);
  }
})('test');

let passed = 0, failed = 0;
const typecheck = only.length === 0;
if (typecheck) {
  const rc = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json', '--noEmit'], false);
  if (rc === 0) passed++; else { failed++; console.log('FAIL typecheck (tsc --noEmit)'); }
  // the web page (web/, bundled by esbuild, which does not type-check)
  const rcWeb = await run(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'web/tsconfig.json'], false);
  if (rcWeb === 0) passed++; else { failed++; console.log('FAIL typecheck web (tsc -p web/tsconfig.json)'); }
}
// One process per file: a crash or a hang in one file cannot hide the others' results.
for (const f of files) {
  let out = '';
  const rc = await run(process.execPath, ['--import', 'tsx', '--expose-gc', f], true, (s) => (out += s));
  const t = /Total:\s+(\d+)/.exec(out), p = /Passed:\s+(\d+)/.exec(out);
  const total = t ? +t[1] : 0, ok = p ? +p[1] : 0;
  passed += ok;
  failed += total - ok;
  if (rc !== 0 && total === ok) { failed++; console.log(`FAIL ${f}: exited with ${rc}`); }
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed ? 1 : 0);

// A live WebGPU instance keeps Node's event loop running, so a file is done once uvu printed its summary.
function run(cmd, args, echo, onData) {
  return new Promise((resolve) => {
    const c = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: process.env });
    let all = '', done = false, killer;
    const limit = setTimeout(() => { console.log(`TIMEOUT ${args.at(-1)}`); c.kill('SIGKILL'); }, 20 * 60 * 1000);
    const h = (s) => {
      const t = s.toString(); all += t;
      if (echo) process.stdout.write(t);
      onData?.(t);
      if (!done && /Duration:/.test(all)) { done = true; killer = setTimeout(() => c.kill('SIGKILL'), 1500); }
    };
    c.stdout.on('data', h); c.stderr.on('data', h);
    c.on('close', (code, sig) => { clearTimeout(limit); clearTimeout(killer); resolve(done && sig === 'SIGKILL' ? (/Passed:\s+(\d+)/.exec(all)?.[1] === /Total:\s+(\d+)/.exec(all)?.[1] ? 0 : 1) : (code ?? 1)); });
  });
}
