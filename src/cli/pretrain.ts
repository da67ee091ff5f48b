// `ahamask pretrain -c pretrain.yaml`: trains the demo SALMONN from scratch (src/train/pretrain.ts).
import { AhamaskError } from '../errors.js';
import { getDevice } from '../node/gpu.js';
import { readTextFile } from '../node/files.js';
import type { Target } from '../models/weights.js';
import '../autograd/index.js';
import { parsePretrainConfig, Pretrainer } from '../train/pretrain.js';
import { nodeFileSystem } from './evaluate.js';
import { NodeTrainFs } from './train-fs.js';
import { trainTokenizer } from './pretrain-tokenizer.js';

const USAGE = `usage: ahamask pretrain -c pretrain.yaml [options]

  -c, --config FILE   pretraining config (model sizes, data, optimizer, steps, seed, output_dir, run_dir);
                      relative paths resolve against the working directory (run from the repository root)
  --resume            continue exactly from <run_dir>/state.json (f32 weights, AdamW moments, RNG and loader)
  --max-steps N       stop after N steps in total (a checkpoint is written)
  --cpu               CPU reference backend (slow) instead of the GPU
  -q, --quiet         no progress bar`;

interface Args {
  config: string;
  resume: boolean;
  maxSteps?: number;
  cpu: boolean;
  quiet: boolean;
}

function parseArgs(argv: string[]): Args | string {
  const a: Partial<Args> = { resume: false, cpu: false, quiet: false };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === '-c' || s === '--config') {
      a.config = argv[++i];
      if (!a.config) return `${s} needs a file`;
    } else if (s === '--resume') a.resume = true;
    else if (s === '--max-steps') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 0) return `--max-steps needs a non-negative integer, got '${argv[i] ?? ''}'`;
      a.maxSteps = v;
    } else if (s === '--cpu') a.cpu = true;
    else if (s === '-q' || s === '--quiet') a.quiet = true;
    else if (s === '-h' || s === '--help') return 'help';
    else return `unknown option '${s}'`;
  }
  if (!a.config) return 'missing -c pretrain.yaml';
  return a as Args;
}

function fmt(s: number): string {
  if (!Number.isFinite(s)) return '--:--';
  const m = Math.floor(s / 60), r = Math.round(s % 60);
  return `${m}:${String(r).padStart(2, '0')}`;
}

export async function run(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  if (typeof args === 'string') {
    if (args === 'help') {
      console.log(USAGE);
      return 0;
    }
    console.error(`ahamask pretrain: ${args}\n\n${USAGE}`);
    return 2;
  }
  const cwd = process.cwd();
  const cfg = parsePretrainConfig(await readTextFile(args.config), args.config);
  const target: Target = args.cpu ? 'cpu' : await getDevice();
  const tty = process.stderr.isTTY && !args.quiet;
  const info = (m: string): void => void process.stderr.write(`${tty ? '\r' : ''}${m}\n`);
  let lastDraw = 0;
  const t0 = Date.now();
  const pt = new Pretrainer({
    cfg, dir: nodeFileSystem(cwd), fs: new NodeTrainFs(), target, resume: args.resume, maxSteps: args.maxSteps,
    trainTokenizer, info, warn: (m) => void process.stderr.write(`warning: ${m}\n`),
    onProgress: (p) => {
      if (args.quiet) return;
      const w = 24, fill = Math.round((p.step / p.steps) * w);
      const line = `pretrain [${'#'.repeat(fill)}${'.'.repeat(w - fill)}] ${p.step}/${p.steps} loss ${p.loss.toFixed(4)} lr ${p.lr.toExponential(2)} ${(1 / Math.max(p.rate, 1e-9)).toFixed(2)} s/step eta ${fmt(p.etaS)}`;
      const now = Date.now();
      if (tty) {
        if (now - lastDraw > 200 || p.step === p.steps) process.stderr.write(`\r${line.padEnd(100)}`);
        lastDraw = now;
      } else if (p.step % 10 === 0 || p.step === p.steps) process.stderr.write(`${line}\n`);
    },
  });
  try {
    await pt.setup();
    const r = await pt.train();
    if (tty) process.stderr.write('\n');
    info(`done: ${r.steps} steps, mean loss of the last ${Math.min(50, r.losses.length)} steps ${r.finalLoss.toFixed(4)}, ` +
      `training time ${(r.seconds / 60).toFixed(1)} min in total (this run ${((Date.now() - t0) / 60000).toFixed(1)} min)`);
    return 0;
  } catch (e) {
    if (e instanceof AhamaskError) throw e;
    throw e;
  } finally {
    pt.dispose();
  }
}
