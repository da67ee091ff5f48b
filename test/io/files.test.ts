import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, readdirSync, readFileSync, writeFileSync, rmSync, openSync, ftruncateSync, writeSync, closeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FormatError } from '../../src/index.js';
import { MemorySource, BlobSource, SliceSource, readText } from '../../src/index.js';
import { MemoryDirectory } from '../../src/index.js';
import { openFile, openDirectory, writeFileAtomic, withFile } from '../../src/node/index.js';

const TMP = mkdtempSync(join(tmpdir(), 'ahamask-files-'));

test('MemorySource / BlobSource / SliceSource read ranges and reject out-of-range reads', async () => {
  const bytes = Uint8Array.from({ length: 100 }, (_, i) => i);
  for (const src of [new MemorySource(bytes, 'm'), new BlobSource(new Blob([bytes]), 'b')]) {
    assert.is(src.size, 100);
    assert.equal([...(await src.read(10, 3))], [10, 11, 12]);
    assert.is((await src.read(100, 0)).length, 0);
    try {
      await src.read(98, 5);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, FormatError);
      assert.match((e as Error).message, /offset 98/);
      assert.match((e as Error).message, new RegExp(`^${src.name}:`));
    }
  }
  const s = new SliceSource(new MemorySource(bytes, 'm'), 50, 10);
  assert.equal([...(await s.read(0, 2))], [50, 51]);
  await s.read(9, 2).then(() => assert.unreachable(), (e) => assert.instance(e, FormatError));
});

test('FileSource reads lazily at offsets above 4 GiB (sparse file)', async () => {
  const p = join(TMP, 'sparse.bin');
  const fd = openSync(p, 'w');
  const far = 5 * 2 ** 30 + 123; // beyond 32-bit offsets
  ftruncateSync(fd, far + 64);
  writeSync(fd, Buffer.from('HELLO'), 0, 5, far);
  closeSync(fd);
  await withFile(p, async (src) => {
    assert.is(src.size, far + 64);
    assert.is(new TextDecoder().decode(await src.read(far, 5)), 'HELLO');
    assert.equal([...(await src.read(1000, 4))], [0, 0, 0, 0]);
    try {
      await src.read(far + 60, 10);
      assert.unreachable();
    } catch (e) {
      assert.instance(e, FormatError);
      assert.match((e as Error).message, String(far + 60));
    }
  });
  rmSync(p);
});

test('openFile on a missing path -> FormatError naming it; read after close fails', async () => {
  await openFile(join(TMP, 'nope.bin')).then(() => assert.unreachable(), (e) => {
    assert.instance(e, FormatError);
    assert.match((e as Error).message, 'nope.bin');
  });
  writeFileSync(join(TMP, 'x.txt'), 'abc');
  const f = await openFile(join(TMP, 'x.txt'));
  assert.is(await readText(f), 'abc');
  await f.close();
  await f.close();
  await f.read(0, 1).then(() => assert.unreachable(), (e) => assert.instance(e, FormatError));
});

test('writeFileAtomic writes, replaces, and leaves no temp files', async () => {
  const d = join(TMP, 'atomic');
  const p = join(d, 'out.bin');
  await writeFileAtomic(p, new Uint8Array([1, 2, 3]));
  assert.equal([...readFileSync(p)], [1, 2, 3]);
  await writeFileAtomic(p, 'text');
  assert.is(readFileSync(p, 'utf8'), 'text');
  assert.equal(readdirSync(d), ['out.bin']);
});

test('directories: Node and in-memory', async () => {
  writeFileSync(join(TMP, 'a.json'), '{}');
  const dir = openDirectory(TMP);
  assert.ok(await dir.exists('a.json'));
  assert.not.ok(await dir.exists('b.json'));
  const s = await dir.open('a.json');
  assert.is(s.size, 2);
  await s.close?.();
  await dir.open('../etc/passwd').then(() => assert.unreachable(), (e) => assert.instance(e, FormatError));
  const mem = new MemoryDirectory(new Map([['x/y.bin', new Uint8Array([7])]]), 'mem');
  assert.ok(await mem.exists('x/y.bin'));
  assert.is((await (await mem.open('x/y.bin')).read(0, 1))[0], 7);
  await mem.open('z').then(() => assert.unreachable(), (e) => assert.match((e as Error).message, 'mem/z'));
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
