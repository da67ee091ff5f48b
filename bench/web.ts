// The web page next to Node: model load time and per-clip latency (greedy, the config's max_new_tokens, one
// warm-up run first in both) of the same engine code (web/engine.ts), in Node on the bench adapter and in headless
// Chromium through the page (web/, driven by its data-testids). Ratio = Node ms / Chromium ms (> 1: the page is
// faster; the harness calls it speedup). On this machine the adapters differ (Node: Dawn on the bench adapter; Chromium: its own, SwiftShader
// headless), so the adapter of each side is printed with the rows.
// AHAMASK_BENCH_WEB_MODEL=tiny (default) | demo picks the model folder (web/build.ts mounts).
// Then our matmul and attention next to tfjs-webgpu in one Chromium page (bench/web-kernels-page.ts).
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as esbuild from 'esbuild';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { openDirectory } from '../src/node/files.js';
import { Engine } from '../web/engine.js';
import { LenientDirectory } from '../web/model-dir.js';
import { buildWeb, serveWeb, MODEL_MOUNTS, ROOT as ROOT_DIR } from '../web/build.js';
import { once, type Ctx } from './harness.js';

const CHROMIUM = process.env.AHAMASK_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

export async function run(ctx: Ctx): Promise<void> {
  await runPipeline(ctx);
  await runKernels(ctx);
}

