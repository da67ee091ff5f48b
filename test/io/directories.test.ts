// MemoryDirectory, BlobDirectory (browser FileList shape) and UrlDirectory (Range reads, whole-file fallback,
// cache, manifest) against a local HTTP server serving the tiny fixture.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createServer, type Server } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { MemoryDirectory, BlobDirectory, UrlDirectory, FormatError, readText, type CacheLike, type LoadProgress } from '../../src/index.js';
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { FIXTURE } from '../helpers/paths.js';

let server: Server;
let base = '';
const requests: Array<{ method: string; url: string; range?: string }> = [];
let honourRange = true;

test.before(async () => {
  server = createServer((req, res) => {
    requests.push({ method: req.method!, url: req.url!, range: req.headers.range });
    const rel = decodeURIComponent(req.url!.split('?')[0]).replace(/^\/+/, '');
    const p = join(FIXTURE, rel);
    let size: number;
    try {
      const st = statSync(p);
      if (!st.isFile() || rel.includes('..')) throw new Error('no');
      size = st.size;
    } catch {
      res.writeHead(404).end();
      return;
    }
    const m = honourRange && req.headers.range ? /^bytes=(\d+)-(\d+)$/.exec(req.headers.range) : null;
    if (m) {
      const a = Number(m[1]), b = Math.min(Number(m[2]), size - 1);
      res.writeHead(206, { 'content-range': `bytes ${a}-${b}/${size}`, 'content-length': String(b - a + 1), 'accept-ranges': 'bytes' });
      res.end(req.method === 'HEAD' ? undefined : readFileSync(p).subarray(a, b + 1));
      return;
    }
    res.writeHead(200, { 'content-length': String(size) });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(p));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});
test.after(() => new Promise<void>((r) => server.close(() => r())));

test('MemoryDirectory: records, text, normalised paths, no escape above the root', async () => {
  const d = new MemoryDirectory({ 'a/b.txt': 'hi', './c.bin': new Uint8Array([1, 2]) }, 'mem');
  assert.ok(await d.exists('a//b.txt'));
  assert.ok(await d.exists('./a/../c.bin'));
  assert.is(await readText(await d.open('a/b.txt')), 'hi');
  assert.equal(await d.list(), ['a/b.txt', 'c.bin']);
  await d.open('../x').then(() => assert.unreachable(), (e) => assert.instance(e, FormatError));
  await d.open('nope').then(() => assert.unreachable(), (e) => assert.match((e as Error).message, 'mem/nope: no such file'));
});

test('BlobDirectory: a FileList-like array with webkitRelativePath strips the common top folder', async () => {
  const f = (path: string, text: string): File => {
    const file = new File([text], path.split('/').pop()!);
    Object.defineProperty(file, 'webkitRelativePath', { value: path });
    return file;
  };
  const d = new BlobDirectory([f('model/decode.yaml', 'x: 1'), f('model/vicuna/config.json', '{}')], 'picked');
  assert.equal(await d.list(), ['decode.yaml', 'vicuna/config.json']);
  assert.is(await readText(await d.open('vicuna/config.json')), '{}');
  // plain files (no relative path) keep their names; no common folder -> nothing stripped
  const e = new BlobDirectory([new File(['1'], 'a.txt'), new File(['2'], 'b.txt')]);
  assert.equal(await e.list(), ['a.txt', 'b.txt']);
  assert.is(BlobDirectory.commonTop(['x/a', 'y/b']), '');
});

test('UrlDirectory: Range reads match the file, small reads share blocks, 404 names the URL', async () => {
  honourRange = true;
  const d = new UrlDirectory(base, { cache: false });
  assert.ok(await d.exists('salmonn.pth'));
  assert.not.ok(await d.exists('missing.bin'));
  const want = readFileSync(join(FIXTURE, 'salmonn.pth'));
  const src = await d.open('salmonn.pth');
  assert.is(src.size, want.length);
  requests.length = 0;
  assert.equal([...(await src.read(10, 20))], [...want.subarray(10, 30)]);
  assert.equal([...(await src.read(100, 50))], [...want.subarray(100, 150)]);
  assert.is(requests.length, 1, 'two small reads in one block: one request');
  const big = Math.min(want.length - 5, 200_000);
  assert.equal(Buffer.from(await src.read(5, big)).equals(want.subarray(5, 5 + big)), true);
  await d.open('missing.bin').then(() => assert.unreachable(), (e) => assert.match((e as Error).message, `${base}missing.bin: no such file`));
  // a whole checkpoint parses through Range reads
  const ck = await openCheckpoint(await d.open('salmonn.pth'), { select: 'model', selectOptional: true });
  assert.ok(ck.tensors.size > 0);
  await ck.close();
});

test('UrlDirectory: a server that ignores Range gets one whole-file GET with progress', async () => {
  honourRange = false;
  try {
    const events: LoadProgress[] = [];
    const d = new UrlDirectory(base, { cache: false, onProgress: (p) => events.push(p) });
    const src = await d.open('decode_config.yaml');
    assert.is(src.size, statSync(join(FIXTURE, 'decode_config.yaml')).size);
    assert.is(events[0].status, 'initiate');
    assert.is(events.at(-1)!.status, 'done');
    assert.is(events.at(-1)!.progress, 100);
  } finally {
    honourRange = true;
  }
});

test('UrlDirectory: a cache serves files fetched once; a manifest answers exists() without requests', async () => {
  const store = new Map<string, Response>();
  const cache: CacheLike = {
    match: async (u) => store.get(u)?.clone(),
    put: async (u, r) => void store.set(u, r),
  };
  const d = new UrlDirectory(base, { cache, manifest: ['decode_config.yaml', 'vicuna/config.json'] });
  requests.length = 0;
  assert.ok(await d.exists('vicuna/config.json'));
  assert.not.ok(await d.exists('vicuna/nope.json'));
  assert.is(requests.length, 0);
  const t1 = await readText(await d.open('vicuna/config.json'));
  assert.is(requests.length, 1);
  const d2 = new UrlDirectory(base, { cache });
  const t2 = await readText(await d2.open('vicuna/config.json'));
  assert.is(t2, t1);
  assert.is(requests.length, 1, 'second open served from the cache');
  assert.equal(JSON.parse(t1), JSON.parse(readFileSync(join(FIXTURE, 'vicuna/config.json'), 'utf8')));
});

test('UrlDirectory: an aborted signal stops requests', async () => {
  const ac = new AbortController();
  ac.abort();
  const d = new UrlDirectory(base, { cache: false, signal: ac.signal });
  await d.open('salmonn.pth').then(() => assert.unreachable(), (e) => assert.is((e as Error).name, 'AbortError'));
});

test.run();
