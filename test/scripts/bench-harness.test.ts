// The bench's bookkeeping (no timing here: speed belongs to `node bench`): repetitions and spread, the time a row
// is judged by, GPU ≤ wall per repetition, speedups only on baseline rows, and `npm run bench` pointing at a file.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT } from '../helpers/paths.js';
import { compare, measure, summarize, type Ctx, type Row, type Sample } from '../../bench/harness.js';

test('summarize: reps, medians, min / median / max of GPU time (wall when any repetition lacks it)', () => {
  const s = summarize([{ gpu_ms: 3, wall_ms: 4 }, { gpu_ms: 1, wall_ms: 9 }, { gpu_ms: 2, wall_ms: 2.5 }]);
  assert.equal(s, { reps: 3, gpu_ms: 2, wall_ms: 4, basis: 'gpu', min_ms: 1, median_ms: 2, max_ms: 3 });
  const w = summarize([{ gpu_ms: null, wall_ms: 5 }, { gpu_ms: 1, wall_ms: 2 }, { gpu_ms: null, wall_ms: 4 }, { gpu_ms: null, wall_ms: 1 }]);
  assert.equal(w, { reps: 4, gpu_ms: null, wall_ms: 3, basis: 'wall', min_ms: 1, median_ms: 3, max_ms: 5 });
});

test('measure: warm-up runs are not timed, every runner gets the same repetitions, interleaved', async () => {
  const order: string[] = [];
  const runner = (name: string, t: number) => async (): Promise<Sample> => {
    order.push(name);
    return { gpu_ms: t, wall_ms: t + 1 };
  };
  const [a, b] = await measure([runner('a', 1), runner('b', 2)], 3, 2);
  assert.equal(order, ['a', 'a', 'b', 'b', 'a', 'b', 'a', 'b', 'a', 'b']);
  assert.is(a.reps, 3);
  assert.is(b.reps, 3);
  assert.is(b.median_ms, 2);
});

test('compare: the speedup (throughput ratio) sits on baseline rows only, never repeated on ours', () => {
  const rows: Row[] = [];
  const ctx = { report: (r: Row) => rows.push(r) } as unknown as Ctx;
  const st = (ms: number) => summarize([{ gpu_ms: ms, wall_ms: ms + 1 }]);
  compare(ctx, { kernel: 'matmul', shape: 's', dtype: 'f32', stats: st(10), work: 100 }, [
    { kernel: 'tfjs', shape: 's', dtype: 'f32', stats: st(25), work: 100 },
    { kernel: 'naive on a quarter', shape: 's/4', dtype: 'f32', stats: st(20), work: 25 },
  ]);
  assert.is(rows.length, 3);
  assert.is(rows[0].role, 'ours');
  assert.is(rows[0].speedup, undefined);
  assert.is(rows[1].role, 'baseline');
  assert.is(rows[1].vs, 'matmul');
  assert.ok(Math.abs(rows[1].speedup! - 2.5) < 1e-12);
  // throughput: ours 10 per ms, the naive run 1.25 per ms
  assert.ok(Math.abs(rows[2].speedup! - 8) < 1e-12);
});

test('npm run bench runs a file that exists', () => {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8'));
  const m = /^node (\S+)$/.exec(pkg.scripts.bench);
  assert.ok(m, `scripts.bench is "${pkg.scripts.bench}"`);
  const target = join(ROOT, m![1]);
  assert.ok(existsSync(target) && (target.endsWith('.js') || existsSync(join(target, 'index.js'))), `${m![1]} does not exist`);
});

test.run();
