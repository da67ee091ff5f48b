// Golden WGSL: the generated code of representative kernel variants, byte for byte. The kernels are
// generated on recording devices (no GPU; src/tensor/recording-device.ts) standing in for a software adapter
// (lavapipe) and a discrete GPU, so the result is the same on every machine. A change to a golden is a
// change to generated code: regenerate with AHAMASK_UPDATE_GOLDEN=1 and review the diff.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { existsSync, mkdirSync, readFileSync, readdirSync, unlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/index.js';
import { compileKernels } from '../../src/ops/kernel-catalog.js';
import { RecordingProfile, recordingDevice } from '../../src/tensor/recording-device.js';

const DIR = join(import.meta.dirname, 'wgsl');
const UPDATE = process.env.AHAMASK_UPDATE_GOLDEN === '1';

/** [profile, op, variant]: every pipeline the workload compiles gets a golden file. */
export const GOLDEN: [RecordingProfile, string, string][] = [
  ['software', 'matmul', 'register'], // register-blocked, A shared by subgroupBroadcast over 8 lanes
  ['gpu', 'matmul', 'register'], // workgroup-memory tiled
  ['software', 'matmul', 'gemv'],
  ['software', 'attention', 'prefill'], // subgroup variant
  ['gpu', 'attention', 'prefill'], // workgroup-memory tiles
  ['software', 'attention', 'decode'], // subgroup split-K decode
  ['gpu', 'attention', 'decode'],
  ['software', 'attentionBackward', 'backward'],
  ['software', 'conv1d', 'gelu'],
  ['gpu', 'conv2d', 'patch'],
  ['software', 'layerNorm', 'affine'],
];

async function generate(): Promise<Map<string, string>> {
  const files = new Map<string, string>();
  for (const profile of ['software', 'gpu'] as const) {
    const wanted = GOLDEN.filter((g) => g[0] === profile);
    const ks = await compileKernels(recordingDevice(profile), [...new Set(wanted.map((g) => g[1]))]);
    for (const [, op, variant] of wanted) {
      const mine = ks.filter((k) => k.op === op && k.variant === variant);
      assert.ok(mine.length > 0, `${profile} ${op} ${variant} compiled no pipeline`);
      mine.forEach((k, i) => files.set(`${profile}.${op}.${variant}${mine.length > 1 ? `.${i}` : ''}.wgsl`, `// key: ${k.key}\n${k.wgsl}\n`));
    }
  }
  return files;
}

test('generated WGSL matches the golden files byte for byte', async () => {
  const files = await generate();
  assert.ok(files.size >= 10, `only ${files.size} golden kernels`);
  if (UPDATE) {
    mkdirSync(DIR, { recursive: true });
    for (const f of readdirSync(DIR)) if (f.endsWith('.wgsl') && !files.has(f)) unlinkSync(join(DIR, f));
    for (const [f, code] of files) writeFileSync(join(DIR, f), code);
  }
  const stale = readdirSync(DIR).filter((f) => f.endsWith('.wgsl') && !files.has(f));
  assert.equal(stale, [], `golden files no workload produces any more: ${stale.join(', ')} (delete them)`);
  for (const [f, code] of files) {
    const path = join(DIR, f);
    assert.ok(existsSync(path), `missing golden ${f}: run with AHAMASK_UPDATE_GOLDEN=1`);
    const want = readFileSync(path, 'utf8');
    if (want !== code) {
      const a = want.split('\n'), b = code.split('\n');
      let i = 0;
      while (i < a.length && a[i] === b[i]) i++;
      assert.unreachable(`${f} differs at line ${i + 1}:\n  golden:    ${a[i] ?? '<end>'}\n  generated: ${b[i] ?? '<end>'}\n(AHAMASK_UPDATE_GOLDEN=1 rewrites the goldens; review the diff)`);
    }
  }
});

test('the catalog compiles the same pipelines twice (generation is deterministic)', async () => {
  const a = await compileKernels(recordingDevice('software'), ['attention', 'matmul']);
  const b = await compileKernels(recordingDevice('software'), ['attention', 'matmul']);
  assert.equal(a.map((k) => k.key + k.wgsl), b.map((k) => k.key + k.wgsl));
});

test.run();
