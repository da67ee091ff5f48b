// One flag parser and help formatter for every command: a command declares its flags once (name, value
// placeholder, help line) and gets `--help`, unknown-flag errors with the closest suggestion, `--flag=value`,
// and the LAVIS `--options key=value ...` overrides for free.

/** A flag. `value` names its argument (absent: a boolean switch). */
export interface Flag {
  /** Long name without dashes ('cfg-path'); the parsed value is stored under its camelCase form (cfgPath). */
  name: string;
  /** Other spellings, with dashes ('-c', '--config'). */
  aliases?: string[];
  /** Placeholder of the value ('FILE'); absent: a switch. */
  value?: string;
  /** The value may be left out (`--resume [CKPT]`): then the flag is `true`. */
  optionalValue?: boolean;
  /** Every following `key=value` argument (LAVIS `--options`, nargs='+'). */
  list?: boolean;
  /** Value must be a non-negative integer. */
  int?: boolean;
  /** Allowed values. */
  choices?: string[];
  help: string;
}

export interface CommandSpec {
  /** 'evaluate', or 'mask show' for a subcommand. */
  name: string;
  /** Argument synopsis after the flags ('<checkpoint.pth>'). */
  args?: string;
  /** One line for `ahamask help`. */
  summary: string;
  /** Paragraph(s) printed under the usage line. */
  description?: string;
  flags: Flag[];
  /** Extra text after the flag list (examples, notes). */
  epilog?: string;
}

/** A usage problem: printed as one line plus a pointer to --help, exit status 2. */
export class UsageError extends Error {}

export type FlagValues = Record<string, string | boolean | string[] | number | undefined>;

export interface ParsedArgs {
  flags: FlagValues;
  /** Positional arguments (everything after `--` included). */
  rest: string[];
  help: boolean;
}

/** The flags every command that reads a YAML config shares (LAVIS-style overrides). */
export const OPTIONS_FLAG: Flag = {
  name: 'options', value: 'KEY=VALUE ...', list: true,
  help: 'override config entries, as evaluate.py/train.py --options: dotted keys into the YAML, values parsed as YAML (model.ckpt=x.pth generate.num_beams=1)',
};

const HELP_FLAG: Flag = { name: 'help', aliases: ['-h'], help: 'show this help' };

const camel = (s: string): string => s.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

function spellings(f: Flag): string[] {
  return [`--${f.name}`, ...(f.aliases ?? [])];
}

/** 'a', 'a or b', 'a, b or c'. */
function orList(xs: string[]): string {
  return xs.length <= 2 ? xs.join(' or ') : `${xs.slice(0, -1).join(', ')} or ${xs[xs.length - 1]}`;
}

/** Levenshtein distance (small strings). */
export function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

/** The closest candidate, when close enough to be a plausible typo. */
export function closest(word: string, candidates: string[]): string | undefined {
  let best: string | undefined;
  let bestD = Infinity;
  for (const c of candidates) {
    const d = c.startsWith(word) && word.length >= 3 ? 0.5 : editDistance(word, c);
    if (d < bestD) {
      bestD = d;
      best = c;
    }
  }
  return best !== undefined && bestD <= Math.max(2, Math.floor(word.length / 3)) ? best : undefined;
}

