#!/usr/bin/env node
// `ahamask <command>`: each command lives in its own module (loaded only when asked for) that exports
// `spec: CommandSpec` (flags and help, src/cli/args.ts) and `run(argv)`. Adding a command = one line in COMMANDS.
import { readFileSync } from 'node:fs';
import { relayStderr } from './stderr.js';

interface Entry {
  file: string;
  summary: string;
  /** Opens the GPU: Dawn's native limit warnings are filtered from its stderr. */
  gpu?: boolean;
}

const COMMANDS: Record<string, Entry> = {
  demo: { file: './demo.js', summary: 'the demo SALMONN on held-out clips: each task with its instruction, with its AHAMask alone, with neither (npm start)', gpu: true },
  doctor: { file: './doctor.js', summary: 'the WebGPU adapter, its features and limits, and a self-test', gpu: true },
  mask: { file: './mask.js', summary: 'mask show <checkpoint.pth>: which heads a mask keeps (table, --json, --svg)' },
  tokenize: { file: './tokenize.js', summary: 'SentencePiece pieces and ids of a text (or --decode ids)' },
  evaluate: { file: './evaluate.js', summary: 'SALMONN + AHAMask over a data set (evaluate.py, decode_config.yaml)', gpu: true },
  cli: { file: './interactive.js', summary: 'interactive SALMONN + AHAMask (cli_inference.py)', gpu: true },
  train: { file: './train.js', summary: 'train an AHAMask (train.py, config.yaml)', gpu: true },
  estimate: { file: './estimate.js', summary: 'computed GPU/host memory for fp16, int8 and q4 LLM weights (-c config.yaml)' },
  kernels: { file: './kernels.js', summary: 'compile the kernel catalog; list (or --out write) every WGSL pipeline', gpu: true },
  pretrain: { file: './pretrain.js', summary: 'train the demo SALMONN from scratch (-c checkpoints/demo/pretrain.yaml)', gpu: true },
  'demo-data': { file: './demo-data.js', summary: "the demo SALMONN's procedural data set (--out DIR --n N --seed S)" },
};

/** Registers a command (for commands added by other modules; the table above is the usual place). */
export function addCommand(name: string, entry: Entry): void {
  COMMANDS[name] = entry;
}

function version(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return 'unknown';
  }
}

function usage(): string {
  const w = Math.max(...Object.keys(COMMANDS).map((k) => k.length)) + 2;
  return [
    `ahamask ${version()}: SALMONN + AHAMask on a WebGPU tensor engine`,
    '',
    'usage: ahamask <command> [options]',
    '',
    'commands:',
    ...Object.entries(COMMANDS).map(([k, v]) => `  ${k.padEnd(w)}${v.summary}`),
    `  ${'help'.padEnd(w)}help [command]: this list, or a command's options`,
    '',
    "'ahamask <command> --help' lists a command's options; '--version' prints the version.",
    'Environment: AHAMASK_DEBUG=1 prints stack traces and every Dawn message; XDG_RUNTIME_DIR (default /tmp) for Dawn.',
  ].join('\n');
}

interface CommandModule {
  run(args: string[]): Promise<number>;
}

async function load(cmd: string, entry: Entry): Promise<CommandModule | null> {
  try {
    return (await import(entry.file)) as CommandModule;
  } catch (e) {
    if ((e as { code?: string }).code === 'ERR_MODULE_NOT_FOUND' && String(e).includes(entry.file.slice(2, -3))) {
      console.error(`ahamask: command '${cmd}' is not available in this build`);
      return null;
    }
    throw e;
  }
}

function closestCommand(cmd: string): string | undefined {
  const names = [...Object.keys(COMMANDS), 'help'];
  return names.find((n) => n.startsWith(cmd) && cmd.length >= 2) ?? names.find((n) => lev(n, cmd) <= 2);
}

function lev(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let p = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, p + (a[i - 1] === b[j - 1] ? 0 : 1));
      p = t;
    }
  }
  return d[b.length];
}

export async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  if (!cmd) {
    console.error(usage());
    return 1;
  }
  if (cmd === '-h' || cmd === '--help') {
    console.log(usage());
    return 0;
  }
  if (cmd === '--version' || cmd === '-V' || cmd === 'version') {
    console.log(version());
    return 0;
  }
  if (cmd === 'help') {
    if (!rest.length) {
      console.log(usage());
      return 0;
    }
    return main([...rest, '--help']);
  }
  const entry = Object.hasOwn(COMMANDS, cmd) ? COMMANDS[cmd] : undefined;
  if (!entry) {
    const hint = cmd.startsWith('-') ? undefined : closestCommand(cmd);
    console.error(`ahamask: unknown ${cmd.startsWith('-') ? 'option' : 'command'} '${cmd}'${hint ? `; did you mean '${hint}'?` : ''}\n\n${usage()}`);
    return 2;
  }
  const mod = await load(cmd, entry);
  if (!mod) return 2;
  return mod.run(rest);
}

function fail(e: unknown): never {
  console.error(`ahamask: ${e instanceof Error ? e.message : String(e)}`);
  if (process.env.AHAMASK_DEBUG) console.error(e);
  process.exit(1);
}

const argv = process.argv.slice(2);
const entry = argv[0] && Object.hasOwn(COMMANDS, argv[0]) ? COMMANDS[argv[0]] : undefined;
const wantsHelp = argv.includes('--help') || argv.includes('-h');
// GPU commands run in a child whose stderr is filtered (Dawn prints two limit warnings from native code).
const relayed = entry?.gpu && !wantsHelp ? await relayStderr().catch(fail) : null;
if (relayed !== null) process.exit(relayed);
main(argv).then((code) => process.exit(code), fail);
