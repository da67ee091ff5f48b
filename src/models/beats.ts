// BEATs encoder (iter3+ as SALMONN uses it, spec §2.5): 16x16 patch embedding, LayerNorm, projection, positional
// conv (weight norm over dims (0,1) per tap, SamePad, GELU), LayerNorm, post-LN DeepNorm layers with a bucketed
// relative position bias computed once (layer 0's table) and gated per layer/head/query (GRU-style gate).
import { ShapeError } from '../errors.js';
import type { BeatsConfig } from '../io/config.js';
import { beatsHasPostExtractProj, type WeightMap } from '../io/keymaps.js';
import { add, affine, attention, axpy, concat, conv1d, conv2d, gather, mul, sigmoid, sum } from '../ops/index.js';
import { Tensor, fromHost, keep, tidy } from '../tensor/tensor.js';
import { lin, mergeHeads, norm, runLayers, splitHeads } from './nn.js';
import { Loader, disposeTree, type LinearW, type NormW, type Target, type WeightDType } from './weights.js';

interface BeatsLayer {
  q: LinearW;
  k: LinearW;
  v: LinearW;
  o: LinearW;
  grep: LinearW | null;
  grepA: Tensor | null;
  ln1: NormW;
  ln2: NormW;
  fc1: LinearW;
  fc2: LinearW;
}

export interface BeatsParams {
  patch: Tensor;
  patchBias: Tensor | null;
  ln: NormW;
  /** post_extract_proj, or null when embed_dim == encoder_embed_dim (BEATs has none then). */
  proj: LinearW | null;
  posConvW: Tensor;
  posConvB: Tensor;
  encLn: NormW;
  /** relative_attention_bias.weight [num_buckets, H] of layer 0 (host and device copies). */
  relBias: Tensor | null;
  layers: BeatsLayer[];
}

const EPS = 1e-5;

/**
 * BEATs `_relative_positions_bucket` (bidirectional) for relative position r = key - query, computed as torch does
 * in float32: log(|r| / max_exact) / log(max_distance / max_exact) * (num_buckets/2 - max_exact), truncated.
 */
export function relativePositionBucket(r: number, numBuckets: number, maxDistance: number): number {
  const nb = Math.floor(numBuckets / 2);
  let out = r > 0 ? nb : 0;
  const a = Math.abs(r);
  const maxExact = Math.floor(nb / 2);
  if (a < maxExact) return out + a;
  const f = Math.fround;
  const ratio = f(f(a) / maxExact);
  const lg = f(Math.log(ratio));
  const v = f(f(lg / f(Math.log(maxDistance / maxExact))) * (nb - maxExact));
  out += Math.min(maxExact + Math.trunc(v), nb - 1);
  return out;
}

/** Weight norm with dim=2: W[o,i,k] = g[k] * v[o,i,k] / ||v[:,:,k]||_2. */
export function weightNormDim2(g: Float32Array, v: Float32Array, shape: number[]): Float32Array {
  const [O, I, K] = shape;
  const norms = new Float64Array(K);
  for (let o = 0; o < O; o++) for (let i = 0; i < I; i++) for (let k = 0; k < K; k++) {
    const x = v[(o * I + i) * K + k];
    norms[k] += x * x;
  }
  const out = new Float32Array(v.length);
  for (let k = 0; k < K; k++) norms[k] = g[k] / Math.sqrt(norms[k]);
  for (let j = 0; j < v.length; j++) out[j] = v[j] * norms[j % K];
  return out;
}

/**
 * Token padding (spec §2.5 step 3) for a right-padded batch: sample lengths -> number of valid (non-padding) tokens
 * per item, following BEATs' forward_padding_mask twice (samples -> fbank frames -> patch tokens).
 */
export function beatsValidTokens(sampleLengths: number[], paddedSamples: number, frames: number, tokens: number): number[] {
  // samples -> frames: drop N mod T trailing samples, groups of s = N div T, padded iff all samples in the group are.
  const s = Math.floor(paddedSamples / frames);
  const k = Math.floor(frames / tokens);
  return sampleLengths.map((len) => {
    const firstPadFrame = Math.min(frames, Math.ceil(len / s));
    return Math.min(tokens, Math.ceil(firstPadFrame / k));
  });
}

export class BeatsEncoder {
  /**
   * The [H, T, T] position bias of the last token count (one entry: clips of ever new lengths must not each keep
   * an [H, T, T] tensor on the device, 107 MB at 30 s).
   */
  private posBiasCache = new Map<number, Tensor>();

  constructor(readonly cfg: BeatsConfig, readonly p: BeatsParams) {}

