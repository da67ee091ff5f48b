// `ahamask demo` (= `npm start`): the demo SALMONN shipped in checkpoints/demo on its held-out clips, every task
// three ways (instruction / mask with an empty prompt / neither), as a table, examples, where the masks' heads
// are, and demo-out/ (results.json, one SVG heatmap per mask).
import { existsSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { AhamaskError, FormatError } from '../errors.js';
import { loadAudio } from '../io/audio.js';
import { parseDecodeConfig } from '../io/config.js';
import { runDemo, DEMO_WAYS, type DemoClipAudio, type DemoResult, type DemoScore } from '../demo/run.js';
import { DEMO_TASKS, type DemoClip } from '../demo/tasks.js';
import { Salmonn } from '../models/salmonn.js';
import type { Target } from '../models/weights.js';
import { readFileBytes, readMaskCheckpointFile, readTextFile, writeFileAtomic } from '../node/files.js';
import { getDevice } from '../node/gpu.js';
import { trainingHeatmapSvg } from '../train/heatmap.js';
import { nodeFileSystem } from '../node/load.js';
import type { LlmWeightFormat } from '../ops/quant.js';
import { runCommand, type CommandSpec } from './args.js';
import { ProgressBar } from './progress.js';
import '../index.js';

/** The package root (dist/cli or src/cli -> ../..): the default model is found wherever ahamask runs from. */
export const PACKAGE_ROOT = fileURLToPath(new URL('../../', import.meta.url));
export const DEMO_MODEL_DIR = join(PACKAGE_ROOT, 'checkpoints', 'demo');

export const spec: CommandSpec = {
  name: 'demo',
  summary: 'the demo SALMONN on held-out clips: each task with its instruction, with its AHAMask alone, with neither',
  description: `Runs the demo SALMONN (checkpoints/demo) on held-out clips, each task three ways: with its instruction and no
mask; with its AHAMask and an empty prompt; with neither. Prints accuracy (WER for transcription), examples and
where the masks' heads are; writes OUT/results.json and OUT/<task>.svg. \`npm start\` runs it.`,
  flags: [
    { name: 'json', help: 'print the results as one JSON object on one line (nothing else on stdout)' },
    { name: 'data', value: 'DIR', help: 'clips written by `ahamask demo-data --out DIR` instead of the shipped held-out set' },
    { name: 'cpu', help: 'run on the CPU reference backend (no WebGPU adapter needed; slower)' },
    { name: 'out', value: 'DIR', help: 'output folder (default demo-out)' },
    { name: 'limit', value: 'N', int: true, help: 'use the first N clips only' },
    { name: 'model', value: 'DIR', help: 'another demo model folder (decode_config.yaml, prompts/, masks/<task>/checkpoint.pth)' },
    { name: 'llm-weights', value: 'FMT', choices: ['fp16', 'int8', 'q4'], help: "the LLM's linear weights: fp16, int8 (LLM.int8) or q4 (4-bit groups)" },
  ],
};

interface Args {
  json: boolean;
  cpu: boolean;
  data?: string;
  out: string;
  limit?: number;
  model: string;
  llmWeights?: LlmWeightFormat;
}

/** clips.json as `ahamask demo-data` writes it; audio is looked up next to it (DIR/audio/<file>). */
export async function readClips(dir: string, limit?: number): Promise<DemoClipAudio[]> {
  const file = join(dir, 'clips.json');
  if (!existsSync(file)) throw new FormatError(file, 'not found (write clips with `ahamask demo-data --out DIR`)');
  let json: { clips?: unknown };
  try {
    json = JSON.parse(await readTextFile(file));
  } catch (e) {
    if (e instanceof AhamaskError) throw e;
    throw new FormatError(file, `invalid JSON: ${(e as Error).message}`);
  }
  if (!Array.isArray(json.clips)) throw new FormatError(file, 'expected {"clips": [...]}');
  const clips = (json.clips as DemoClip[]).slice(0, limit ?? Infinity);
  const out: DemoClipAudio[] = [];
  for (const [i, c] of clips.entries()) {
    if (!c || typeof c.path !== 'string') throw new FormatError(file, `clips[${i}].path is not a string`);
    const p = join(dir, 'audio', basename(c.path));
    out.push({ clip: c, wav: await loadAudio(await readFileBytes(p), p) });
  }
  return out;
}

/** The model's masks by task (masks/<task>/checkpoint.pth; a task without one is run two ways). */
export async function readMasks(modelDir: string): Promise<Map<string, Float32Array>> {
  const masks = new Map<string, Float32Array>();
  for (const t of DEMO_TASKS) {
    const f = join(modelDir, 'masks', t.name, 'checkpoint.pth');
    if (existsSync(f)) masks.set(t.name, (await readMaskCheckpointFile(f)).logits);
  }
  return masks;
}

const TAG = /^\s*<Speech><SpeechHere><\/Speech>\s*/;

/**
 * The instruction each task runs with: the first of the model's training instructions (prompts/train_prompt.json).
 * A model this small follows the paraphrases it was trained on, not unseen ones (test_prompt.json holds held-out
 * paraphrases; the instruction way measures the task, not paraphrase generalisation).
 */
async function readInstructions(modelDir: string): Promise<Map<string, string>> {
  const m = new Map<string, string>();
  const file = join(modelDir, 'prompts', 'train_prompt.json');
  if (!existsSync(file)) return m;
  let json: Record<string, unknown>;
  try {
    json = JSON.parse(await readTextFile(file));
  } catch (e) {
    throw new FormatError(file, `invalid JSON: ${(e as Error).message}`);
  }
  for (const [k, v] of Object.entries(json)) {
    const s = Array.isArray(v) ? v[0] : v;
    if (typeof s !== 'string') throw new FormatError(file, `${k}: expected a list of instruction strings`);
    m.set(k, s.replace(TAG, ''));
  }
  return m;
}

const pct = (x: number): string => `${(100 * x).toFixed(1)} %`;

function cell(metric: 'accuracy' | 'wer', s: DemoScore | null): string {
  if (!s) return '—';
  return metric === 'wer' ? `${pct(s.wer ?? NaN)} WER` : pct(s.accuracy);
}

/** The human-readable report (stdout without --json). */
export function formatDemoReport(r: DemoResult, info: { model: string; backend: string; seconds: number }): string {
  const lines: string[] = [];
  lines.push(`AHAMask demo: a head mask alone replaces the instruction`);
  lines.push(`model ${info.model}: LLM ${r.nLayers} layers x ${r.nHeads} heads = ${r.nLayers * r.nHeads} heads; ${r.clips} held-out clips; ${info.backend}`);
  lines.push('');
  const w = [12, 20, 24, 14];
  const row = (c: string[]): string => c.map((x, i) => x.padEnd(w[i])).join('  ').trimEnd();
  lines.push(row(['task', 'instruction, no mask', 'mask, empty prompt', 'neither']));
  lines.push(row(w.map((n) => '-'.repeat(n))));
  for (const t of r.tasks) lines.push(row([t.name, cell(t.metric, t.instruction), cell(t.metric, t.mask), cell(t.metric, t.none)]));
  lines.push('accuracy = exact match after lowercasing and trimming; WER = word edit distance / reference words');
  lines.push('');
  const ex = Math.min(2, r.clips);
  for (let i = 0; i < ex; i++) {
    const id = r.tasks[0]?.outputs[i]?.id;
    lines.push(`clip ${id}:`);
    for (const t of r.tasks) {
      const o = t.outputs[i];
      const q = (s: string | null): string => (s === null ? '—' : JSON.stringify(s));
      lines.push(`  ${t.name.padEnd(11)} want ${q(o.reference)}; instruction ${q(o.instruction)}; mask ${q(o.mask)}; neither ${q(o.none)}`);
    }
  }
  if (r.masks.length) {
    lines.push('');
    lines.push(`heads kept per layer (of ${r.nHeads}):`);
    const lw = Math.max(...r.masks.map((m) => m.task.length), 4);
    lines.push(`${'mask'.padEnd(lw)}  ${Array.from({ length: r.nLayers }, (_, l) => `L${l}`.padStart(3)).join(' ')}  total`);
    for (const m of r.masks) lines.push(`${m.task.padEnd(lw)}  ${m.perLayer.map((n) => String(n).padStart(3)).join(' ')}  ${m.headsOn}/${r.nLayers * r.nHeads}`);
    lines.push('');
    lines.push('overlap of kept heads between masks (Jaccard):');
    lines.push(`${''.padEnd(lw)}  ${r.masks.map((m) => m.task.slice(0, 10).padStart(10)).join(' ')}`);
    r.masks.forEach((m, i) => lines.push(`${m.task.padEnd(lw)}  ${r.overlap[i].map((x) => x.toFixed(2).padStart(10)).join(' ')}`));
  }
  lines.push('');
  lines.push(`${info.seconds.toFixed(1)} s (speech encoding ${r.seconds.encode.toFixed(1)} s, generation ${r.seconds.generate.toFixed(1)} s)`);
  return lines.join('\n');
}

/** results.json / --json: the documented keys first. */
export function demoJson(r: DemoResult, info: { model: string; backend: string; seconds: number }): unknown {
  return {
    tasks: r.tasks.map((t) => ({ name: t.name, metric: t.metric, instruction: t.instruction, mask: t.mask, none: t.none, heads_on: t.headsOn, outputs: t.outputs })),
    ways: DEMO_WAYS,
    masks: r.masks.map((m) => ({ task: m.task, heads_on: m.headsOn, per_layer_on: m.perLayer })),
    overlap: r.overlap,
    clips: r.clips,
    n_layers: r.nLayers,
    n_heads: r.nHeads,
    model: info.model,
    backend: info.backend,
    seconds: { total: info.seconds, ...r.seconds },
  };
}

export function run(argv: string[]): Promise<number> {
  return runCommand(spec, argv, async ({ flags }) => {
    const limit = flags.limit === undefined ? undefined : Number(flags.limit);
    if (limit !== undefined && !(limit >= 1)) throw new AhamaskError('--limit needs a positive integer');
    return demo({
      json: !!flags.json, cpu: !!flags.cpu, data: flags.data as string | undefined, out: (flags.out as string | undefined) ?? 'demo-out', limit,
      model: flags.model ? resolve(flags.model as string) : DEMO_MODEL_DIR, llmWeights: flags.llmWeights as LlmWeightFormat | undefined,
    });
  });
}

async function demo(args: Args): Promise<number> {
  const t0 = performance.now();
  const cfgFile = join(args.model, 'decode_config.yaml');
  if (!existsSync(cfgFile)) throw new FormatError(cfgFile, 'not found: the demo model is missing (checkpoints/demo)');
  // the demo config's paths are relative to the package root (checkpoints/demo/...), like the original scripts'
  // paths relative to the directory they run in
  const root = args.model === DEMO_MODEL_DIR ? PACKAGE_ROOT : process.cwd();
  const cfg = parseDecodeConfig(await readTextFile(cfgFile), { file: cfgFile, cwd: root });
  let target: Target = 'cpu';
  let backend = 'CPU reference backend (--cpu)';
  if (!args.cpu) {
    try {
      const dev = await getDevice();
      target = dev;
      const i = dev.adapterInfo;
      backend = `WebGPU: ${[i?.vendor, i?.architecture, i?.description].filter(Boolean).join(' ') || 'adapter'}`;
    } catch (e) {
      throw new AhamaskError(`no WebGPU adapter (${(e as Error).message}); run \`ahamask demo --cpu\` to use the CPU backend`);
    }
  }
  const quiet = args.json;
  const bar = quiet ? null : new ProgressBar('loading');
  const model = await Salmonn.load({
    model: cfg.model, fs: nodeFileSystem(root), target, probThreshold: cfg.prob_threshold, cwd: root, mask: null, llmWeights: args.llmWeights,
    onProgress: (p) => p.status === 'progress' && bar?.update(p.overall, 100, p.stage ?? ''),
  });
  bar?.done();
  try {
    const dataDir = args.data ? resolve(args.data) : join(args.model, 'data', 'test');
    const clips = await readClips(dataDir, args.limit);
    const masks = await readMasks(args.model);
    const run = quiet ? null : new ProgressBar('running');
    const r = await runDemo(model, clips, {
      masks, instructions: await readInstructions(args.model), generate: { maxNewTokens: cfg.generate?.max_new_tokens ?? 16 },
      onProgress: (d, n, note) => run?.update(d, n, note),
    });
    run?.done();
    const info = { model: args.model === DEMO_MODEL_DIR ? 'checkpoints/demo' : args.model, backend, seconds: (performance.now() - t0) / 1000 };
    const json = demoJson(r, info);
    const out = resolve(args.out);
    await writeFileAtomic(join(out, 'results.json'), JSON.stringify(json, null, 2) + '\n');
    for (const m of r.masks) await writeFileAtomic(join(out, `${m.task}.svg`), trainingHeatmapSvg(m.logits, r.nLayers, r.nHeads, { title: `${m.task} mask` }));
    if (args.json) console.log(JSON.stringify(json));
    else {
      console.log(formatDemoReport(r, info));
      console.log(`wrote ${join(args.out, 'results.json')} and ${r.masks.length} mask heatmap(s) in ${args.out}/`);
    }
    return 0;
  } finally {
    model.dispose();
  }
}
