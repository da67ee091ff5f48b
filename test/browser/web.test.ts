// The web page (web/, `npm run web`) in headless Debian Chromium (SwiftShader WebGPU, no shader-f16), driven
// through its data-testids: it loads a model and reaches `ready`; an example clip with the instruction, then with
// the task's mask, gives the expected answers; a click in the mask editor toggles a head and the counts; a few
// training steps in the tab lower the loss; the downloaded mask reads back with the library.
// The model is a parameter: AHAMASK_WEB_MODEL=tiny (default, oracle outputs from the fixture) or demo
// (checkpoints/demo: expected answers computed by the same engine in Node on the CPU backend).
// Screenshots go to $AHAMASK_WEB_SHOTS or a temp folder (printed).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Server } from 'node:http';
import { chromium, type Browser, type Page } from 'playwright-core';
import { buildWeb, serveWeb, MODEL_MOUNTS } from '../../web/build.js';
import { MemorySource } from '../../src/io/bytes.js';
import { readMaskCheckpoint } from '../../src/io/mask.js';

const CHROMIUM = process.env.AHAMASK_CHROMIUM ?? '/usr/bin/chromium';
const ARGS = ['--enable-unsafe-webgpu', '--no-sandbox', '--disable-gpu-sandbox', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run', '--disable-quic'];

interface WebCase {
  /** URL the dev server mounts the folder on, and the decode config inside it. */
  base: string;
  config: string;
  clip: string;
  prompt: string;
  /** Value of the mask select for the task's mask. */
  maskValue: string;
  /** Expected texts (null: computed in Node with the same engine). */
  expectPrompt: string | null;
  expectMask: string | null;
  trainTask: string;
  trainSteps: number;
  trainLr: number;
}

const fixtureGen = (run: string): string => JSON.parse(readFileSync(join(MODEL_MOUNTS['/models/tiny/'], `expected/chirp3s/${run}/generation.json`), 'utf8')).text_ahamask_decode;
const CASES: Record<string, () => WebCase> = {
  tiny: () => ({
    base: '/models/tiny/', config: 'decode_config.yaml', clip: 'audio/chirp3s.wav',
    prompt: 'Recognize the speech and give me the transcription.', maskValue: 'model:masks/tiny_task/checkpoint.pth',
    expectPrompt: fixtureGen('prompt_only'), expectMask: fixtureGen('mask_only'),
    trainTask: 'asr', trainSteps: 6, trainLr: 2,
  }),
  demo: () => {
    const clips = JSON.parse(readFileSync(join(MODEL_MOUNTS['/models/demo/'], 'data/test/clips.json'), 'utf8')).clips;
    return {
      base: '/models/demo/', config: 'decode_config.yaml', clip: clips[0].path,
      // the task whose mask steers the shipped model (README): its instruction and its mask give the same answers
      prompt: 'Do the beeps rise or fall?', maskValue: 'model:masks/tone/checkpoint.pth',
      expectPrompt: null, expectMask: null, trainTask: 'tone', trainSteps: 8, trainLr: 1,
    };
  },
};
const caseName = process.env.AHAMASK_WEB_MODEL ?? 'tiny';
const C = CASES[caseName]?.();
if (!C) throw new Error(`AHAMASK_WEB_MODEL=${caseName}: unknown (one of ${Object.keys(CASES).join(', ')})`);

const watchdog = setTimeout(() => {
  console.error('web.test: gave up after 15 min (Chromium or SwiftShader hung)');
  process.exit(1);
}, 15 * 60_000);
watchdog.unref();

interface Env {
  url: string;
  browser: Browser;
  page: Page;
  server: Server;
  dir: string;
  shots: string;
  log: string[];
}
let envP: Promise<Env> | null = null;
const timings: string[] = [];

async function setup(): Promise<Env> {
  if (!existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} not found: the web test needs Debian's Chromium (apt-get install -y chromium)`);
  const dir = mkdtempSync(join(tmpdir(), 'ahamask-web-'));
  const shots = process.env.AHAMASK_WEB_SHOTS ?? join(dir, 'shots');
  mkdirSync(shots, { recursive: true });
  const t0 = Date.now();
  await buildWeb(join(dir, 'site'), { sourcemap: false });
  const { server, url } = await serveWeb(join(dir, 'site'), 0);
  // a fake microphone (Chromium's test tone) for the recording test
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: [...ARGS, '--use-fake-device-for-media-stream', '--use-fake-ui-for-media-stream'], timeout: 30_000 });
  const ctx = await browser.newContext({ acceptDownloads: true, viewport: { width: 1360, height: 1000 }, permissions: ['microphone'] });
  const page = await ctx.newPage();
  const log: string[] = [];
  page.on('console', (m) => log.push(`[console.${m.type()}] ${m.text()}`));
  page.on('pageerror', (e) => log.push(`[pageerror] ${e.message}`));
  const fail = async (msg: string): Promise<never> => {
    await browser.close().catch(() => {});
    server.close();
    throw new Error(`${msg}\n${log.join('\n')}`);
  };
  try {
    await page.goto(`${url}?model=${encodeURIComponent(C!.base)}&config=${encodeURIComponent(C!.config)}`, { timeout: 60_000 });
    await page.getByTestId('status').filter({ hasText: /ready|error/ }).waitFor({ timeout: 180_000 });
  } catch (e) {
    return fail(`the page did not reach ready: ${(e as Error).message}`);
  }
  const status = await page.getByTestId('status').textContent();
  if (!/ready/.test(status ?? '')) return fail(`the page did not load the model: ${status}`);
  timings.push(`build+launch+load ${Date.now() - t0} ms`);
  console.log(`web.test: screenshots in ${shots}`);
  return { url, browser, page, server, dir, shots, log };
}
const env = (): Promise<Env> => (envP ??= setup());