  static async load(map: WeightMap, cfg: BeatsConfig, target: Target, opts: { dtype?: WeightDType; onTensor?: (name: string, bytes: number) => void } = {}): Promise<BeatsEncoder> {
    if (!cfg.deep_norm || cfg.layer_norm_first) {
      // SALMONN's BEATs is post-LN DeepNorm; other variants are not used by any released model.
      if (cfg.layer_norm_first) throw new ShapeError('BEATs: layer_norm_first=True checkpoints are not supported');
    }
    const ld = new Loader(map, target, opts.dtype ?? 'keep', opts.onTensor);
    const patch = await ld.tensor('patch_embedding.weight', 'f32');
    const patchBias = cfg.conv_bias ? await ld.tensor('patch_embedding.bias', 'f32') : null;
    const ln = await ld.norm('layer_norm', EPS);
    const proj = beatsHasPostExtractProj(cfg) ? await ld.linear('post_extract_proj') : null;
    const vSt = ld.stored('encoder.pos_conv.0.weight_v');
    const wn = weightNormDim2(await ld.host('encoder.pos_conv.0.weight_g'), await vSt.toFloat32(), vSt.shape);
    const posConvW = ld.fromHost(wn, vSt.shape, 'encoder.pos_conv.0.weight');
    const posConvB = await ld.tensor('encoder.pos_conv.0.bias', 'f32');
    const encLn = await ld.norm('encoder.layer_norm', EPS);
    const relBias = cfg.relative_position_embedding ? await ld.tensor('encoder.layers.0.self_attn.relative_attention_bias.weight', 'f32') : null;
    const layers: BeatsLayer[] = [];
    for (let i = 0; i < cfg.encoder_layers; i++) {
      const L = `encoder.layers.${i}.`;
      layers.push({
        q: await ld.linear(L + 'self_attn.q_proj'),
        k: await ld.linear(L + 'self_attn.k_proj'),
        v: await ld.linear(L + 'self_attn.v_proj'),
        o: await ld.linear(L + 'self_attn.out_proj'),
        grep: cfg.gru_rel_pos ? await ld.linear(L + 'self_attn.grep_linear', true, 'f32') : null,
        grepA: cfg.gru_rel_pos ? await ld.tensor(L + 'self_attn.grep_a', 'f32') : null,
        ln1: await ld.norm(L + 'self_attn_layer_norm', EPS),
        ln2: await ld.norm(L + 'final_layer_norm', EPS),
        fc1: await ld.linear(L + 'fc1'),
        fc2: await ld.linear(L + 'fc2'),
      });
    }
    return new BeatsEncoder(cfg, { patch, patchBias, ln, proj, posConvW, posConvB, encLn, relBias, layers });
  }

  /** Tokens produced for `frames` fbank frames: (frames div 16) time patches x (128 div 16) frequency patches. */
  tokensFor(frames: number): number {
    const ps = this.cfg.input_patch_size;
    return Math.floor(frames / ps) * Math.floor(128 / ps);
  }

