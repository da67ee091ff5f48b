// Builds a BEATs checkpoint without `post_extract_proj` from the tiny fixture: the official BEATs sets
// post_extract_proj = None when embed_dim == encoder_embed_dim, and its state dict then has no such keys.
// cfg.embed_dim becomes encoder_embed_dim, post_extract_proj.* are dropped, and the patch conv and the LayerNorm
// after it get encoder_embed_dim outputs (deterministic values). Saved with our torch.save writer (zip + pickle).
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MemorySource } from '../../src/io/bytes.js';
import { PyOrderedDict, type PyValue } from '../../src/io/pickle.js';
import { encodeTorchSave, materialize, openTorch, TensorValue } from '../../src/io/torch.js';
import { FIXTURE } from './paths.js';
import { randn } from './gpu.js';

export async function beatsWithoutPostExtractProj(): Promise<Uint8Array> {
  const ck = await openTorch(new MemorySource(new Uint8Array(readFileSync(join(FIXTURE, 'beats.pt'))), 'beats.pt'));
  const root = (await materialize(ck.root)) as Map<string, PyValue>;
  await ck.close();
  const cfg = root.get('cfg') as Map<string, PyValue>;
  const e = Number(cfg.get('encoder_embed_dim'));
  const ps = Number(cfg.get('input_patch_size'));
  cfg.set('embed_dim', e);
  const model = root.get('model') as PyOrderedDict;
  const out = new PyOrderedDict();
  if (model.attrs) out.attrs = model.attrs;
  for (const [k, v] of model) {
    if (typeof k === 'string' && k.startsWith('post_extract_proj.')) continue;
    if (k === 'patch_embedding.weight') {
      // fan-in 256: scale so the conv output has unit-order values like the trained one
      out.set(k, new TensorValue('f32', [e, 1, ps, ps], randn(e * ps * ps, 4242, 1 / 16)));
    } else if (k === 'patch_embedding.bias') {
      out.set(k, new TensorValue('f32', [e], randn(e, 4243, 0.1)));
    } else if (k === 'layer_norm.weight') {
      out.set(k, new TensorValue('f32', [e], Float32Array.from(randn(e, 4244, 0.1), (x) => 1 + x)));
    } else if (k === 'layer_norm.bias') {
      out.set(k, new TensorValue('f32', [e], randn(e, 4245, 0.1)));
    } else out.set(k, v);
  }
  root.set('model', out);
  return encodeTorchSave(root, { archiveName: 'beats_noproj', serializationId: '0'.repeat(40) });
}
