// `ahamask mask show <checkpoint.pth> [--json] [--svg out.svg] [--layers L --heads H]`
import { ShapeError } from '../errors.js';
import { evaluatePyPercentOn, maskSummary, type MaskSummary } from '../io/mask.js';
import { readMaskCheckpointFile, writeFileAtomic } from '../node/files.js';

const USAGE = `usage: ahamask mask show <checkpoint.pth> [--json] [--svg out.svg] [--layers L --heads H]

  Shows which attention heads an AHAMask checkpoint keeps (head on <=> logit >= 0).
  --json          print {"n_layers","n_heads","heads_on","per_layer_on","head_on","ffn","logits"}
  --svg FILE      also write a layers x heads heatmap
  --layers L      number of LLM layers  } needed when the length is not L*(L+1)
  --heads H       heads per layer       } (inferred: 1640 -> 40x40, 1056 -> 32x32)`;

interface Args {
  file: string;
  json: boolean;
  svg?: string;
  layers?: number;
  heads?: number;
}

function parseArgs(args: string[]): Args | string {
  const rest: string[] = [];
  const out: Partial<Args> = { json: false };
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const val = (): string | undefined => args[++i];
    if (a === '--json') out.json = true;
    else if (a === '--svg') {
      const v = val();
      if (!v) return '--svg needs a file name';
      out.svg = v;
    } else if (a === '--layers' || a === '--heads') {
      const v = val();
      const n = Number(v);
      if (!v || !Number.isInteger(n) || n < 1) return `${a} needs a positive integer`;
      if (a === '--layers') out.layers = n;
      else out.heads = n;
    } else if (a === '-h' || a === '--help') return '';
    else if (a.startsWith('-')) return `unknown option ${a}`;
    else rest.push(a);
  }
  if (rest.length !== 1) return rest.length ? `expected one checkpoint, got ${rest.length}` : 'missing <checkpoint.pth>';
  out.file = rest[0];
  return out as Args;
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

function color(logit: number): string {
  // diverging: off (logit < 0) red, on (logit >= 0) green; intensity by |logit| (saturates at 12)
  const t = Math.min(1, Math.abs(logit) / 12);
  const mix = (a: number, b: number): number => Math.round(a + (b - a) * (0.25 + 0.75 * t));
  return logit >= 0 ? `rgb(${mix(235, 26)},${mix(245, 150)},${mix(235, 65)})` : `rgb(${mix(250, 215)},${mix(235, 48)},${mix(235, 39)})`;
}

export function maskSvg(s: MaskSummary, title = ''): string {
  const c = 12, left = 44, top = 40, H = s.n_heads, L = s.n_layers;
  const width = left + (H + 1) * c + 60, height = top + L * c + 30;
  const esc = (x: string): string => x.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="9">`,
    `<rect width="100%" height="100%" fill="white"/>`,
    `<text x="${left}" y="14" font-size="11">${esc(title)} ${s.heads_on}/${L * H} heads on (${((100 * s.heads_on) / (L * H)).toFixed(1)} %)</text>`,
  ];
  for (let h = 0; h < H; h += 5) out.push(`<text x="${left + h * c + c / 2}" y="${top - 4}" text-anchor="middle">${h}</text>`);
  out.push(`<text x="${left + H * c + c / 2}" y="${top - 4}" text-anchor="middle">ffn</text>`);
  for (let l = 0; l < L; l++) {
    const y = top + l * c;
    out.push(`<text x="${left - 4}" y="${y + c - 3}" text-anchor="end">L${l}</text>`);
    for (let h = 0; h <= H; h++) {
      const v = s.logits[l * (H + 1) + h];
      const fill = h === H ? '#ddd' : color(v);
      out.push(`<rect x="${left + h * c}" y="${y}" width="${c - 1}" height="${c - 1}" fill="${fill}"><title>layer ${l} ${h === H ? 'ffn slot' : `head ${h}`}: logit ${v}</title></rect>`);
    }
    out.push(`<text x="${left + (H + 1) * c + 4}" y="${y + c - 3}">${s.per_layer_on[l]}</text>`);
  }
  out.push('</svg>');
  return out.join('\n') + '\n';
}

export async function run(args: string[]): Promise<number> {
  const [sub, ...rest] = args;
  if (sub !== 'show') {
    console.error(sub === undefined || sub === '-h' || sub === '--help' ? USAGE : `ahamask mask: unknown subcommand '${sub}'\n\n${USAGE}`);
    return sub === '-h' || sub === '--help' ? 0 : 2;
  }
  const a = parseArgs(rest);
  if (typeof a === 'string') {
    if (a === '') {
      console.log(USAGE);
      return 0;
    }
    console.error(`ahamask mask show: ${a}\n\n${USAGE}`);
    return 2;
  }
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
