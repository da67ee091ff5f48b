// `ahamask demo-data` (src/cli/demo-data.ts) end to end with espeak-ng (CI installs it, see .ci/run):
// same seed → same bytes, another seed → other clips, the files are what clips.json says, CLI errors are one line.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeAudio } from '../../src/io/audio.js';
import { espeakVersion, generateDemoData, parseDemoDataArgs } from '../../src/cli/demo-data.js';
import { DEMO_TASKS, type DemoClip } from '../../src/demo/tasks.js';
import { MAX_CLIP_SECONDS } from '../../src/demo/synth.js';
import { ROOT } from '../helpers/paths.js';
import { medianF0, toneRuns } from './analysis.js';

const tmp = mkdtempSync(join(tmpdir(), 'ahamask-demo-data-'));

/** Every file under `dir` (relative path → bytes), sorted. */
function files(dir: string, rel = ''): Map<string, Buffer> {
  const out = new Map<string, Buffer>();
  for (const d of readdirSync(join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : 1))) {
    const r = rel ? `${rel}/${d.name}` : d.name;
    if (d.isDirectory()) for (const [k, v] of files(dir, r)) out.set(k, v);
    else out.set(r, readFileSync(join(dir, r)));
  }
  return out;
}

test('espeak-ng is installed (needed to generate; CI installs it)', () => {
  assert.match(espeakVersion(), /^eSpeak NG text-to-speech: \d+\.\d+/);
});

test('same seed → byte-identical data sets (wav and flac); another seed → other clips', async () => {
  for (const format of ['wav', 'flac'] as const) {
    const a = join(tmp, `a-${format}`), b = join(tmp, `b-${format}`), c = join(tmp, `c-${format}`);
    await generateDemoData({ out: a, n: 3, seed: 11, format, quiet: true });
    await generateDemoData({ out: b, n: 3, seed: 11, format, quiet: true });
    await generateDemoData({ out: c, n: 3, seed: 12, format, quiet: true });
    const fa = files(a), fb = files(b), fc = files(c);
    assert.equal([...fa.keys()], [...fb.keys()]);
    assert.ok(fa.size === 3 + 1 + DEMO_TASKS.length + 1 + 3, [...fa.keys()].join(' '));
    for (const [k, v] of fa) {
      // JSON holds the --out path: the same up to that.
      const w = fb.get(k)!;
      if (k.endsWith('.json')) assert.is(v.toString().replaceAll(a, '<out>'), w.toString().replaceAll(b, '<out>'), k);
      else assert.ok(v.equals(w), `${format}: ${k} differs between two runs with the same seed`);
    }
    const audio = (m: Map<string, Buffer>) => [...m].filter(([k]) => k.startsWith('audio')).map(([, v]) => v);
    const ac = audio(fc);
    for (const v of audio(fa)) assert.not.ok(ac.some((w) => w.equals(v)), `${format}: seed 12 repeats a seed 11 clip`);
    const ja = JSON.parse(fa.get('clips.json')!.toString()).clips as DemoClip[];
    const jc = JSON.parse(fc.get('clips.json')!.toString()).clips as DemoClip[];
    assert.not.equal(ja.map((x) => [x.digits, x.gender, x.beeps, x.tone]), jc.map((x) => [x.digits, x.gender, x.beeps, x.tone]));
  }
});

test('generated clips hold what clips.json says (length, beeps, pitch by gender)', async () => {
  const out = join(tmp, 'attrs');
  const { clips } = await generateDemoData({ out, n: 8, seed: 21, format: 'wav', quiet: true });
  for (const c of clips) {
    const a = await decodeAudio(new Uint8Array(readFileSync(c.path)), c.path);
    assert.equal([a.sampleRate, a.numChannels, a.bitsPerSample], [16000, 1, 16]);
    const x = a.channels[0];
    assert.is(x.length / 16000, c.duration);
    assert.ok(c.duration! <= MAX_CLIP_SECONDS);
    const runs = toneRuns(x);
    assert.is(runs.length, c.beeps, c.id);
    runs.forEach((r, k) => {
      assert.ok(Math.abs(r.start - c.beepSpans![k][0]) < 0.02, `${c.id} beep ${k} onset`);
      assert.is(r.toHz > r.fromHz, c.tone === 'rising');
    });
    const f0 = medianF0(x, c.speech![0], c.speech![1]);
    assert.ok(c.gender === 'male' ? f0 < 150 : f0 > 150, `${c.id} ${c.gender} F0 ${f0}`);
  }
});

