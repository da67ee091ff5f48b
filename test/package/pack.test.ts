// The published package as a user gets it: build, `npm pack`, install the tarball into a fresh project (its
// dependencies linked from this checkout's node_modules, so no registry is needed), then type-check a strict
// TypeScript snippet with skipLibCheck false that imports 'ahamask' and 'ahamask/node', and run it.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { FIXTURE, ROOT } from '../helpers/paths.js';

const TMP = mkdtempSync(join(tmpdir(), 'ahamask-pack-'));
const STAGE = join(TMP, 'stage'), PROJ = join(TMP, 'proj');
const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { name: string; version: string; files: string[]; dependencies: Record<string, string> };

function sh(cmd: string, args: string[], cwd: string): string {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: 15 * 60_000, env: { ...process.env, npm_config_update_notifier: 'false' } });
  assert.is(r.status, 0, `${cmd} ${args.join(' ')} failed:\n${r.stdout}\n${r.stderr}`);
  return r.stdout;
}

function jsFiles(d: string): string[] {
  return readdirSync(d).flatMap((f) => {
    const p = join(d, f);
    return statSync(p).isDirectory() ? jsFiles(p) : p.endsWith('.js') ? [p] : [];
  });
}

test('npm pack -> install -> strict type-check (skipLibCheck false) and run', () => {
  // 1. build into a staging copy of the package (the checkout's dist/ is left alone)
  mkdirSync(STAGE, { recursive: true });
  sh(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(ROOT, 'tsconfig.json'), '--outDir', join(STAGE, 'dist'), '--sourceMap', 'false'], ROOT);
  cpSync(join(ROOT, 'package.json'), join(STAGE, 'package.json'));
  for (const f of pkg.files) if (f !== 'dist' && existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(STAGE, f), { recursive: true });
  // every bare import of the built code is a declared dependency
  const bare = new Set<string>();
  for (const f of jsFiles(join(STAGE, 'dist'))) {
    const re = /^\s*(?:import|export)\s[^;]*?from\s*['"]([^'"]+)['"]|^\s*import\s*['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/gm;
    for (const m of readFileSync(f, 'utf8').matchAll(re)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (spec.startsWith('.') || spec.startsWith('node:')) continue;
      bare.add(spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    }
  }
  const undeclared = [...bare].filter((d) => !(d in pkg.dependencies));
  assert.equal(undeclared, [], 'imports not listed in dependencies');
  assert.ok('@webgpu/types' in pkg.dependencies, '@webgpu/types is a dependency (the .d.ts reference it)');
  const dts = readFileSync(join(STAGE, 'dist/index.d.ts'), 'utf8');
  assert.match(dts, /<reference types="@webgpu\/types"/);

  // 2. pack and install like a user (tarball extracted into node_modules, dependencies linked)
  const tgz = sh('npm', ['pack', '--ignore-scripts', '--silent', '--pack-destination', TMP], STAGE).trim().split('\n').pop()!;
  const mod = join(PROJ, 'node_modules', pkg.name);
  mkdirSync(mod, { recursive: true });
  sh('tar', ['xzf', join(TMP, tgz), '-C', mod, '--strip-components=1'], TMP);
  assert.ok(existsSync(join(mod, 'dist/node/index.d.ts')), 'the tarball holds dist/');
  const link = (name: string): void => {
    const to = join(PROJ, 'node_modules', name);
    if (existsSync(to)) return;
    mkdirSync(dirname(to), { recursive: true });
    symlinkSync(join(ROOT, 'node_modules', name), to, 'dir');
  };
  for (const d of Object.keys(pkg.dependencies)) link(d);
  for (const d of ['typescript', '@types/node', 'undici-types']) if (existsSync(join(ROOT, 'node_modules', d))) link(d);

  // 3. a strict TypeScript project using the public API
  writeFileSync(join(PROJ, 'package.json'), JSON.stringify({ name: 'user-project', private: true, type: 'module' }));
  writeFileSync(join(PROJ, 'tsconfig.json'), JSON.stringify({
    compilerOptions: {
      target: 'ES2022', module: 'NodeNext', moduleResolution: 'NodeNext', lib: ['ES2022', 'DOM'], types: ['node'],
      strict: true, skipLibCheck: false, noEmit: false, outDir: 'out', exactOptionalPropertyTypes: false,
    },
    include: ['main.ts'],
  }));
  writeFileSync(join(PROJ, 'main.ts'), `
import { fromHost, softmax, MemoryDirectory, UrlDirectory, BlobDirectory, Salmonn, parseDecodeConfig, Trainer,
  loadAudio, decodeAudio, resample, readMaskCheckpoint, encodeMaskCheckpoint, parseTrainConfig,
  type Directory, type LoadProgress, type TrainerOptions, type FromPretrainedOptions } from 'ahamask';
import { nodeFileSystem, openDirectory, loadFromConfig, readTextFile } from 'ahamask/node';

const x = fromHost(new Float32Array([1, 2, 3, 4, 5, 6]), [2, 3], 'f32', 'cpu');
const y = Array.from(await softmax(x, -1).data());
const folder: Directory = openDirectory(${JSON.stringify(FIXTURE)});
const cfg = parseDecodeConfig(await readTextFile(${JSON.stringify(join(FIXTURE, 'decode_config.yaml'))}), { file: 'decode_config.yaml' });
const cfgs = await Salmonn.readConfigs(folder, cfg.model);
const mem: Directory = new MemoryDirectory({ 'a.txt': 'hi' });
const events: LoadProgress[] = [];
const opts: FromPretrainedOptions = { target: 'cpu', onProgress: (p) => events.push(p) };
const mask = encodeMaskCheckpoint(new Float32Array(15).fill(1));
const back = await readMaskCheckpoint({ name: 'm', size: mask.length, read: async (o, n) => mask.subarray(o, o + n) });
const unused = [UrlDirectory, BlobDirectory, Trainer, loadAudio, decodeAudio, resample, parseTrainConfig, nodeFileSystem, loadFromConfig];
const t: Partial<TrainerOptions> = {};
console.log(JSON.stringify({ y, layers: cfgs.llama.num_hidden_layers, mem: await mem.exists('a.txt'), mask: back.logits.length, n: unused.length, t, opts: typeof opts.onProgress, events: events.length }));
`);
  const tsc = spawnSync(process.execPath, [join(PROJ, 'node_modules/typescript/bin/tsc'), '-p', PROJ], { cwd: PROJ, encoding: 'utf8', timeout: 10 * 60_000 });
  assert.is(tsc.status, 0, `type errors in a strict project:\n${tsc.stdout}${tsc.stderr}`);
  const run = spawnSync(process.execPath, [join(PROJ, 'out/main.js')], { cwd: PROJ, encoding: 'utf8', timeout: 120_000 });
  assert.is(run.status, 0, run.stderr);
  const r = JSON.parse(run.stdout.trim().split('\n').pop()!) as { y: number[]; layers: number; mem: boolean; mask: number };
  const e = [1, 2, 3].map(Math.exp), s = e[0] + e[1] + e[2];
  assert.ok(Math.abs(r.y[0] - e[0] / s) < 1e-6 && Math.abs(r.y[5] - e[2] / s) < 1e-6, `softmax ${r.y}`);
  assert.is(r.layers, JSON.parse(readFileSync(join(FIXTURE, 'vicuna/config.json'), 'utf8')).num_hidden_layers);
  assert.ok(r.mem);
  assert.is(r.mask, 15);
});

test.after(() => rmSync(TMP, { recursive: true, force: true }));
test.run();
