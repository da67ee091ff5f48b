// The command line as a user meets it: help, --version, <cmd> --help for every command, unknown flags rejected
// with the closest suggestion, --options overrides reaching the config, the flag parser, the stderr filter for
// Dawn's limit warnings, and progress bars erased before other lines.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE, ROOT } from '../helpers/paths.js';
import { closest, helpText, parseArgs, UsageError, type CommandSpec } from '../../src/cli/args.js';
import { StderrFilter } from '../../src/cli/stderr.js';
import { ProgressBar, printLine } from '../../src/cli/progress.js';
import { promptStream } from '../../src/cli/interactive.js';

const COMMANDS = ['doctor', 'mask', 'tokenize', 'evaluate', 'cli', 'train'];

function cli(args: string[], cwd = ROOT): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const c = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '', stderr = '';
    c.stdout.on('data', (d) => (stdout += d));
    c.stderr.on('data', (d) => (stderr += d));
    const guard = setTimeout(() => c.kill('SIGKILL'), 120_000);
    c.on('close', (code) => {
      clearTimeout(guard);
      resolve({ code: code ?? -1, stdout, stderr });
    });
  });
}

/** Runs at most 3 at a time (2 cores shared). */
async function all<T>(jobs: Array<() => Promise<T>>): Promise<T[]> {
  const out: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all([0, 1, 2].map(async () => {
    while (next < jobs.length) {
      const i = next++;
      out[i] = await jobs[i]();
    }
  }));
  return out;
}

test('help, --version, and <cmd> --help for every command', async () => {
  const version = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')).version;
  const [help, ver, helpTrain, ...perCmd] = await all([
    () => cli(['help']), () => cli(['--version']), () => cli(['help', 'train']),
    ...COMMANDS.map((c) => () => cli(c === 'mask' ? ['mask', 'show', '--help'] : [c, '--help'])),
  ]);
  assert.is(help.code, 0);
  for (const c of COMMANDS) assert.match(help.stdout, new RegExp(`^  ${c} `, 'm'));
  assert.match(help.stdout, /AHAMASK_DEBUG/);
  assert.is(ver.code, 0);
  assert.is(ver.stdout.trim(), version);
  assert.is(helpTrain.code, 0);
  perCmd.forEach((r, i) => {
    const name = COMMANDS[i] === 'mask' ? 'mask show' : COMMANDS[i];
    assert.is(r.code, 0, `${name} --help: ${r.stderr}`);
    assert.ok(r.stdout.startsWith(`usage: ahamask ${name} `), `${name}: ${r.stdout.slice(0, 80)}`);
    assert.match(r.stdout, /-h, --help/);
    assert.is(r.stderr, '');
  });
  assert.is(helpTrain.stdout, perCmd[COMMANDS.indexOf('train')].stdout);
  assert.match(perCmd[COMMANDS.indexOf('evaluate')].stdout, /--options KEY=VALUE/);
});