async function shot(name: string): Promise<void> {
  const e = await env();
  await e.page.screenshot({ path: join(e.shots, `${name}.png`), fullPage: true });
}

/** Clicks Run and waits for the finished answer. */
async function runAndRead(page: Page): Promise<string> {
  await page.getByTestId('run').click();
  await page.locator('[data-testid=output][data-done="1"]').waitFor({ timeout: 180_000 });
  const meta = await page.locator('#output-meta').textContent();
  if (/^error/.test(meta ?? '')) throw new Error(`the run failed in the page: ${meta}`);
  timings.push(`run: ${meta}`);
  return (await page.getByTestId('output').textContent()) ?? '';
}

/** The same run in Node (CPU backend), for models without oracle outputs. */
async function nodeExpected(prompt: string, maskPath: string | null): Promise<string> {
  const { openDirectory } = await import('../../src/node/files.js');
  const { Engine } = await import('../../web/engine.js');
  const { LenientDirectory } = await import('../../web/model-dir.js');
  const e = await Engine.open(new LenientDirectory(openDirectory(MODEL_MOUNTS[C!.base])), C!.config, 'cpu');
  try {
    const mask = maskPath ? await e.readMask(maskPath) : null;
    const r = await e.run({ audio: { kind: 'path', path: C!.clip }, prompt, mask, numBeams: 1, maxNewTokens: e.info.generate.maxNewTokens }, () => {}, () => false);
    return r.text;
  } finally {
    e.dispose();
  }
}

test('the page loads the model and reaches ready; adapter and backend are shown', async () => {
  const { page } = await env();
  assert.match((await page.getByTestId('status').textContent()) ?? '', /ready/);
  const device = (await page.locator('#device').textContent()) ?? '';
  assert.match(device, /WebGPU|CPU backend/);
  timings.push(`device: ${device}`);
  assert.ok((await page.locator('#files tr').count()) > 3, 'per-file progress rows are shown');
  assert.equal(await page.getByTestId('mask').locator('option').first().getAttribute('value'), 'none');
  await shot('1-loaded');
});

test('an example clip with the instruction gives the expected answer (streamed, greedy)', async () => {
  const { page } = await env();
  await page.getByTestId('example').selectOption(C.clip);
  await page.getByTestId('mask').selectOption('none');
  await page.getByTestId('prompt').fill(C.prompt);
  await page.locator('#decoding').selectOption('greedy');
  const want = C.expectPrompt ?? (await nodeExpected(C.prompt, null));
  const got = await runAndRead(page);
  assert.is(got, want);
  await shot('2-prompt-run');
});

test("the same clip with the task's mask (empty prompt) gives the mask's expected answer", async () => {
  const { page } = await env();
  await page.getByTestId('mask').selectOption(C.maskValue);
  await page.waitForFunction(() => (document.querySelector('[data-testid=prompt]') as HTMLInputElement).value === '');
  await page.locator('#mask-name').filter({ hasText: 'checkpoint.pth' }).waitFor();
  const want = C.expectMask ?? (await nodeExpected('', C.maskValue.replace(/^model:/, '')));
  const got = await runAndRead(page);
  assert.is(got, want);
  await shot('3-mask-run');
});

async function cellState(page: Page, l: number, h: number): Promise<string | null> {
  return page.locator(`[data-testid=heatmap] .cell[data-layer="${l}"][data-head="${h}"]`).getAttribute('data-on');
}

