import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { AHAMASK_DATA, FIXTURE } from '../helpers/paths.js';
import { FormatError } from '../../src/index.js';
import { MemorySource } from '../../src/index.js';
import { ZipArchive, writeZip, crc32 } from '../../src/io/zip.js';

const RELEASED = join(AHAMASK_DATA, 'legacy_checkpoints/asr_librispeech/checkpoint.pth');
const load = (p: string): Uint8Array => new Uint8Array(readFileSync(p));

async function rejects(p: Promise<unknown>, ...needles: (string | RegExp)[]): Promise<void> {
  try {
    await p;
  } catch (e) {
    assert.instance(e, FormatError, String(e));
    for (const n of needles) assert.match((e as Error).message, n);
    return;
  }
  assert.unreachable('expected a FormatError');
}

test('reads the central directory of a torch >= 2.1 file (zip64 end records, data descriptors)', async () => {
  const z = await ZipArchive.open(new MemorySource(load(RELEASED), 'mask.pth'));
  assert.equal(z.names(), ['checkpoint/data.pkl', 'checkpoint/byteorder', 'checkpoint/data/0', 'checkpoint/version', 'checkpoint/.data/serialization_id']);
  assert.is(z.entry('checkpoint/data/0').size, 6560);
  assert.is(await z.readText('checkpoint/byteorder'), 'little');
  assert.is(await z.readText('checkpoint/version'), '3\n');
  for (const n of z.names()) assert.is((await z.dataOffset(n)) % 64, 0, `${n} is 64-byte aligned`);
  const part = await z.readRange('checkpoint/data/0', 4, 8);
  const all = await z.read('checkpoint/data/0');
  assert.equal([...part], [...all.subarray(4, 12)]);
});

test('reads torch 1.13 files (no byteorder record) and their CRCs match', async () => {
  const z = await ZipArchive.open(new MemorySource(load(join(FIXTURE, 'beats.pt')), 'beats.pt'));
  assert.ok(z.has('beats/data.pkl'));
  assert.not.ok(z.has('beats/byteorder'));
  for (const n of z.names()) assert.is(crc32(await z.read(n)), z.entry(n).crc32, n);
});

test('writeZip reproduces torch.save files byte for byte', async () => {
  for (const f of [RELEASED, join(FIXTURE, 'beats.pt'), join(FIXTURE, 'masks/tiny_task/checkpoint.pth')]) {
    const orig = load(f);
    const z = await ZipArchive.open(new MemorySource(orig, f));
    const entries = [];
    for (const n of z.names()) entries.push({ name: n, data: (await z.read(n)).slice() });
    const w = writeZip(entries);
    assert.is(Buffer.compare(Buffer.from(w), Buffer.from(orig)), 0, f);
  }
});

test('crc32 check value', () => {
  assert.is(crc32(new TextEncoder().encode('123456789')), 0xcbf43926);
});

test('truncated zip: FormatError naming the file and an offset', async () => {
  const orig = load(RELEASED);
  for (const cut of [10, 100, 4000, orig.length - 30, orig.length - 1]) {
    await rejects(ZipArchive.open(new MemorySource(orig.subarray(0, cut), 'cut.pth')), 'cut.pth');
  }
  // cut in the data only: the central directory survives but points beyond the end -> offset in the message
  const noData = new Uint8Array(orig.length - 2000);
  noData.set(orig.subarray(0, 1000));
  noData.set(orig.subarray(3000), 1000);
  await rejects(ZipArchive.open(new MemorySource(noData, 'hole.pth')), 'hole.pth', /offset \d+/);
});

test('central directory offset beyond the file size', async () => {
  const b = load(RELEASED).slice();
  // classic EOCD is the last 22 bytes; zip64 record holds the real offset: corrupt both
  const dv = new DataView(b.buffer);
  const eocd = b.length - 22;
  dv.setUint32(eocd + 16, 0x7fff0000, true);
  const z64 = eocd - 20 - 56;
  dv.setBigUint64(z64 + 48, 0x7fff0000n, true);
  await rejects(ZipArchive.open(new MemorySource(b, 'off.pth')), 'off.pth', /offset 2147418112/, /beyond the end/);
});

test('not a zip at all', async () => {
  await rejects(ZipArchive.open(new MemorySource(new Uint8Array(100), 'zeros.bin')), 'zeros.bin', /end-of-central-directory/);
  await rejects(ZipArchive.open(new MemorySource(new Uint8Array(3), 'tiny.bin')), 'tiny.bin');
});