  /** The un-gated bias [H, T, T] from layer 0's table (kept on the device until a clip of another length). */
  positionBias(T: number): Tensor {
    let b = this.posBiasCache.get(T);
    if (b) return b;
    for (const old of this.posBiasCache.values()) old.dispose();
    this.posBiasCache.clear();
    const { num_buckets, max_distance, encoder_attention_heads: H } = this.cfg;
    const bucketOf = new Int32Array(2 * T - 1);
    for (let r = -(T - 1); r <= T - 1; r++) bucketOf[r + T - 1] = relativePositionBucket(r, num_buckets, max_distance);
    const ids = new Int32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = 0; j < T; j++) ids[i * T + j] = bucketOf[j - i + T - 1];
    const table = this.p.relBias!;
    b = tidy(() => {
      return gather(table, fromHost(ids, [T * T], 'i32', 'cpu')).transpose(0, 1).contiguous().reshape([H, T, T]);
    });
    keep(b); // cached across calls: must outlive any tidy() scope the caller is in
    this.posBiasCache.set(T, b);
    return b;
  }

  /**
   * fbank [B, T, 128] -> encoder output [B, Np, D]. `validTokens` (batch > 1 with padding): per item, tokens at or
   * after it are padding (zeroed before the positional conv, ignored as keys).
   */
  forward(fbank: Tensor, validTokens?: number[]): Tensor {
    const e = this.patchEmbed(fbank);
    const x0 = this.positional(e, validTokens);
    e.dispose();
    const out = this.encoder(x0, validTokens);
    if (out !== x0) x0.dispose();
    return out;
  }

  /** 16x16 patch conv, LayerNorm, post_extract_proj: [B, T, 128] -> [B, Np, D] (token n = t * 8 + f). */
  patchEmbed(fbank: Tensor): Tensor {
    const { cfg, p } = this;
    if (fbank.rank !== 3 || fbank.shape[2] !== 128) throw new ShapeError(`BEATs: fbank must be [B, T, 128], got [${fbank.shape}]`);
    const [B, T] = fbank.shape;
    const ps = cfg.input_patch_size;
    if (T < ps) throw new ShapeError(`BEATs: ${T} fbank frames are fewer than one ${ps}-frame patch`);
    const Np = this.tokensFor(T);
    return tidy(() => {
      const pe = conv2d(fbank.unsqueeze(1), p.patch, p.patchBias ?? undefined, { stride: ps, padding: 0 }); // [B, E, T/16, 8]
      const x = norm(pe.reshape([B, pe.shape[1], Np]).transpose(1, 2), p.ln);
      return p.proj ? lin(x, p.proj) : x;
    });
  }

  private padded(x: Tensor, validTokens?: number[]): boolean {
    return !!validTokens && validTokens.some((n) => n < x.shape[1]);
  }

  /** Zero the padding, add GELU(SamePad(pos_conv(x))), LayerNorm: [B, Np, D] -> [B, Np, D]. */
  positional(x: Tensor, validTokens?: number[]): Tensor {
    const { cfg, p } = this;
    const [B, Np] = x.shape;
    const dev = x.device ?? 'cpu';
    return tidy(() => {
      if (this.padded(x, validTokens)) {
        const valid = new Float32Array(B * Np);
        for (let b = 0; b < B; b++) valid.fill(1, b * Np, b * Np + validTokens![b]);
        x = mul(x, fromHost(valid, [B, Np, 1], 'f32', dev));
      }
      const K = cfg.conv_pos;
      const c = conv1d(x.transpose(1, 2), p.posConvW, p.posConvB, { padding: Math.floor(K / 2), groups: cfg.conv_pos_groups, activation: 'gelu' });
      const cs = K % 2 === 0 ? c.slice(2, 0, Np) : c;
      return norm(add(x, cs.transpose(1, 2)), p.encLn);
    });
  }

  /** The post-LN DeepNorm layers with the gated relative position bias: [B, Np, D] -> [B, Np, D]. */
  encoder(x0: Tensor, validTokens?: number[]): Tensor {
    const { cfg, p } = this;
    const [B, Np] = x0.shape;
    const H = cfg.encoder_attention_heads, D = cfg.encoder_embed_dim, hd = D / H;
    const dev = x0.device ?? 'cpu';
    let padBias: Tensor | null = null;
    if (this.padded(x0, validTokens)) {
      const pb = new Float32Array(B * Np);
      for (let b = 0; b < B; b++) pb.fill(-1e30, b * Np + validTokens![b], (b + 1) * Np);
      padBias = fromHost(pb, [B, 1, 1, Np], 'f32', dev);
    }
    const pos = p.relBias ? this.positionBias(Np) : null;
    const alpha = cfg.deep_norm ? Math.pow(2 * cfg.encoder_layers, 0.25) : 1;
    const x = runLayers(x0, p.layers, (x, L) =>
      tidy(() => {
        const qr = lin(x, L.q); // un-scaled query (incl. bias): also what the gate reads
        const q = splitHeads(qr, H), k = splitHeads(lin(x, L.k), H), v = splitHeads(lin(x, L.v), H);
        let gate: Tensor | null = null;
        if (pos && L.grep) {
          const g = sigmoid(sum(lin(q, L.grep).reshape([B, H, Np, 2, 4]), -1, false)); // [B, H, Np, 2]
          const ga = g.slice(-1, 0, 1), gb = g.slice(-1, 1, 2);
          gate = affine(mul(ga, affine(mul(gb, L.grepA!), 1, -1)), 1, 2); // [B, H, Np, 1]
        }
        // One batch item at a time: the gated bias is [H, Np, Np] per item (107 MB for 30 s), never [B, H, Np, Np].
        const parts: Tensor[] = [];
        for (let b = 0; b < B; b++) {
          const row = (t: Tensor): Tensor => (B === 1 ? t : t.slice(0, b, b + 1));
          parts.push(tidy(() => {
            let bias: Tensor | undefined = pos ? (gate ? mul(row(gate), pos) : pos) : undefined;
            if (padBias) bias = bias ? add(bias, row(padBias)) : row(padBias);
            return attention(row(q), row(k), row(v), { scale: hd ** -0.5, bias });
          }));
        }
        const a = B === 1 ? parts[0] : concat(parts, 0);
        const x1 = norm(axpy(lin(mergeHeads(a), L.o), x, alpha), L.ln1);
        return norm(axpy(lin(lin(x1, L.fc1, { activation: 'gelu' }), L.fc2), x1, alpha), L.ln2);
      }),
    );
    padBias?.dispose();
    return x;
  }

  dispose(): void {
    for (const b of this.posBiasCache.values()) b.dispose();
    this.posBiasCache.clear();
    disposeTree(this.p);
  }
}