test('clicking a head toggles it in the heatmap and the counts; a layer label switches the layer', async () => {
  const { page } = await env();
  const cells = page.locator('[data-testid=heatmap] .cell');
  const n = await cells.count();
  assert.ok(n > 0, 'the heatmap has cells');
  const onBefore = Number(await page.getByTestId('heads-on').getAttribute('data-on'));
  const before = await cellState(page, 0, 0);
  await page.locator('[data-testid=heatmap] .cell[data-layer="0"][data-head="0"]').click();
  const after = await cellState(page, 0, 0);
  assert.not.equal(after, before);
  const onAfter = Number(await page.getByTestId('heads-on').getAttribute('data-on'));
  assert.is(onAfter, onBefore + (after === '1' ? 1 : -1));
  assert.match((await page.getByTestId('heads-on').textContent()) ?? '', new RegExp(`^${onAfter} / ${n} heads on`));
  assert.is(await page.getByTestId('mask').inputValue(), 'edited');
  // a layer label switches every head of the layer to one state
  await page.locator('[data-testid=heatmap] .rowlab[data-layer="1"]').click();
  const states = await page.locator('[data-testid=heatmap] .cell[data-layer="1"]').evaluateAll((els) => els.map((e) => (e as HTMLElement).dataset.on));
  assert.ok(states.every((s) => s === states[0]), `layer 1 is all ${states[0]}: ${states}`);
  await shot('4-edited');
});

test('the downloaded checkpoint.pth reads back with the library and matches the heatmap', async () => {
  const { page } = await env();
  const [dl] = await Promise.all([page.waitForEvent('download'), page.getByTestId('download-mask').click()]);
  assert.is(dl.suggestedFilename(), 'checkpoint.pth');
  const bytes = new Uint8Array(readFileSync((await dl.path())!));
  const m = await readMaskCheckpoint(new MemorySource(bytes, 'checkpoint.pth'));
  const cells = await page.locator('[data-testid=heatmap] .cell').evaluateAll((els) => els.map((e) => [Number((e as HTMLElement).dataset.layer), Number((e as HTMLElement).dataset.head), (e as HTMLElement).dataset.on] as const));
  const H = Math.max(...cells.map((c) => c[1])) + 1, L = Math.max(...cells.map((c) => c[0])) + 1;
  assert.is(m.logits.length, L * (H + 1));
  for (const [l, h, on] of cells) assert.is(m.logits[l * (H + 1) + h] >= 0 ? '1' : '0', on, `layer ${l} head ${h}`);
});

test('a few training steps in the tab lower the loss; the trained mask is shown', async () => {
  const { page } = await env();
  await page.getByTestId('train-task').selectOption(C.trainTask);
  await page.getByTestId('train-steps').fill(String(C.trainSteps));
  await page.getByTestId('train-lr').fill(String(C.trainLr));
  await page.getByTestId('train').click();
  await page.waitForFunction((n) => JSON.parse((document.querySelector('[data-testid=loss]') as HTMLElement).dataset.history ?? '[]').length >= n && !(document.querySelector('[data-testid=train]') as HTMLButtonElement).disabled, C.trainSteps, { timeout: 300_000 });
  const hist = JSON.parse((await page.getByTestId('loss').getAttribute('data-history'))!) as number[];
  timings.push(`losses ${hist.map((x) => x.toFixed(3)).join(' ')}`);
  assert.is(hist.length, C.trainSteps);
  assert.ok(hist.every(Number.isFinite));
  assert.is(Number((await page.getByTestId('loss').textContent())!), Number(hist.at(-1)!.toFixed(4)));
  assert.ok(hist.at(-1)! < hist[0], `loss did not go down: ${hist.join(', ')}`);
  assert.is(await page.getByTestId('mask').inputValue(), 'trained');
  await shot('5-trained');
});

test('a chosen WAV file and an uploaded checkpoint.pth run like the example and the model mask', async () => {
  if (caseName !== 'tiny') return; // the oracle for a second clip exists for the fixture only
  const { page } = await env();
  const dir = MODEL_MOUNTS[C.base];
  await page.locator('#mask-file').setInputFiles(join(dir, 'masks/tiny_task/checkpoint.pth'));
  await page.waitForFunction(() => (document.querySelector('[data-testid=mask]') as HTMLSelectElement).value === 'upload:checkpoint.pth');
  const onUpload = Number(await page.getByTestId('heads-on').getAttribute('data-on'));
  assert.is(onUpload, 7); // the fixture mask: L0H1, L1H0, L1H2, L2H2, L2H3 off
  await page.locator('#audio-file').setInputFiles(join(dir, 'audio/speech_espeak.wav'));
  await page.locator('#audio-label').filter({ hasText: 'speech_espeak.wav' }).waitFor();
  const want = JSON.parse(readFileSync(join(dir, 'expected/speech_espeak/mask_only/generation.json'), 'utf8')).text_ahamask_decode;
  assert.is(await runAndRead(page), want);
  await shot('6-uploaded');
});