/** Model load and per-clip latency: the page in Chromium vs the same engine in Node. */
async function runPipeline(ctx: Ctx): Promise<void> {
  const which = process.env.AHAMASK_BENCH_WEB_MODEL ?? 'tiny';
  const base = `/models/${which}/`;
  const folder = MODEL_MOUNTS[base];
  if (!folder || !existsSync(folder)) throw new Error(`bench web: no model folder for ${which} (${folder ?? 'unknown'})`);
  const config = 'decode_config.yaml';
  const nClips = ctx.quick ? 1 : 3;

  // ---- Node
  const t0 = performance.now();
  const e = await Engine.open(new LenientDirectory(openDirectory(folder)), config, ctx.dev);
  const nodeLoad = performance.now() - t0;
  const clips = e.info.examples.slice(0, nClips);
  const prompt = e.info.prompts[0] ?? '';
  const runOpts = (path: string) => ({ audio: { kind: 'path' as const, path }, prompt, mask: null, numBeams: 1, maxNewTokens: e.info.generate.maxNewTokens });
  await e.run(runOpts(clips[0].path), () => {}, () => false); // warm-up: pipelines compile once
  const nodeMs: number[] = [];
  const nodeTokens: number[] = [];
  for (const c of clips) {
    const r = await e.run(runOpts(c.path), () => {}, () => false);
    nodeMs.push(r.ms);
    nodeTokens.push(r.tokens);
  }
  e.dispose();

  // ---- Chromium (the page)
  const dir = mkdtempSync(join(tmpdir(), 'ahamask-bench-web-'));
  const { server, url } = await (async () => {
    await buildWeb(join(dir, 'site'), { sourcemap: false, minify: true });
    return serveWeb(join(dir, 'site'), 0);
  })();
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  let adapter = '';
  try {
    const page = await browser.newPage();
    await page.goto(`${url}?model=${encodeURIComponent(base)}&config=${config}`);
    await page.getByTestId('status').filter({ hasText: /ready|error/ }).waitFor({ timeout: 300_000 });
    const status = (await page.getByTestId('status').textContent()) ?? '';
    if (!/ready/.test(status)) throw new Error(`bench web: the page did not load the model: ${status}`);
    adapter = ((await page.locator('#device').textContent()) ?? '').split(' · features')[0];
    const pageLoad = Number(await page.locator('#model-summary').getAttribute('data-load-ms'));
    await page.locator('#decoding').selectOption('greedy');
    await page.getByTestId('mask').selectOption('none');
    await page.getByTestId('prompt').fill(prompt);
    const runClip = async (path: string): Promise<{ ms: number; tokens: number }> => {
      await page.getByTestId('example').selectOption(path);
      await page.getByTestId('run').click();
      await page.locator('[data-testid=output][data-done="1"]').waitFor({ timeout: 600_000 });
      const out = page.getByTestId('output');
      return { ms: Number(await out.getAttribute('data-ms')), tokens: Number(await out.getAttribute('data-tokens')) };
    };
    await runClip(clips[0].path); // warm-up
    // ours = the page; baseline = the same engine in Node (speedup = Node ms / page ms: > 1, the page is faster)
    const nodeNote = `node: ${ctx.dev.adapterInfo.vendor} ${ctx.dev.adapterInfo.description}`.trim();
    const loadK = `web: load ${which} (chromium page)`;
    ctx.report({ kernel: loadK, shape: 'fetch + parse + place', dtype: 'keep', ...once(pageLoad), note: adapter });
    ctx.report({ kernel: `web: load ${which} (node)`, shape: 'read + parse + place', dtype: 'keep', ...once(nodeLoad), role: 'baseline', vs: loadK, speedup: nodeLoad / pageLoad, note: nodeNote });
    for (let i = 0; i < clips.length; i++) {
      const r = await runClip(clips[i].path);
      const k = `web: clip ${clips[i].label.split(' ')[0]} (chromium page)`;
      ctx.report({ kernel: k, shape: `greedy, ${r.tokens} new tokens`, dtype: 'keep', ...once(r.ms), note: adapter });
      ctx.report({ kernel: `web: clip ${clips[i].label.split(' ')[0]} (node)`, shape: `greedy, ${nodeTokens[i]} new tokens`, dtype: 'keep', ...once(nodeMs[i]), role: 'baseline', vs: k, speedup: nodeMs[i] / r.ms, note: nodeNote });
    }
  } finally {
    await browser.close().catch(() => {});
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
  if (!ctx.json) console.log(`web bench adapters: chromium = ${adapter}; node = ${ctx.dev.adapterInfo.vendor} ${ctx.dev.adapterInfo.architecture} ${ctx.dev.adapterInfo.description}`.trim());
}

/** Our matmul and attention next to tfjs-webgpu in the same Chromium page (bench/web-kernels-page.ts). */
export async function runKernels(ctx: Ctx): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'ahamask-bench-kernels-'));
  const r = await esbuild.build({
    entryPoints: [join(ROOT_DIR, 'bench/web-kernels-page.ts')], bundle: true, platform: 'browser', format: 'esm', target: 'es2022',
    outfile: join(dir, 'k.js'), logLevel: 'silent', minify: true,
  });
  if (r.errors.length) throw new Error(r.errors.map((e) => e.text).join('\n'));
  writeFileSync(join(dir, 'index.html'), '<!doctype html><meta charset="utf-8"><script type="module" src="k.js"></script>\n');
  const { server, url } = await serveWeb(dir, 0, {});
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS, timeout: 30_000 });
  try {
    const page = await browser.newPage();
    await page.goto(url);
    await page.waitForFunction(() => (globalThis as { __kernels?: unknown }).__kernels !== undefined, undefined, { timeout: 30_000 });
    const res = await page.evaluate((quick) => (globalThis as unknown as { __kernels: { run(o: { quick: boolean }): Promise<{ adapter: string; rows: { op: string; shape: string; ours_ms: number; tfjs_ms: number }[] }> } }).__kernels.run({ quick }), ctx.quick);
    for (const row of res.rows) {
      const k = `page: ${row.op}`;
      ctx.report({ kernel: k, shape: row.shape, dtype: 'f32', ...once(row.ours_ms), note: `${res.adapter}; best of the page's rounds` });
      ctx.report({ kernel: `page: tfjs-webgpu ${row.op}`, shape: row.shape, dtype: 'f32', ...once(row.tfjs_ms), role: 'baseline', vs: k, speedup: row.tfjs_ms / row.ours_ms });
    }
    if (!ctx.json) console.log(`page kernels adapter: ${res.adapter}`);
  } finally {
    await browser.close().catch(() => {});
    server.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
