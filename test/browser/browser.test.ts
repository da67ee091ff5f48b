// The engine in a real browser: bundles src/index.ts + test/browser/entry.ts with esbuild (platform browser),
// serves the bundle on 127.0.0.1, loads it in headless Debian Chromium (playwright-core) with WebGPU on
// (Chrome's SwiftShader fallback adapter: no shader-f16, 256 invocations per workgroup) and compares every
// GPU result with the CPU backend in the same page. Fails (never skips) without Chromium or an adapter.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import * as esbuild from 'esbuild';
import { chromium, type Browser, type Page } from 'playwright-core';
import * as lib from '../../src/index.js';
import { ROOT } from '../helpers/paths.js';
import type { Check, SuiteResult } from './entry.js';

const CHROMIUM = process.env.AHAMASK_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = [
  '--enable-unsafe-webgpu',
  '--no-sandbox', // running as root
  '--disable-gpu-sandbox',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];
/** Ops that other kernel groups add; each gets a page test once src/ops exports it. */
const OPTIONAL_OPS = ['matmul', 'softmax', 'layerNorm', 'attention'] as const;
const exported = OPTIONAL_OPS.filter((n) => typeof (lib as unknown as Record<string, unknown>)[n] === 'function');

// The whole file must stay well under a minute; a hang in Chromium must not hang the runner.
const watchdog = setTimeout(() => {
  console.error('browser.test: gave up after 120 s (Chromium or SwiftShader hung)');
  process.exit(1);
}, 120_000);
watchdog.unref();

interface Env {
  browser: Browser;
  page: Page;
  server: Server;
  dir: string;
  log: string[];
}
let envP: Promise<Env> | null = null;
const timings: string[] = [];

async function setup(): Promise<Env> {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} not found: the browser test needs Debian's Chromium (apt-get install -y chromium; .ci/run installs it)`);
  }
  const t0 = Date.now();
  const dir = mkdtempSync(join(tmpdir(), 'ahamask-browser-'));
  try {
    const r = await esbuild.build({
      entryPoints: [join(ROOT, 'test/browser/entry.ts')],
      bundle: true,
      platform: 'browser',
      format: 'esm',
      target: 'es2022',
      outfile: join(dir, 'entry.js'),
      sourcemap: 'inline',
      logLevel: 'silent',
    });
    if (r.errors.length) throw new Error(r.errors.map((e) => e.text).join('\n'));
  } catch (e) {
    throw new Error(`esbuild could not bundle src/index.ts for the browser: ${e instanceof Error ? e.message : e}`);
  }
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><title>ahamask</title><script type="module" src="/entry.js"></script>\n');
  const t1 = Date.now();
  const files: Record<string, [string, string]> = {
    '/': ['index.html', 'text/html; charset=utf-8'],
    '/index.html': ['index.html', 'text/html; charset=utf-8'],
    '/entry.js': ['entry.js', 'text/javascript; charset=utf-8'],
  };
  const server = createServer((req, res) => {
    const f = files[(req.url ?? '/').split('?')[0]];
    if (!f) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, { 'content-type': f[1], 'cache-control': 'no-store' }).end(readFileSync(join(dir, f[0])));
  });
  await new Promise<void>((ok, fail) => server.once('error', fail).listen(0, '127.0.0.1', ok));
  const port = (server.address() as AddressInfo).port;
  let browser: Browser;
  try {
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  } catch (e) {
    server.close();
    throw new Error(`could not launch ${CHROMIUM}: ${e instanceof Error ? e.message : e}`);
  }
  const page = await browser.newPage();
  const log: string[] = [];
  page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  await page.goto(`http://127.0.0.1:${port}/`);
  try {
    await page.waitForFunction(() => (globalThis as { __ahamask?: unknown }).__ahamask !== undefined, undefined, { timeout: 15_000 });
  } catch {
    throw new Error(`the bundle did not load in Chromium:\n${log.join('\n')}`);
  }
  timings.push(`bundle ${t1 - t0} ms, launch+load ${Date.now() - t1} ms`);
  return { browser, page, server, dir, log };
}

function env(): Promise<Env> {
  return (envP ??= setup());
}

async function runSuite(name: string): Promise<SuiteResult> {
  const { page, log } = await env();
  const n = log.length;
  let r: SuiteResult;
  try {
    r = await page.evaluate((s) => (globalThis as unknown as { __ahamask: { run(s: string): Promise<SuiteResult> } }).__ahamask.run(s), name);
  } catch (e) {
    throw new Error(`suite ${name} threw in the page: ${e instanceof Error ? e.message : e}\n${log.slice(n).join('\n')}`);
  }
  timings.push(`${name}: ${r.checks.length} checks in ${r.ms.toFixed(0)} ms`);
  return r;
}

function assertChecks(r: SuiteResult): void {
  const bad = r.checks.filter((c: Check) => !c.ok);
  if (bad.length) {
    assert.unreachable(`${r.suite}: ${bad.length}/${r.checks.length} checks failed in Chromium:\n` + bad.map((c) => `  ${c.what}: ${c.error ?? 'failed'}`).join('\n'));
  }
  assert.ok(r.checks.length > 0, `${r.suite}: no checks ran`);
}

test('headless Chromium gives navigator.gpu and Device.create() succeeds (no adapter = failure)', async () => {
  const r = await runSuite('device');
  const c = r.checks[0];
  if (!c.ok) {
    assert.unreachable(`${c.what} failed in Chromium (flags: ${ARGS.join(' ')}): ${c.error}`);
  }
  const info = r.info as { architecture: string; description: string; isFallbackAdapter?: boolean; hasF16: boolean; limits: lib.DeviceLimits };
  timings.push(`adapter: ${info.architecture || '?'} ${info.description} fallback=${info.isFallbackAdapter} shader-f16=${info.hasF16} maxInvocations=${info.limits.maxComputeInvocationsPerWorkgroup}`);
  assert.ok(info.limits.maxComputeInvocationsPerWorkgroup >= 256, 'the engine needs 256 invocations per workgroup');
});

test('elementwise ops (f32 and f16 storage, broadcasting, strided views) match the CPU backend', async () => {
  assertChecks(await runSuite('elementwise'));
});

test('casts to f16 and back (without shader-f16) match the CPU backend', async () => {
  assertChecks(await runSuite('f16'));
});

test('views: reshape, permute, slice, broadcastTo, unsqueeze/squeeze, to(cpu)', async () => {
  assertChecks(await runSuite('views'));
});

for (const name of exported) {
  test(`${name} matches the CPU backend`, async () => {
    assertChecks(await runSuite(name));
  });
}

test.after(async () => {
  const notYet = OPTIONAL_OPS.filter((n) => !exported.includes(n));
  if (notYet.length) console.log(`browser.test: not exported by src/ops yet, so not run in the page: ${notYet.join(', ')}`);
  console.log(`browser.test timings: ${timings.join('; ')}`);
  if (!envP) return;
  const e = await envP.catch(() => null);
  if (!e) return;
  await e.browser.close().catch(() => {});
  e.server.close();
  rmSync(e.dir, { recursive: true, force: true });
});

test.run();