export function parseArgs(spec: CommandSpec, argv: string[]): ParsedArgs {
  const flags: FlagValues = {};
  const rest: string[] = [];
  const all = [...spec.flags, HELP_FLAG];
  const byName = new Map<string, Flag>();
  for (const f of all) for (const s of spellings(f)) byName.set(s, f);
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      rest.push(...argv.slice(i + 1));
      break;
    }
    if (!a.startsWith('-') || a === '-' || /^-\d/.test(a)) {
      rest.push(a);
      continue;
    }
    const eq = a.startsWith('--') ? a.indexOf('=') : -1;
    const key = eq > 0 ? a.slice(0, eq) : a;
    const f = byName.get(key);
    if (!f) {
      const hint = closest(key, [...byName.keys()].filter((k) => k !== '-h'));
      throw new UsageError(`unknown option '${key}'${hint ? `; did you mean '${hint}'?` : ''}`);
    }
    if (f === HELP_FLAG) {
      help = true;
      continue;
    }
    const k = camel(f.name);
    if (!f.value) {
      if (eq > 0) throw new UsageError(`${key} takes no value`);
      flags[k] = true;
      continue;
    }
    if (f.list) {
      const vals = (flags[k] as string[] | undefined) ?? [];
      if (eq > 0) vals.push(a.slice(eq + 1));
      while (i + 1 < argv.length && !argv[i + 1].startsWith('--') && argv[i + 1].includes('=')) vals.push(argv[++i]);
      if (!vals.length) throw new UsageError(`${key} needs ${f.value}`);
      flags[k] = vals;
      continue;
    }
    let v: string | undefined;
    if (eq > 0) v = a.slice(eq + 1);
    else if (i + 1 < argv.length && (!argv[i + 1].startsWith('-') || argv[i + 1] === '-' || /^-\d/.test(argv[i + 1]))) v = argv[++i];
    if (v === undefined) {
      if (f.optionalValue) {
        flags[k] = true;
        continue;
      }
      throw new UsageError(`${key} needs a value (${f.value})`);
    }
    if (f.choices && !f.choices.includes(v)) throw new UsageError(`${key} must be ${orList(f.choices)}, got '${v}'`);
    if (f.int) {
      if (!/^\d+$/.test(v)) throw new UsageError(`${key} needs a non-negative integer, got '${v}'`);
      flags[k] = Number(v);
    } else flags[k] = v;
  }
  return { flags, rest, help };
}

/** `usage: ahamask NAME [options] ARGS`, the description and the aligned flag list. */
export function helpText(spec: CommandSpec): string {
  const rows = [...spec.flags, HELP_FLAG].map((f) => {
    const names = [...(f.aliases ?? []).filter((x) => !x.startsWith('--')), `--${f.name}`, ...(f.aliases ?? []).filter((x) => x.startsWith('--'))].join(', ');
    const val = f.value ? (f.optionalValue ? ` [${f.value}]` : ` ${f.value}`) : '';
    return [names + val, f.help + (f.choices ? ` (${f.choices.join(' | ')})` : '')];
  });
  const w = Math.min(30, Math.max(...rows.map((r) => r[0].length)) + 2);
  const lines = [`usage: ahamask ${spec.name} [options]${spec.args ? ` ${spec.args}` : ''}`, ''];
  if (spec.description) lines.push(spec.description, '');
  lines.push('options:');
  for (const [n, h] of rows) lines.push(n.length + 2 > w ? `  ${n}\n  ${' '.repeat(w)}${h}` : `  ${n.padEnd(w)}${h}`);
  if (spec.epilog) lines.push('', spec.epilog);
  return lines.join('\n');
}

/**
 * Parses `argv` for `spec` and runs `body`: `--help` prints the help on stdout (exit 0); a usage problem prints
 * one line and a pointer to `--help` on stderr (exit 2).
 */
export async function runCommand(spec: CommandSpec, argv: string[], body: (a: ParsedArgs) => Promise<number>): Promise<number> {
  let a: ParsedArgs;
  try {
    a = parseArgs(spec, argv);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    return usageError(spec, e.message);
  }
  if (a.help) {
    console.log(helpText(spec));
    return 0;
  }
  try {
    return await body(a);
  } catch (e) {
    if (e instanceof UsageError) return usageError(spec, e.message);
    throw e;
  }
}

export function usageError(spec: CommandSpec, message: string): number {
  console.error(`ahamask ${spec.name}: ${message}\nrun 'ahamask ${spec.name} --help' for the options`);
  return 2;
}
