// `ahamask demo` (= npm start) on the shipped demo model: the documented --json keys, the figures the model's card
// reports (checkpoints/demo/reported.json, `ahamask demo --json` when the masks were shipped) reproduced on the
// shipped held-out clips, the steering the model does show, the files in the output folder, and the CPU backend
// agreeing with the GPU on a few clips.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DEMO_TASKS } from '../../src/demo/tasks.js';
import { ROOT } from '../helpers/paths.js';

interface Score {
  accuracy: number;
  wer?: number;
}
interface TaskRow {
  name: string;
  metric: 'accuracy' | 'wer';
  instruction: Score;
  mask: Score | null;
  none: Score;
  outputs: Array<{ id: string; reference: string; instruction: string; mask: string | null; none: string }>;
}
interface DemoJson {
  tasks: TaskRow[];
  clips: number;
  n_layers: number;
  n_heads: number;
  backend: string;
}

const tmp = mkdtempSync(join(tmpdir(), 'ahamask-demo-'));

function demo(args: string[]): { json: DemoJson; stdout: string; stderr: string } {
  // from a folder outside the repo (as a user's shell): tsx by path, demo-out lands in the temp folder
  const tsx = pathToFileURL(join(ROOT, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const r = spawnSync(process.execPath, ['--import', tsx, join(ROOT, 'src/cli/main.ts'), 'demo', ...args], {
    cwd: tmp, encoding: 'utf8', timeout: 900_000, env: { ...process.env, XDG_RUNTIME_DIR: process.env.XDG_RUNTIME_DIR ?? '/tmp' },
  });
  assert.is(r.status, 0, `ahamask demo ${args.join(' ')} exited with ${r.status} (${r.signal ?? ''}): ${r.stderr.slice(-2000)}`);
  const lines = r.stdout.trim().split('\n');
  assert.is(lines.length, 1, '--json prints exactly one line on stdout');
  return { json: JSON.parse(lines[0]) as DemoJson, stdout: r.stdout, stderr: r.stderr };
}

let gpu: DemoJson;

test('demo --json: one line with the documented keys for every task', () => {
  gpu = demo(['--json', '--out', join(tmp, 'out')]).json;
  assert.is(gpu.clips, 40);
  assert.equal(gpu.tasks.map((t) => t.name), DEMO_TASKS.map((t) => t.name));
  for (const t of gpu.tasks) {
    assert.ok(t.metric === 'accuracy' || t.metric === 'wer', t.name);
    for (const way of ['instruction', 'mask', 'none'] as const) {
      const s = t[way];
      assert.ok(s, `${t.name}.${way} is missing (every task ships a mask)`);
      assert.type(s!.accuracy, 'number');
      if (t.metric === 'wer') assert.type(s!.wer, 'number');
    }
    assert.is(t.outputs.length, 40);
  }
  assert.ok(existsSync(join(tmp, 'out', 'results.json')));
  for (const t of DEMO_TASKS) assert.ok(readFileSync(join(tmp, 'out', `${t.name}.svg`), 'utf8').startsWith('<svg'), `${t.name}.svg`);
});

test('the shipped model reproduces its reported figures on the shipped held-out clips', () => {
  const reported = JSON.parse(readFileSync(join(ROOT, 'checkpoints/demo/reported.json'), 'utf8')) as DemoJson;
  for (const t of gpu.tasks) {
    const r = reported.tasks.find((x) => x.name === t.name)!;
    for (const way of ['instruction', 'mask', 'none'] as const) {
      // the same clips, weights and greedy decoding: the same outputs up to float noise, so the same figures
      // within one clip's worth (1/40 = 2.5 points) — a different model, mask or decoding moves them further
      assert.ok(Math.abs(t[way]!.accuracy - r[way]!.accuracy) <= 0.026, `${t.name}/${way}: accuracy ${t[way]!.accuracy} vs reported ${r[way]!.accuracy}`);
      if (t.metric === 'wer') assert.ok(Math.abs(t[way]!.wer! - r[way]!.wer!) <= 0.02, `${t.name}/${way}: WER ${t[way]!.wer} vs reported ${r[way]!.wer}`);
    }
  }
});

test('steering: the tone mask alone does the tone task as well as its instruction; neither does not', () => {
  // The shipped model is weak on transcription and counting (bench/RESULTS.md, README): the figures that show a
  // head mask replacing the instruction are the tone task's. Checked on this run, not taken from reported.json.
  const tone = gpu.tasks.find((t) => t.name === 'tone')!;
  assert.ok(tone.instruction.accuracy >= 0.6, `tone with the instruction: ${tone.instruction.accuracy}`);
  assert.ok(tone.mask!.accuracy >= tone.instruction.accuracy - 0.05, `tone with the mask alone: ${tone.mask!.accuracy} vs ${tone.instruction.accuracy}`);
  assert.ok(tone.none.accuracy <= 0.05, `tone with neither: ${tone.none.accuracy}`);
  // without a mask or an instruction the model answers the gender task, whatever was asked
  const gender = gpu.tasks.find((t) => t.name === 'gender')!;
  assert.ok(gender.none.accuracy >= 0.95 && gender.instruction.accuracy >= 0.95 && gender.mask!.accuracy >= 0.95, 'gender');
});

test('demo --cpu: the CPU reference backend gives the GPU outputs on the first clips', () => {
  const cpu = demo(['--json', '--cpu', '--limit', '2', '--out', join(tmp, 'cpu')]).json;
  assert.match(cpu.backend, /CPU/);
  for (const t of cpu.tasks) {
    const g = gpu.tasks.find((x) => x.name === t.name)!;
    assert.equal(t.outputs, g.outputs.slice(0, 2), t.name);
  }
});

test.run();
