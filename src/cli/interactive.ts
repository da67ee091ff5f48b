// `ahamask cli -c decode_config.yaml [--cpu]`: AHAMask cli_inference.py. Each input line is an audio path and an
// optional prompt ("path prompt words..." or "path<TAB>prompt"; quote paths with spaces). With a mask loaded the
// prompt is forced empty, as the original. Prints the decoded output unmodified (batch_decode, special tokens
// skipped).
import { createInterface, type Interface } from 'node:readline';
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';
import { generateOptionsFromConfig } from '../models/generate.js';
import { runCommand, type CommandSpec } from './args.js';
import { DECODE_FLAGS, decodeArgs, loadFromConfig, loadItemAudio, type DecodeArgs } from './evaluate.js';

export const spec: CommandSpec = {
  name: 'cli',
  summary: 'interactive SALMONN + AHAMask',
  description: `Interactive SALMONN + AHAMask (cli_inference.py): type an audio path and optionally a prompt on each line
("path.wav Recognize the speech." or "path<TAB>prompt"; quote a path that has spaces). An empty line or EOF quits.
With model.weight_mask_path set the prompt is ignored (forced empty), as cli_inference.py does. On a terminal
the line can be edited, Up/Down recall earlier lines (kept in $AHAMASK_HISTORY, default ~/.ahamask_history), and
each answer is followed by its time.`,
  flags: [...DECODE_FLAGS, { name: 'no-history', help: 'do not read or write the history file' }],
};

const PROMPT = 'audio path [prompt]> ';
const HISTORY_MAX = 500;

function historyFile(): string {
  return process.env.AHAMASK_HISTORY || join(homedir(), '.ahamask_history');
}

function readHistory(file: string): string[] {
  try {
    // readline wants the newest first
    return readFileSync(file, 'utf8').split('\n').filter(Boolean).slice(-HISTORY_MAX).reverse();
  } catch {
    return [];
  }
}

/**
 * Where the prompt goes: a person types only when stdin is a terminal; the prompt then goes to whichever of
 * stdout/stderr is that terminal (stdout first), so `2>log` keeps it visible and `>answers.txt` keeps it out.
 */
export function promptStream<T extends { isTTY?: boolean }>(stdin: { isTTY?: boolean }, stdout: T, stderr: T): T | null {
  if (!stdin.isTTY) return null;
  return stdout.isTTY ? stdout : stderr.isTTY ? stderr : null;
}

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

export function run(argv: string[]): Promise<number> {
  return runCommand(spec, argv, async ({ flags, rest }) => interactive(decodeArgs(flags, rest), !flags.noHistory));
}

async function interactive(args: DecodeArgs, useHistory: boolean): Promise<number> {
  const { cfg, model, cwd } = await loadFromConfig(args.config, { ...args, rows: 1 });
  const masked = model.maskLogits !== null;
  const pct = model.maskPercentOn();
  if (pct !== null) console.error(`${pct.toFixed(4)}% of attention heads will be activated (prompts are ignored)`);
  const gen = generateOptionsFromConfig(cfg.generate);
  // The prompt goes where a person sees it: the terminal on stdout, else the terminal on stderr, else nowhere
  // (answers piped to a file stay clean; a redirected stderr does not swallow the prompt).
  const promptOut = promptStream<NodeJS.WriteStream>(process.stdin, process.stdout, process.stderr);
  const hist = useHistory && promptOut ? historyFile() : null;
  const rl: Interface = createInterface({
    input: process.stdin,
    output: promptOut ?? undefined,
    terminal: !!promptOut,
    history: hist ? readHistory(hist) : [],
    historySize: HISTORY_MAX,
    removeHistoryDuplicates: true,
    prompt: PROMPT,
  });
  let errors = 0;
  const ask = (): void => {
    if (promptOut) rl.prompt();
  };
  ask();
  try {
    for await (const line of rl) {
      const p = parseLine(line);
      if (!p) break;
      if (hist) {
        try {
          mkdirSync(dirname(hist), { recursive: true });
          appendFileSync(hist, `${line.trim()}\n`);
        } catch {
          // history is a convenience: an unwritable file is ignored
        }
      }
      const t0 = performance.now();
      try {
        const wav = await loadItemAudio(cwd, { path: p.path, text: '' });
        const r = await model.generate({ wavs: [wav] }, { prompt: masked ? '' : p.prompt, generate: gen });
        console.log(r.texts[0]);
        const secs = (performance.now() - t0) / 1000;
        const note = `(${secs.toFixed(2)} s, ${r.tokens[0].length} tokens)`;
        if (promptOut) promptOut.write(`${note}\n`);
        else console.error(note);
      } catch (e) {
        errors++;
        console.error(`error: ${e instanceof Error ? e.message : String(e)}`);
      }
      ask();
    }
  } finally {
    rl.close();
    model.dispose();
  }
  return errors ? 1 : 0;
}
