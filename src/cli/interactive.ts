// `ahamask cli -c decode_config.yaml [--cpu]`: AHAMask cli_inference.py. Each input line is an audio path and an
// optional prompt ("path prompt words..." or "path<TAB>prompt"; quote paths with spaces). With a mask loaded the
// prompt is forced empty, as the original. Prints the decoded output unmodified (batch_decode, special tokens
// skipped).
import { createInterface } from 'node:readline';
import { generateOptionsFromConfig } from '../models/generate.js';
import { loadFromConfig, loadItemAudio, parseCommonArgs } from './evaluate.js';

const USAGE = `usage: ahamask cli -c decode_config.yaml [--cpu] [--llm-weights fp16|int8|q4]

Interactive SALMONN + AHAMask: type an audio path and optionally a prompt on each line
("path.wav Recognize the speech." or "path<TAB>prompt"; quote a path that has spaces). An empty line or EOF quits.
With model.weight_mask_path set the prompt is ignored (forced empty), as cli_inference.py does.`;

/** Splits an input line into (path, prompt). */
export function parseLine(line: string): { path: string; prompt: string } | null {
  const s = line.trim();
  if (!s) return null;
  if (s.startsWith('"') || s.startsWith("'")) {
    const q = s[0];
    const end = s.indexOf(q, 1);
    if (end > 0) return { path: s.slice(1, end), prompt: s.slice(end + 1).trim() };
  }
  const tab = s.indexOf('\t');
  if (tab >= 0) return { path: s.slice(0, tab).trim(), prompt: s.slice(tab + 1).trim() };
  const sp = s.search(/\s/);
  return sp < 0 ? { path: s, prompt: '' } : { path: s.slice(0, sp), prompt: s.slice(sp + 1).trim() };
}

export async function run(argv: string[]): Promise<number> {
  const args = parseCommonArgs(argv, false);
  if (typeof args === 'string') {
    if (args) console.error(`ahamask cli: ${args}\n`);
    console.error(USAGE);
    return args ? 2 : 0;
  }
  const { cfg, model, cwd } = await loadFromConfig(args.config!, args.cpu, 1, args.llmWeights);
  const masked = model.maskLogits !== null;
  const pct = model.maskPercentOn();
  if (pct !== null) console.error(`${pct.toFixed(4)}% of attention heads will be activated (prompts are ignored)`);
  const gen = generateOptionsFromConfig(cfg.generate);
  const rl = createInterface({ input: process.stdin, terminal: false });
  const tty = process.stdin.isTTY;
  let errors = 0;
  if (tty) process.stderr.write('audio path [prompt]> ');
  try {
    for await (const line of rl) {
      const p = parseLine(line);
      if (!p) break;
      try {
        const wav = await loadItemAudio(cwd, { path: p.path, text: '' });
        const r = await model.generate({ wavs: [wav] }, { prompt: masked ? '' : p.prompt, generate: gen });
        console.log(r.texts[0]);
      } catch (e) {
        errors++;
        console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
      }
      if (tty) process.stderr.write('audio path [prompt]> ');
    }
  } finally {
    rl.close();
    model.dispose();
  }
  return errors ? 1 : 0;
}