test('a microphone recording is decoded, resampled to 16 kHz and run', async () => {
  const { page } = await env();
  await page.getByTestId('mask').selectOption('none');
  await page.getByTestId('prompt').fill(C.prompt);
  await page.locator('#max-tokens').fill('3');
  await page.locator('#record').click();
  await page.locator('#audio-label').filter({ hasText: 'recording' }).waitFor({ timeout: 30_000 });
  await page.waitForTimeout(1500);
  await page.locator('#record').click();
  await page.locator('#audio-label').filter({ hasText: /using the recording|could not/ }).waitFor({ timeout: 30_000 });
  const label = (await page.locator('#audio-label').textContent()) ?? '';
  assert.match(label, /using the recording \([\d.]+ s at \d+ Hz, resampled to 16 kHz\)/);
  await runAndRead(page);
  const meta = (await page.locator('#output-meta').textContent()) ?? '';
  assert.match(meta, /^\d+ tokens/);
});

test('Cancel stops a running generation early and keeps the streamed text', async () => {
  const { page } = await env();
  await page.getByTestId('example').selectOption(C.clip);
  await page.getByTestId('mask').selectOption('none');
  await page.getByTestId('prompt').fill(C.prompt);
  await page.locator('#max-tokens').fill('200');
  await page.getByTestId('run').click();
  await page.waitForFunction(() => ((document.querySelector('[data-testid=output]') as HTMLElement).textContent ?? '').length > 0, undefined, { timeout: 180_000 });
  await page.getByTestId('cancel').click();
  await page.locator('[data-testid=output][data-done="1"]').waitFor({ timeout: 60_000 });
  const meta = (await page.locator('#output-meta').textContent()) ?? '';
  assert.match(meta, /^cancelled/);
  const n = Number(/(\d+) tokens/.exec(meta)?.[1]);
  assert.ok(n >= 1 && n < 200, `stopped after ${n} tokens`);
  assert.ok(((await page.getByTestId('output').textContent()) ?? '').length > 0);
  assert.match((await page.getByTestId('status').textContent()) ?? '', /ready/);
});

test('a folder picked on this computer loads through browser Files and runs', async () => {
  const { page } = await env();
  await page.getByTestId('model-source').selectOption('folder');
  await page.locator('#folder').setInputFiles(MODEL_MOUNTS[C.base]);
  await page.waitForFunction((cfg) => (document.querySelector('#config') as HTMLInputElement).value === cfg, C.config);
  await page.locator('#load').click();
  await page.getByTestId('status').filter({ hasText: /ready|error/ }).waitFor({ timeout: 180_000 });
  assert.match((await page.getByTestId('status').textContent()) ?? '', /ready/);
  if (C.expectMask === null) return;
  await page.getByTestId('example').selectOption(C.clip);
  await page.getByTestId('mask').selectOption(C.maskValue);
  await page.locator('#mask-name').filter({ hasText: 'checkpoint.pth' }).waitFor();
  assert.is(await runAndRead(page), C.expectMask);
  await shot('8-folder');
});

test('without WebGPU the page says so and runs on the CPU backend', async () => {
  const { url } = await env();
  // Chromium without --enable-unsafe-webgpu: no adapter for a headless page, so the worker falls back
  const browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS.filter((a) => a !== '--enable-unsafe-webgpu'), timeout: 30_000 });
  try {
    const page = await browser.newPage({ viewport: { width: 1360, height: 900 } });
    await page.goto(`${url}?model=${encodeURIComponent(C.base)}&config=${encodeURIComponent(C.config)}`, { timeout: 60_000 });
    await page.getByTestId('status').filter({ hasText: /ready|error/ }).waitFor({ timeout: 180_000 });
    assert.match((await page.getByTestId('status').textContent()) ?? '', /ready.*CPU/);
    assert.ok(await page.locator('#nogpu').isVisible(), 'the no-WebGPU banner is shown');
    assert.match((await page.locator('#nogpu').textContent()) ?? '', /CPU backend/);
    await page.screenshot({ path: join((await env()).shots, '7-no-webgpu.png'), fullPage: false });
    if (C.expectMask !== null) {
      await page.getByTestId('example').selectOption(C.clip);
      await page.getByTestId('mask').selectOption(C.maskValue);
      await page.locator('#mask-name').filter({ hasText: 'checkpoint.pth' }).waitFor();
      assert.is(await runAndRead(page), C.expectMask);
    }
  } finally {
    await browser.close().catch(() => {});
  }
});

test.after(async () => {
  console.log(`web.test timings: ${timings.join('; ')}`);
  if (!envP) return;
  const e = await envP.catch(() => null);
  if (!e) return;
  if (e.log.some((l) => l.startsWith('[pageerror]'))) console.log(e.log.filter((l) => l.startsWith('[pageerror]')).join('\n'));
  await e.browser.close().catch(() => {});
  e.server.close();
  if (!process.env.AHAMASK_WEB_SHOTS && !process.env.AHAMASK_WEB_KEEP) rmSync(join(e.dir, 'site'), { recursive: true, force: true });
});

test.run();
