// Loading as users do: Salmonn.load with only { model, fs, target }, Salmonn.fromPretrained from a folder, a URL
// (local HTTP server, Range reads) and browser-style Files, progress events to 100 %, and abort (loading and
// generation) releasing every device buffer; onToken / stream deliver exactly the generated ids.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { AddressInfo } from 'node:net';
import {
  Salmonn, parseDecodeConfig, openDirectory, readTextFile, loadAudio, getDevice, MemoryDirectory, BlobDirectory,
  type LoadProgress, type Device, type SalmonnTokenEvent, type CacheLike,
} from '../../src/node/index.js';
import { FIXTURE } from '../helpers/paths.js';

let server: Server;
let base = '';
let gets = 0;
let dev: Device;
let gpuModel: Salmonn;
let wav: Float32Array;

function files(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

test.before(async () => {
  server = createServer((req, res) => {
    const rel = decodeURIComponent(req.url!.split('?')[0]).replace(/^\/+/, '');
    if (req.method === 'GET') gets++;
    let body: Buffer;
    try {
      if (rel.includes('..')) throw new Error('no');
      body = readFileSync(join(FIXTURE, rel));
    } catch {
      res.writeHead(404).end();
      return;
    }
    const m = req.headers.range ? /^bytes=(\d+)-(\d+)$/.exec(req.headers.range) : null;
    if (m) {
      const a = Number(m[1]), b = Math.min(Number(m[2]), body.length - 1);
      res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${body.length}`, 'content-length': String(b - a + 1) });
      res.end(req.method === 'HEAD' ? undefined : body.subarray(a, b + 1));
    } else {
      res.writeHead(200, { 'content-length': String(body.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  dev = await getDevice();
  wav = await loadAudio(new Uint8Array(readFileSync(join(FIXTURE, 'audio/speech_espeak.wav'))), 'speech_espeak.wav');
});
test.after(() => {
  gpuModel?.dispose();
  return new Promise<void>((r) => server.close(() => r()));
});

const bertHidden = (): number => JSON.parse(readFileSync(join(FIXTURE, 'bert-base-uncased/config.json'), 'utf8')).hidden_size;

test('Salmonn.load with only { model, fs, target }: relative paths and bert-base-uncased/ resolve against the config folder', async () => {
  // a config parsed with its path: paths resolve against its folder (no cwd given anywhere)
  const file = join(FIXTURE, 'decode_config.yaml');
  const a = parseDecodeConfig(await readTextFile(file), { file, warn: () => {} });
  const m1 = await Salmonn.load({ model: a.model, fs: openDirectory(FIXTURE), target: 'cpu', warn: () => {} });
  assert.is(m1.configs.bert.hidden_size, bertHidden());
  m1.dispose();
  // a config parsed with a bare name and a Directory rooted at its folder: paths stay relative to that root
  const b = parseDecodeConfig(await readTextFile(file), { file: 'decode_config.yaml', warn: () => {} });
  const m2 = await Salmonn.load({ model: b.model, fs: openDirectory(FIXTURE), target: 'cpu', warn: () => {} });
  assert.is(m2.configs.bert.hidden_size, bertHidden());
  assert.is(m2.maskLogits?.length, m1.maskLogits?.length);
  m2.dispose();
});

function checkProgress(ev: LoadProgress[]): void {
  assert.ok(ev.length > 4, `${ev.length} events`);
  assert.is(ev[0].status, 'initiate');
  const last = ev[ev.length - 1];
  assert.is(last.status, 'ready');
  assert.is(last.progress, 100);
  assert.is(last.overall, 100);
  let prev = 0;
  for (const e of ev) {
    assert.ok(e.overall >= prev - 1e-9, `overall goes back: ${prev} -> ${e.overall}`);
    assert.ok(e.progress >= 0 && e.progress <= 100 && e.overall <= 100);
    prev = e.overall;
  }
  const done = ev.filter((e) => e.status === 'done');
  assert.equal(done.map((e) => e.stage), ['whisper', 'beats', 'salmonn', 'llama']);
  for (const d of done) assert.is(d.progress, 100);
  assert.equal(ev.filter((e) => e.status === 'initiate').map((e) => e.file), done.map((e) => e.file));
}

test('fromPretrained(folder): progress events initiate/progress/done per checkpoint, ready at 100 %', async () => {
  const ev: LoadProgress[] = [];
  const m = await Salmonn.fromPretrained(FIXTURE, { target: 'cpu', onProgress: (p) => ev.push(p), warn: () => {} });
  checkProgress(ev);
  assert.equal(ev.filter((e) => e.status === 'done').map((e) => e.file), ['whisper', 'beats.pt', 'salmonn.pth', 'vicuna']);
  assert.ok(m.decodeConfig);
  assert.is(m.configs.bert.hidden_size, bertHidden());
  m.dispose();
  // a config file path works too; a missing path names itself
  const m2 = await Salmonn.fromPretrained(join(FIXTURE, 'decode_config_prompt.yaml'), { target: 'cpu', warn: () => {} });
  assert.is(m2.decodeConfig!.prompt, parseDecodeConfig(readFileSync(join(FIXTURE, 'decode_config_prompt.yaml'), 'utf8'), { file: 'x', warn: () => {} }).prompt);
  m2.dispose();
  await Salmonn.fromPretrained(join(FIXTURE, 'nope'), { target: 'cpu' }).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /nope: no such file or folder/));
});

test('fromPretrained(URL) with Range reads and fromPretrained(Files) load the same weights as the folder', async () => {
  const ref = await Salmonn.fromPretrained(FIXTURE, { target: 'cpu', warn: () => {} });
  const want = Array.from((await ref.llama.p.embed.data()) as Float32Array);
  ref.dispose();
  const ev: LoadProgress[] = [];
  const u = await Salmonn.fromPretrained(base, { target: 'cpu', onProgress: (p) => ev.push(p), url: { cache: false }, warn: () => {} });
  checkProgress(ev);
  assert.equal(Array.from((await u.llama.p.embed.data()) as Float32Array), want);
  u.dispose();
  // a picked folder: Files with webkitRelativePath under a common top folder
  const picked = files(FIXTURE).filter((p) => !p.includes('/expected/')).map((p) => {
    const f = new File([readFileSync(p)], p.split('/').pop()!);
    Object.defineProperty(f, 'webkitRelativePath', { value: `tiny-salmonn/${relative(FIXTURE, p)}` });
    return f;
  });
  const b = await Salmonn.fromPretrained(picked, { target: 'cpu', warn: () => {} });
  assert.equal(Array.from((await b.llama.p.embed.data()) as Float32Array), want);
  b.dispose();
  // a Directory without the config: a clear error
  await Salmonn.fromPretrained(new MemoryDirectory({ 'x.bin': 'x' }), { target: 'cpu' }).then(() => assert.unreachable(), (e) => assert.match((e as Error).message, /no decode config found/));
  assert.instance(new BlobDirectory([]), MemoryDirectory);
});

test('fromPretrained(URL) with a cache: files fetched once, never again; overall progress never goes back', async () => {
  const store = new Map<string, Response>();
  const cache: CacheLike = { match: async (u) => store.get(u)?.clone(), put: async (u, r) => void store.set(u, r) };
  const ev: LoadProgress[] = [];
  gets = 0;
  const a = await Salmonn.fromPretrained(base, { target: 'cpu', url: { cache }, onProgress: (p) => ev.push(p), warn: () => {} });
  assert.ok(gets > 0);
  assert.ok(ev.some((e) => e.stage === 'download' && e.status === 'done' && e.progress === 100), 'download events');
  let prev = 0;
  for (const e of ev) {
    assert.ok(e.overall >= prev, `overall ${prev} -> ${e.overall} (${e.status} ${e.file})`);
    prev = e.overall;
  }
  assert.is(ev[ev.length - 1].status, 'ready');
  const want = Array.from((await a.llama.p.embed.data()) as Float32Array);
  a.dispose();
  gets = 0;
  const b = await Salmonn.fromPretrained(base, { target: 'cpu', url: { cache }, warn: () => {} });
  assert.is(gets, 0, 'no file downloaded twice');
  assert.equal(Array.from((await b.llama.p.embed.data()) as Float32Array), want);
  b.dispose();
});

test('abort while loading on the GPU: rejects with AbortError and releases every weight placed so far', async () => {
  const before = dev.stats.liveBytes;
  const ac = new AbortController();
  let seen = 0;
  const p = Salmonn.fromPretrained(FIXTURE, {
    target: dev, signal: ac.signal, warn: () => {},
    onProgress: (e) => {
      if (e.stage === 'llama' && e.status === 'progress' && ++seen === 3) ac.abort();
    },
  });
  await p.then(() => assert.unreachable(), (e) => assert.is((e as Error).name, 'AbortError'));
  assert.is(seen, 3);
  assert.is(dev.stats.liveBytes, before, 'device bytes after abort');
  // already aborted: nothing is read
  await Salmonn.fromPretrained(FIXTURE, { target: dev, signal: AbortSignal.abort() }).then(() => assert.unreachable(), (e) => assert.is((e as Error).name, 'AbortError'));
});

test('onToken delivers exactly the generated ids (and text); stream() yields the same; break and abort free the device memory', async () => {
  gpuModel = await Salmonn.fromPretrained(FIXTURE, { target: dev, warn: () => {} });
  const gen = { maxNewTokens: 12, numBeams: 1 };
  await gpuModel.generate({ wavs: [wav] }, { generate: gen }); // first use builds lasting caches (position tables)
  const before = dev.stats.liveBytes;
  const events: SalmonnTokenEvent[] = [];
  const r = await gpuModel.generate({ wavs: [wav] }, { generate: gen, onToken: (e) => void events.push(e) });
  assert.ok(r.tokens[0].length > 1, 'some tokens');
  assert.equal(events.map((e) => e.token), r.tokens[0]);
  assert.equal(events.map((e) => e.step), r.tokens[0].map((_, i) => i));
  assert.is(events[events.length - 1].text, r.texts[0]);
  assert.is(events.map((e) => e.delta).join(''), r.texts[0]);
  assert.is(dev.stats.liveBytes, before);
  // beam search: the winner's tokens, delivered when decoding ends
  const beamEv: number[] = [];
  const rb = await gpuModel.generate({ wavs: [wav] }, { generate: { maxNewTokens: 6, numBeams: 2 }, onToken: (e) => void beamEv.push(e.token) });
  assert.equal(beamEv, rb.tokens[0]);
  // the async iterator
  const it = gpuModel.stream({ wavs: [wav] }, { generate: gen });
  const streamed: number[] = [];
  let res = await it.next();
  while (!res.done) {
    streamed.push(res.value.token);
    res = await it.next();
  }
  assert.equal(streamed, r.tokens[0]);
  assert.equal(res.value!.tokens[0], r.tokens[0]);
  assert.is(dev.stats.liveBytes, before);
  // leaving the loop early stops generation and frees its buffers
  let n = 0;
  for await (const e of gpuModel.stream({ wavs: [wav] }, { generate: gen })) {
    assert.is(e.token, r.tokens[0][n]);
    if (++n === 2) break;
  }
  assert.is(n, 2);
  assert.is(dev.stats.liveBytes, before, 'after break');
  // an AbortSignal stops generate() between steps
  const ac = new AbortController();
  let got = 0;
  await gpuModel.generate({ wavs: [wav] }, { generate: gen, signal: ac.signal, onToken: () => void (++got === 3 && ac.abort()) })
    .then(() => assert.unreachable(), (e) => assert.is((e as Error).name, 'AbortError'));
  assert.is(got, 3);
  assert.is(dev.stats.liveBytes, before, 'after abort');
});

test.run();
