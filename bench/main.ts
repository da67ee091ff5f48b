import { getDevice } from '../src/node/gpu.js';
import '../src/index.js';
import type { Ctx, Row } from './harness.js';
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const SUITES = ['elementwise', 'matmul', 'reduce', 'attention', 'conv', 'salmonn', 'train', 'quant'];
const args = process.argv.slice(2);
const json = args.includes('--json');
const quick = args.includes('--quick');
const wanted = args.filter((a) => !a.startsWith('--'));
const unknown = wanted.filter((w) => !SUITES.includes(w));
const badFlags = args.filter((a) => a.startsWith('--') && a !== '--json' && a !== '--quick');
if (unknown.length || badFlags.length) {
  console.error(`${unknown.length ? `unknown bench suite(s): ${unknown.join(', ')}` : `unknown flag(s): ${badFlags.join(', ')}`}; usage: node bench [${SUITES.join('|')} ...] [--json] [--quick]`);
  process.exit(2);
}

// Progress goes to stderr on one line that is cleared before any other output, and only on a terminal; the
// table is written in one piece at the end, so nothing lands inside it.
const tty = process.stderr.isTTY === true;
let progressShown = false;
const clearProgress = () => {
  if (progressShown) process.stderr.write('\r\x1b[K');
  progressShown = false;
};

const rows: Row[] = [];
const dev = await getDevice();
const ctx: Ctx = {
  dev,
  quick,
  json,
  report(row) {
    rows.push(row);
    if (json) {
      clearProgress();
      process.stdout.write(JSON.stringify(row) + '\n');
    }
  },
  progress(text) {
    if (!tty) return;
    process.stderr.write(`\r\x1b[K${text.slice(0, (process.stderr.columns || 100) - 1)}`);
    progressShown = true;
  },
};
for (const s of wanted.length ? wanted : SUITES) {
  const file = fileURLToPath(new URL(`./${s}.ts`, import.meta.url));
  if (!existsSync(file)) {
    if (wanted.length) console.error(`bench suite '${s}' is not implemented yet`);
    continue;
  }
  ctx.progress(`bench ${s}${quick ? ' --quick' : ''}: running`);
  const mod = (await import(`./${s}.ts`)) as { run(ctx: Ctx): Promise<void> };
  await mod.run(ctx);
}
clearProgress();
if (!json) process.stdout.write(table(rows));
process.exit(0);

function table(rows: Row[]): string {
  const f = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '-' : v >= 1000 ? v.toFixed(0) : v >= 100 ? v.toFixed(1) : v >= 10 ? v.toFixed(Math.min(d, 2)) : v.toFixed(d));
  const head = ['kernel', 'shape', 'dtype', 'reps', 'time ms min / median / max', 'gpu ms', 'wall ms', 'GFLOP/s', 'GB/s', 'speedup', 'note'];
  const body = rows.map((r) => [
    r.role === 'baseline' ? `  vs ${r.kernel}` : r.kernel,
    r.shape,
    r.dtype,
    String(r.reps),
    `${f(r.min_ms)} / ${f(r.median_ms)} / ${f(r.max_ms)}${r.basis === 'wall' ? ' (wall)' : ''}`,
    f(r.gpu_ms),
    f(r.wall_ms),
    f(r.gflops, 2),
    f(r.gbps, 2),
    r.role === 'baseline' && r.speedup !== undefined ? `${r.speedup.toFixed(2)}x` : '',
    r.note ?? '',
  ]);
  const w = head.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(w[i]))).join('  ').trimEnd();
  const info = dev.adapterInfo;
  return [
    `adapter: ${`${info.vendor} ${info.architecture} ${info.description}`.trim()}${quick ? '  (--quick shapes)' : ''}`,
    'time: per repetition, GPU timestamp time where the adapter has timestamp queries, else wall time ("(wall)");',
    '      gpu ms and wall ms are medians, both measured around the same run, so gpu <= wall.',
    'speedup (on "vs" rows): our throughput / that baseline\'s throughput, from median times (for the same work:',
    '      baseline time / our time); > 1 means ours is faster. Baselines are warmed and repeated like ours.',
    '',
    line(head),
    ...body.map(line),
    '',
  ].join('\n');
}
