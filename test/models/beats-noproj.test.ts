// BEATs without post_extract_proj (embed_dim == encoder_embed_dim: the official model sets it to None and the
// checkpoint has no such keys). Fixture built from the tiny one by test/helpers/beats-noproj.ts.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import '../../src/index.js';
import { MissingKeysError } from '../../src/errors.js';
import { parseBeatsConfig, type BeatsConfig } from '../../src/io/config.js';
import { beatsSpecs, mapBeats, type WeightMap } from '../../src/io/keymaps.js';
import type { PyValue } from '../../src/io/pickle.js';
import { BeatsEncoder } from '../../src/models/beats.js';
import { memoryEstimate, salmonnArchitecture, Salmonn } from '../../src/models/salmonn.js';
import { openCheckpointPath } from '../../src/node/files.js';
import { nodeFileSystem } from '../../src/cli/evaluate.js';
import { fromHost } from '../../src/tensor/tensor.js';
import { FIXTURE } from '../helpers/paths.js';
import { beatsWithoutPostExtractProj } from '../helpers/beats-noproj.js';
import { assertClose, gpu } from '../helpers/gpu.js';
import { decodeConfig, npy } from './fixture.js';

const dir = mkdtempSync(join(tmpdir(), 'beats-noproj-'));
const PATH = join(dir, 'beats_noproj.pt');

async function openMap(path: string, drop: RegExp | null = null): Promise<{ map: WeightMap; cfg: BeatsConfig; close: () => Promise<void> }> {
  const ck = await openCheckpointPath(path, { select: 'model' });
  const cfg = parseBeatsConfig((ck.root as Map<string, PyValue>).get('cfg')!, `${path} cfg`);
  const tensors = new Map([...ck.tensors].filter(([k]) => !(drop && drop.test(k))));
  const warnings: string[] = [];
  try {
    const map = mapBeats(tensors, cfg, { file: path, warn: (m) => warnings.push(m) });
    assert.equal(warnings, [], 'no unexpected keys');
    return { map, cfg, close: ck.close };
  } catch (e) {
    await ck.close();
    throw e;
  }
}

test.before(async () => {
  writeFileSync(PATH, await beatsWithoutPostExtractProj());
});
test.after(() => rmSync(dir, { recursive: true, force: true }));

test('key map: post_extract_proj is required iff embed_dim != encoder_embed_dim', async () => {
  const tiny = await openMap(join(FIXTURE, 'beats.pt'));
  assert.is(tiny.cfg.embed_dim, 32);
  assert.ok(tiny.map.has('post_extract_proj.weight'));
  await tiny.close();
  // the projected layout still refuses a checkpoint that lacks the projection
  try {
    await openMap(join(FIXTURE, 'beats.pt'), /^post_extract_proj\./);
    assert.unreachable('missing post_extract_proj accepted with embed_dim 32 != 64');
  } catch (e) {
    assert.ok(e instanceof MissingKeysError, String(e));
    assert.match((e as Error).message, /post_extract_proj\.weight/);
  }
  const np = await openMap(PATH);
  assert.is(np.cfg.embed_dim, np.cfg.encoder_embed_dim);
  assert.not.ok(np.map.has('post_extract_proj.weight'));
  assert.equal(np.map.get('patch_embedding.weight')!.shape, [64, 1, 16, 16]);
  assert.not.ok(beatsSpecs(np.cfg).some((s) => s.name.startsWith('post_extract_proj')));
  await np.close();
});

test('forward without the projection: CPU = CPU with an identity post_extract_proj inserted = GPU', async () => {
  const { map, cfg, close } = await openMap(PATH);
  const cpu = await BeatsEncoder.load(map, cfg, 'cpu');
  assert.is(cpu.p.proj, null);
  const dev = await gpu();
  const g = await BeatsEncoder.load(map, cfg, dev);
  await close();
  const fb = npy('chirp3s/beats_fbank.npy');
  const T = 96; // 6 time patches x 8 frequency patches: small for lavapipe
  const x = fb.data.subarray(0, T * 128);
  const outCpu = cpu.forward(fromHost(x, [1, T, 128], 'f32', 'cpu'));
  assert.equal(outCpu.shape, [1, 48, 64]);
  const ref = (await outCpu.data()) as Float32Array;

  const D = cfg.encoder_embed_dim;
  const eye = new Float32Array(D * D);
  for (let i = 0; i < D; i++) eye[i * D + i] = 1;
  const withIdentity = new BeatsEncoder(cfg, { ...cpu.p, proj: { w: fromHost(eye, [D, D], 'f32', 'cpu'), b: fromHost(new Float32Array(D), [D], 'f32', 'cpu') } });
  assertClose((await withIdentity.forward(fromHost(x, [1, T, 128], 'f32', 'cpu')).data()) as Float32Array, ref, 1e-6, 1e-6, 'identity post_extract_proj');
  // the comparison can fail: a projection that is not the identity changes the output
  const twice = Float32Array.from(eye, (v) => 2 * v);
  const scaled = new BeatsEncoder(cfg, { ...cpu.p, proj: { w: fromHost(twice, [D, D], 'f32', 'cpu'), b: null } });
  const other = (await scaled.forward(fromHost(x, [1, T, 128], 'f32', 'cpu')).data()) as Float32Array;
  assert.ok(other.some((v, i) => Math.abs(v - ref[i]) > 1e-2), 'a 2x projection must change the output');

  const outGpu = (await g.forward(fromHost(x, [1, T, 128], 'f32', dev)).data()) as Float32Array;
  assertClose(outGpu, ref, 2e-4, 2e-4, 'GPU vs CPU');
});

test('SALMONN loads a BEATs checkpoint without post_extract_proj; the memory estimate does not count it', async () => {
  const cfg = decodeConfig();
  const s = await Salmonn.load({ model: { ...cfg.model, beats_path: PATH }, fs: nodeFileSystem(FIXTURE), target: 'cpu', cwd: FIXTURE, warn: () => {} });
  try {
    const fb = npy('chirp3s/beats_fbank.npy');
    const out = s.encodeBeats(fromHost(fb.data.subarray(0, 32 * 128), [1, 32, 128], 'f32', 'cpu'));
    assert.equal(out.shape, [1, 16, 64]);
    assert.ok(((await out.data()) as Float32Array).every(Number.isFinite));
    const withProj = memoryEstimate(salmonnArchitecture({ ...s.configs, beats: { ...s.configs.beats!, embed_dim: 32 } }));
    const without = memoryEstimate(salmonnArchitecture(s.configs));
    // 32->64 projection (64*32 + 64) minus the patch conv/LayerNorm growing from 32 to 64 channels (32*256 + 64)
    assert.is(withProj.weights.beats - without.weights.beats, 4 * (64 * 32 + 64 - 32 * 256 - 64));
  } finally {
    s.dispose();
  }
});

test.run();
