// The demo (`npm start` = `ahamask demo`, issue 11: it must end within 60 s on the 2-core lavapipe machine):
// loading checkpoints/demo, encoding the shipped held-out clips, the 6 tasks x 3 ways of generation, and the whole
// command as a user runs it (a child process, cold). Baseline: the same demo work on the CPU reference backend,
// on a few clips (--quick: 2), scaled per clip.
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEMO_MODEL_DIR, PACKAGE_ROOT, readClips, readMasks } from '../src/cli/demo.js';
import { nodeFileSystem } from '../src/node/load.js';
import { runDemo } from '../src/demo/run.js';
import { parseDecodeConfig } from '../src/io/config.js';
import { Salmonn } from '../src/models/salmonn.js';
import type { Target } from '../src/models/weights.js';
import { Ctx, compare, once, timeHost } from './harness.js';

const ROOT = fileURLToPath(new URL('..', import.meta.url));

async function load(target: Target): Promise<Salmonn> {
  const cfg = parseDecodeConfig(readFileSync(join(DEMO_MODEL_DIR, 'decode_config.yaml'), 'utf8'), { file: 'decode_config.yaml', cwd: PACKAGE_ROOT });
  return Salmonn.load({ model: cfg.model, fs: nodeFileSystem(PACKAGE_ROOT), target, cwd: PACKAGE_ROOT, mask: null, warn: () => {} });
}

export async function run(ctx: Ctx): Promise<void> {
  if (!existsSync(join(DEMO_MODEL_DIR, 'decode_config.yaml'))) {
    process.stderr.write('bench demo: checkpoints/demo has no model\n');
    return;
  }
  const t0 = performance.now();
  const model = await load(ctx.dev);
  ctx.report({ kernel: 'demo: Salmonn.load', shape: 'checkpoints/demo', dtype: 'keep', ...once(performance.now() - t0), note: 'one warm-cache run' });
  const cs = await readClips(join(DEMO_MODEL_DIR, 'data', 'test'), ctx.quick ? 8 : 40);
  const ms = await readMasks(DEMO_MODEL_DIR);
  ctx.progress('demo: 6 tasks x 3 ways');
  const reps = ctx.quick ? 1 : 3;
  const ours = await timeHost(() => runDemo(model, cs, { masks: ms }), reps, ctx.quick ? 0 : 1);
  model.dispose();
  const nCpu = ctx.quick ? 2 : 4;
  const cpu = await load('cpu');
  const cpuClips = cs.slice(0, nCpu);
  ctx.progress('demo: CPU reference backend');
  const base = await timeHost(() => runDemo(cpu, cpuClips, { masks: ms }), 1, 0);
  cpu.dispose();
  const shape = `${cs.length} clips x 6 tasks x 3 ways`;
  compare(ctx, { kernel: 'demo: encode + generate (GPU)', shape, dtype: 'f16 LLM', stats: ours, work: cs.length },
    [{ kernel: 'CPU reference backend', shape: `${nCpu} clips, per clip`, dtype: 'f16 LLM', stats: base, work: nCpu }]);
  // the command as a user runs it: a cold process, compiled CLI when built (npm start), else through tsx
  const dist = join(ROOT, 'dist', 'cli', 'main.js');
  const argv = existsSync(dist) ? [dist, 'demo', '--json', '--out', join(ROOT, 'bench', 'out', 'demo')] : ['--import', 'tsx', join(ROOT, 'src', 'cli', 'main.ts'), 'demo', '--json', '--out', join(ROOT, 'bench', 'out', 'demo')];
  ctx.progress('demo: ahamask demo (child process)');
  const s0 = performance.now();
  const r = spawnSync(process.execPath, argv, { encoding: 'utf8', env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' } });
  const wall = performance.now() - s0;
  if (r.status !== 0) {
    // a failed run has no time worth a row (a stale dist/ without the demo command, a missing model)
    process.stderr.write(`bench demo: ahamask demo exited with ${r.status}: ${(r.stderr || r.stdout).slice(-400)}\n`);
    return;
  }
  ctx.report({ kernel: 'ahamask demo (npm start)', shape: '40 clips, cold process', dtype: 'f16 LLM', ...once(wall), note: `target < 60 s; ${existsSync(dist) ? 'dist' : 'tsx'}` });
}
