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
if (unknown.length) {
  console.error(`unknown bench suite(s): ${unknown.join(', ')}; known: ${SUITES.join(', ')}`);
  process.exit(2);
}

const rows: Row[] = [];
const dev = await getDevice();
const ctx: Ctx = {
  dev,
  quick,
  json,
  report(row) {
    rows.push(row);
    if (json) console.log(JSON.stringify(row));
  },
};
if (!json) console.log(`adapter: ${dev.adapterInfo.vendor} ${dev.adapterInfo.architecture} ${dev.adapterInfo.description}`.trim());
for (const s of wanted.length ? wanted : SUITES) {
  const file = fileURLToPath(new URL(`./${s}.ts`, import.meta.url));
  if (!existsSync(file)) {
    if (wanted.length) console.error(`bench suite '${s}' is not implemented yet`);
    continue;
  }
  const mod = (await import(`./${s}.ts`)) as { run(ctx: Ctx): Promise<void> };
  await mod.run(ctx);
}
if (!json) {
  const fmt = (v: number | null | undefined, d = 3) => (v === null || v === undefined ? '-' : v.toFixed(d));
  const head = ['kernel', 'shape', 'dtype', 'gpu_ms', 'wall_ms', 'GFLOP/s', 'GB/s', 'vs baseline', 'ratio'];
  const table = rows.map((r) => [r.kernel, r.shape, r.dtype, fmt(r.gpu_ms), fmt(r.wall_ms), fmt(r.gflops, 2), fmt(r.gbps, 2), r.baseline ?? '', fmt(r.ratio, 2)]);
  const w = head.map((h, i) => Math.max(h.length, ...table.map((r) => r[i].length)));
  console.log(head.map((h, i) => h.padEnd(w[i])).join('  '));
  for (const r of table) console.log(r.map((c, i) => c.padEnd(w[i])).join('  '));
}
process.exit(0);
