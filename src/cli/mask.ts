// `ahamask mask show <checkpoint.pth> [--json] [--svg out.svg] [--layers L --heads H]`
import { ShapeError } from '../errors.js';
import { closest, helpText, runCommand, usageError, UsageError, type CommandSpec, type FlagValues } from './args.js';
import { evaluatePyPercentOn, maskSummary, type MaskSummary } from '../io/mask.js';
import { readMaskCheckpointFile, writeFileAtomic } from '../node/files.js';
import { maskHeatmapSvg } from '../train/heatmap.js';

export const spec: CommandSpec = {
  name: 'mask show',
  args: '<checkpoint.pth>',
  summary: 'which heads an AHAMask checkpoint keeps',
  description: "Shows which attention heads an AHAMask checkpoint keeps (head on <=> logit >= 0) as a table, JSON or an SVG heatmap.",
  flags: [
    { name: 'json', help: 'print {"n_layers","n_heads","heads_on","per_layer_on","head_on","ffn","logits"}' },
    { name: 'svg', value: 'FILE', help: 'also write a layers x heads heatmap (axis titles, colour legend)' },
    { name: 'layers', value: 'L', int: true, help: 'number of LLM layers (needed when the length is not L*(L+1))' },
    { name: 'heads', value: 'H', int: true, help: 'heads per layer (inferred: 1640 -> 40x40, 1056 -> 32x32)' },
  ],
};

/** `ahamask mask` itself: its subcommands. */
export const groupSpec: CommandSpec = { name: 'mask', args: 'show <checkpoint.pth>', summary: 'AHAMask checkpoints', flags: [] };

interface Args {
  file: string;
  json: boolean;
  svg?: string;
  layers?: number;
  heads?: number;
}

function maskArgs(f: FlagValues, rest: string[]): Args {
  if (rest.length !== 1) throw new UsageError(rest.length ? `expected one checkpoint, got ${rest.length}` : 'missing <checkpoint.pth>');
  for (const k of ['layers', 'heads'] as const) if (f[k] === 0) throw new UsageError(`--${k} needs a positive integer`);
  return { file: rest[0], json: !!f.json, svg: f.svg as string | undefined, layers: f.layers as number | undefined, heads: f.heads as number | undefined };
}

export function formatTable(s: MaskSummary, percentEvaluatePy?: number): string {
  const lines: string[] = [];
  const total = s.n_layers * s.n_heads;
  const pad = String(s.n_layers - 1).length;
  lines.push(`${' '.repeat(pad + 2)}${Array.from({ length: s.n_heads }, (_, h) => String(h % 10)).join('')}   on`);
  for (let l = 0; l < s.n_layers; l++) {
    const row = s.head_on[l].map((b) => (b ? '#' : '.')).join('');
    lines.push(`L${String(l).padStart(pad, '0')} ${row}  ${String(s.per_layer_on[l]).padStart(String(s.n_heads).length)}/${s.n_heads}`);
  }
  lines.push('');
  lines.push(`heads on: ${s.heads_on}/${total} (${((100 * s.heads_on) / total).toFixed(2)} %), ${s.n_layers} layers x ${s.n_heads} heads ('#' = on: logit >= 0)`);
  if (percentEvaluatePy !== undefined) lines.push(`evaluate.py would print ${percentEvaluatePy.toFixed(4)} % (it counts the ${s.n_layers} unused FFN slots too)`);
  const f = s.ffn;
  if (f.length) lines.push(`FFN slots (unused): min ${Math.min(...f)}, max ${Math.max(...f)}`);
  return lines.join('\n');
}

/** The mask as an SVG heatmap (the same figure as training's mask_heatmap.svg; title: the file's base name). */
export function maskSvg(s: MaskSummary, file = ''): string {
  return maskHeatmapSvg(s.logits, s.n_layers, s.n_heads, file || 'mask');
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub === undefined || sub === '-h' || sub === '--help') {
    const text = `usage: ahamask mask show [options] <checkpoint.pth>\n\nsubcommands:\n  show    ${spec.summary}\n\n${helpText(spec)}`;
    if (sub === undefined) console.error(text);
    else console.log(text);
    return sub === undefined ? 2 : 0;
  }
  if (sub !== 'show') return usageError(groupSpec, `unknown subcommand '${sub}'${closest(sub, ['show']) ? "; did you mean 'show'?" : ''}`);
  return runCommand(spec, rest, async ({ flags, rest: files }) => show(maskArgs(flags, files)));
}

async function show(a: Args): Promise<number> {
  const ck = await readMaskCheckpointFile(a.file);
  let s: MaskSummary;
  try {
    s = maskSummary(ck.logits, a.layers, a.heads);
  } catch (e) {
    if (!(e instanceof ShapeError)) throw e;
    console.error(`ahamask mask show: ${a.file}: ${e.message}${a.layers === undefined && a.heads === undefined ? ' (use --layers L --heads H)' : ''}`);
    return 1;
  }
  if (a.svg) await writeFileAtomic(a.svg, maskSvg(s, a.file));
  if (a.json) {
    const j = { n_layers: s.n_layers, n_heads: s.n_heads, heads_on: s.heads_on, per_layer_on: s.per_layer_on, head_on: s.head_on, ffn: s.ffn, logits: s.logits };
    await new Promise<void>((res) => process.stdout.write(JSON.stringify(j) + '\n', () => res()));
  } else {
    console.log(`${a.file}: ${ck.logits.length} logits`);
    console.log(formatTable(s, evaluatePyPercentOn(ck.logits)));
    if (a.svg) console.log(`wrote ${a.svg}`);
  }
  return 0;
}