test('the shipped clips are reproduced bit for bit (same espeak-ng version)', async () => {
  const shipped = JSON.parse(readFileSync(join(ROOT, 'checkpoints/demo/data/test/clips.json'), 'utf8')) as { espeak: string };
  if (shipped.espeak !== espeakVersion()) {
    console.log(`  (skipped: the shipped set was made with ${shipped.espeak}, this is ${espeakVersion()})`);
    return;
  }
  const out = join(tmp, 'shipped');
  await generateDemoData({ out, n: 3, seed: 1000, format: 'flac', quiet: true });
  for (let i = 0; i < 3; i++) {
    const f = `s1000_0000${i}.flac`;
    assert.ok(readFileSync(join(out, 'audio', f)).equals(readFileSync(join(ROOT, 'checkpoints/demo/data/test/audio', f))), f);
  }
});

function cli(args: string[], env: NodeJS.ProcessEnv = process.env) {
  const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'demo-data', ...args], { cwd: ROOT, env, encoding: 'utf8', timeout: 120_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

test('CLI: writes the documented layout (the command is registered in main.ts)', () => {
  const out = join(tmp, 'cli');
  const ok = cli(['--out', out + '/', '--n', '2', '--seed', '5', '--format', 'flac']);
  assert.is(ok.status, 0, ok.stderr);
  assert.match(ok.stdout, /demo-data: 2 clips \(flac\)/);
  for (const f of ['clips.json', 'all.json', 'prompts/train_prompt.json', 'prompts/test_prompt.json', 'prompts/mask_prompt.json', 'audio/s5_00000.flac', 'audio/s5_00001.flac', ...DEMO_TASKS.map((t) => `${t.name}.json`)])
    assert.ok(existsSync(join(out, f)), f);
  assert.is(JSON.parse(readFileSync(join(out, 'asr.json'), 'utf8')).annotation[1].path, `${out}/audio/s5_00001.flac`);
});

test('bad arguments are one clear line', () => {
  assert.equal(parseDemoDataArgs(['--out', 'd/', '--n', '2', '--seed', '5']), { out: 'd', n: 2, seed: 5, format: 'wav', quiet: false });
  for (const [args, msg] of [
    [['--n', '2', '--seed', '1'], /^missing --out/],
    [['--out', 'd', '--seed', '1'], /^missing --n/],
    [['--out', 'd', '--n', '2'], /^missing --seed/],
    [['--out', 'd', '--n', 'x', '--seed', '1'], /^--n needs a non-negative integer, got "x"$/],
    [['--out', 'd', '--n', '0', '--seed', '1'], /^--n must be in 1\.\.99999/],
    [['--out', 'd', '--n', '2', '--seed', '-3'], /^--seed needs a non-negative integer/],
    [['--out', 'd', '--n', '2', '--seed', '1', '--format', 'mp3'], /^--format must be wav or flac, got "mp3"$/],
    [['--out', 'd', '--n', '2', '--seed', '1', '--bogus'], /^unknown argument "--bogus"$/],
    [['--out'], /^--out needs a directory$/],
  ] as const) {
    const r = parseDemoDataArgs([...args]);
    assert.type(r, 'string', args.join(' '));
    assert.match(r as string, msg);
  }
});

test('a missing espeak-ng is one clear line saying how to install it', () => {
  const none = cli(['--out', join(tmp, 'none'), '--n', '1', '--seed', '1'], { ...process.env, PATH: '/nonexistent' });
  assert.is(none.status, 1);
  assert.is(none.stderr.trim(), 'ahamask: espeak-ng is not installed; install it: apt-get install espeak-ng');
  assert.not.ok(existsSync(join(tmp, 'none')), 'nothing written');
});

test.run();