/** A hand-built zip whose central directory uses zip64 extra fields for size and offset. */
function zip64Sample(data: Uint8Array, name = 'a/b.bin'): Uint8Array {
  const nm = new TextEncoder().encode(name);
  const lh = new Uint8Array(30 + nm.length);
  const l = new DataView(lh.buffer);
  l.setUint32(0, 0x04034b50, true);
  l.setUint32(18, 0xffffffff, true);
  l.setUint32(22, 0xffffffff, true);
  l.setUint16(26, nm.length, true);
  lh.set(nm, 30);
  const extra = new Uint8Array(4 + 24);
  const x = new DataView(extra.buffer);
  x.setUint16(0, 1, true);
  x.setUint16(2, 24, true);
  x.setBigUint64(4, BigInt(data.length), true); // uncompressed
  x.setBigUint64(12, BigInt(data.length), true); // compressed
  x.setBigUint64(20, 0n, true); // local header offset
  const ch = new Uint8Array(46 + nm.length + extra.length);
  const c = new DataView(ch.buffer);
  c.setUint32(0, 0x02014b50, true);
  c.setUint32(16, crc32(data), true);
  c.setUint32(20, 0xffffffff, true);
  c.setUint32(24, 0xffffffff, true);
  c.setUint16(28, nm.length, true);
  c.setUint16(30, extra.length, true);
  c.setUint32(42, 0xffffffff, true);
  ch.set(nm, 46);
  ch.set(extra, 46 + nm.length);
  const cdOff = lh.length + data.length;
  const tail = new Uint8Array(56 + 20 + 22);
  const t = new DataView(tail.buffer);
  t.setUint32(0, 0x06064b50, true);
  t.setBigUint64(4, 44n, true);
  t.setBigUint64(24, 1n, true);
  t.setBigUint64(32, 1n, true);
  t.setBigUint64(40, BigInt(ch.length), true);
  t.setBigUint64(48, BigInt(cdOff), true);
  t.setUint32(56, 0x07064b50, true);
  t.setBigUint64(64, BigInt(cdOff + ch.length), true);
  t.setUint32(72, 1, true);
  t.setUint32(76, 0x06054b50, true);
  t.setUint16(84, 0xffff, true);
  t.setUint16(86, 0xffff, true);
  t.setUint32(88, 0xffffffff, true);
  t.setUint32(92, 0xffffffff, true);
  const out = new Uint8Array(lh.length + data.length + ch.length + tail.length);
  out.set(lh);
  out.set(data, lh.length);
  out.set(ch, cdOff);
  out.set(tail, cdOff + ch.length);
  return out;
}

test('zip64 extra fields and end-of-central-directory locator', async () => {
  const data = new TextEncoder().encode('zip64 payload');
  const z = await ZipArchive.open(new MemorySource(zip64Sample(data), 'z64.zip'));
  const e = z.entry('a/b.bin');
  assert.is(e.size, data.length);
  assert.is(e.localHeaderOffset, 0);
  assert.is(await z.readText(e), 'zip64 payload');
  // a zip64 offset beyond the file
  const bad = zip64Sample(data);
  const cdStart = bad.length - 98 - (46 + 7 + 28);
  new DataView(bad.buffer).setBigUint64(cdStart + 46 + 7 + 4 + 16, 1n << 40n, true);
  await rejects(ZipArchive.open(new MemorySource(bad, 'z64bad.zip')), 'z64bad.zip', /beyond the end/);
});

test('deflate entries are inflated (DecompressionStream)', async () => {
  const text = 'hello hello hello hello deflate '.repeat(50);
  const raw = new TextEncoder().encode(text);
  const comp = new Uint8Array(await new Response(new Blob([raw]).stream().pipeThrough(new CompressionStream('deflate-raw'))).arrayBuffer());
  const w = writeZip([{ name: 'x/t.txt', data: comp }]);
  // patch method = 8 and the uncompressed size in the central directory
  const dv = new DataView(w.buffer);
  const cd = w.length - 98 - (46 + 7);
  assert.is(dv.getUint32(cd, true), 0x02014b50);
  dv.setUint16(cd + 10, 8, true);
  dv.setUint32(cd + 24, raw.length, true);
  const z = await ZipArchive.open(new MemorySource(w, 'deflate.zip'));
  assert.is(await z.readText('x/t.txt'), text);
  await rejects(z.readRange('x/t.txt', 0, 4), /compressed/);
  // garbage deflate data -> FormatError
  const g = w.slice();
  g.fill(0xff, 64, 64 + comp.length);
  const zg = await ZipArchive.open(new MemorySource(g, 'garbage.zip'));
  await rejects(zg.read('x/t.txt'), 'garbage.zip');
});

test('entries are looked up by exact name; missing -> FormatError', async () => {
  const z = await ZipArchive.open(new MemorySource(load(RELEASED), 'mask.pth'));
  assert.throws(() => z.entry('checkpoint/data/1'), (e: unknown) => e instanceof FormatError && /data\/1/.test((e as Error).message));
  await rejects(z.readRange('checkpoint/data/0', 6559, 2), /outside zip entry/);
});

test.run();