test('every command rejects an unknown flag and suggests the closest one', async () => {
  const cases: Array<[string[], string, string]> = [
    [['doctor', '--jsn'], '--jsn', '--json'],
    [['evaluate', '-c', 'x.yaml', '--dmp-dir', 'd'], '--dmp-dir', '--dump-dir'],
    [['cli', '-c', 'x.yaml', '--no-histroy'], '--no-histroy', '--no-history'],
    [['train', '-c', 'x.yaml', '--max-step', '3'], '--max-step', '--max-steps'],
    [['tokenize', '--tokenizr', 'x', 'hi'], '--tokenizr', '--tokenizer'],
    [['mask', 'show', '--svgg', 'o.svg', 'm.pth'], '--svgg', '--svg'],
  ];
  const rs = await all(cases.map(([a]) => () => cli(a)));
  rs.forEach((r, i) => {
    const [args, bad, good] = cases[i];
    assert.is(r.code, 2, `${args.join(' ')}: ${r.stderr}`);
    assert.ok(r.stderr.includes(`unknown option '${bad}'; did you mean '${good}'?`), r.stderr);
    assert.match(r.stderr, /--help' for the options/);
  });
  const unk = await cli(['evalute']);
  assert.is(unk.code, 2);
  assert.match(unk.stderr, /unknown command 'evalute'; did you mean 'evaluate'\?/);
});

test('evaluate --options reaches the config (a bad value fails before anything loads, naming the option)', async () => {
  const r = await cli(['evaluate', '-c', 'decode_config.yaml', '--cpu', '--options', 'generate.num_beams=two', 'model.lora=false'], FIXTURE);
  assert.is(r.code, 1);
  assert.match(r.stderr, /decode_config\.yaml: --options: 'generate\.num_beams' must be an integer, got "two"/);
  assert.not.match(r.stderr, /\n\s+at /, 'no stack trace');
});

const SPEC: CommandSpec = {
  name: 'x', summary: 's',
  flags: [
    { name: 'cfg-path', aliases: ['-c'], value: 'FILE', help: 'c' },
    { name: 'options', value: 'K=V ...', list: true, help: 'o' },
    { name: 'resume', value: 'CKPT', optionalValue: true, help: 'r' },
    { name: 'max-steps', value: 'N', int: true, help: 'm' },
    { name: 'mode', value: 'M', choices: ['a', 'b'], help: 'm' },
    { name: 'quiet', aliases: ['-q'], help: 'q' },
  ],
};

test('flag parser: values, --flag=value, lists, optional values, integers, choices, --', () => {
  const p = parseArgs(SPEC, ['-c', 'f.yaml', '--options', 'a.b=1', 'c=x y', '--resume', '--max-steps=4', '-q', 'pos', '--', '--not-a-flag']);
  assert.equal(p.flags, { cfgPath: 'f.yaml', options: ['a.b=1', 'c=x y'], resume: true, maxSteps: 4, quiet: true });
  assert.equal(p.rest, ['pos', '--not-a-flag']);
  assert.is(parseArgs(SPEC, ['--resume', 'ck.pth']).flags.resume, 'ck.pth');
  assert.ok(parseArgs(SPEC, ['-h']).help);
  const err = (argv: string[], re: RegExp): void => {
    try {
      parseArgs(SPEC, argv);
      assert.unreachable(argv.join(' '));
    } catch (e) {
      assert.instance(e, UsageError);
      assert.match((e as Error).message, re);
    }
  };
  err(['--max-steps', 'x'], /--max-steps needs a non-negative integer, got 'x'/);
  err(['-c'], /-c needs a value \(FILE\)/);
  err(['--mode', 'z'], /--mode must be a or b, got 'z'/);
  err(['--quiet=1'], /--quiet takes no value/);
  err(['--option', 'a=1'], /unknown option '--option'; did you mean '--options'\?/);
  err(['--zzzzzzz'], /^unknown option '--zzzzzzz'$/);
  assert.is(closest('--cfg', ['--cfg-path', '--cpu']), '--cfg-path');
  const h = helpText(SPEC);
  assert.match(h, /^usage: ahamask x \[options\]/);
  assert.match(h, /--resume \[CKPT\]/);
  assert.match(h, /--mode M +m \(a \| b\)/);
});

test("stderr filter drops exactly Dawn's two limit warnings, passes everything else at once", () => {
  let out = '';
  const f = new StderrFilter((s) => (out += s));
  const w1 = 'Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.\n';
  const w2 = 'Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 500000 to 16 to fit dynamic offset allocation limit.\n';
  f.push('\rloading [##..] 10%');
  assert.is(out, '\rloading [##..] 10%', 'an unfinished progress line is not held back');
  f.push(`\n${w1.slice(0, 30)}`);
  f.push(w1.slice(30) + 'Warning: something else\n' + w2);
  f.push('error: x\n');
  f.end();
  assert.is(out, '\rloading [##..] 10%\nWarning: something else\nerror: x\n');
});

test('a progress bar is erased before any other line', () => {
  let written = '';
  const fake = { isTTY: true, columns: 60, write: (s: string) => ((written += s), true) } as unknown as NodeJS.WriteStream;
  const bar = new ProgressBar('loading', fake);
  bar.update(3, 10, 'whisper');
  assert.match(written, /^\rloading \[#+\.+\]  30% whisper/);
  written = '';
  printLine('warning: x', fake);
  assert.ok(written.startsWith(`\r${' '.repeat(59)}\r`), JSON.stringify(written));
  assert.ok(written.endsWith('warning: x\n'));
  written = '';
  printLine('next', fake);
  assert.is(written, 'next\n', 'nothing to erase once cleared');
  bar.update(5, 10);
  assert.match(written, /50%/);
});

test('ahamask cli: the prompt goes to the terminal, stdout first, never into a redirected stream', () => {
  const tty = { isTTY: true }, file = { isTTY: false };
  assert.is(promptStream(tty, tty, file), tty);
  const errTty = { isTTY: true };
  assert.is(promptStream(tty, file, errTty), errTty, 'answers piped to a file: prompt on the terminal stderr');
  assert.is(promptStream(tty, tty, errTty), tty, 'stderr redirected or not: prompt on stdout');
  assert.is(promptStream(file, tty, tty), null, 'input from a pipe: no prompt');
});

test.run();
