// Whisper encoder (HF WhisperEncoder as SALMONN uses it, spec §2.4): conv front-end with GELU, stored position
// table added after conv2 (exactly max_source_positions frames), pre-LN layers (k_proj without bias, q scaled
// by head_dim^-0.5), final LayerNorm.
import { ShapeError } from '../errors.js';
import type { WhisperConfig } from '../io/config.js';
import type { WeightMap } from '../io/keymaps.js';
import { add, attention, conv1d } from '../ops/index.js';
import { Tensor, tidy } from '../tensor/tensor.js';
import { lin, mergeHeads, norm, runLayers, splitHeads } from './nn.js';
import { Loader, disposeTree, type LinearW, type NormW, type Target, type WeightDType, type OnTensor } from './weights.js';

interface WhisperLayer {
  q: LinearW;
  k: LinearW;
  v: LinearW;
  o: LinearW;
  ln1: NormW;
  ln2: NormW;
  fc1: LinearW;
  fc2: LinearW;
}

export interface WhisperParams {
  conv1: LinearW;
  conv2: LinearW;
  pos: Tensor;
  layers: WhisperLayer[];
  lnPost: NormW;
}

const EPS = 1e-5;

export class WhisperEncoder {
  constructor(readonly cfg: WhisperConfig, readonly p: WhisperParams) {}

  /** Mel frames the encoder needs (2 x max_source_positions = 3000 for 30 s). */
  get inputFrames(): number {
    return 2 * this.cfg.max_source_positions;
  }

  /** Uploads the encoder from a validated WeightMap (src/io/keymaps.ts mapWhisperEncoder: encoder-relative names). */
  static async load(map: WeightMap, cfg: WhisperConfig, target: Target, opts: { dtype?: WeightDType; onTensor?: OnTensor } = {}): Promise<WhisperEncoder> {
    const ld = new Loader(map, target, opts.dtype ?? 'keep', opts.onTensor);
    const layers: WhisperLayer[] = [];
    const conv1 = await ld.linear('conv1', true, 'f32');
    const conv2 = await ld.linear('conv2', true, 'f32');
    const pos = await ld.tensor('embed_positions.weight', 'f32');
    for (let i = 0; i < cfg.encoder_layers; i++) {
      const L = `layers.${i}.`;
      layers.push({
        q: await ld.linear(L + 'self_attn.q_proj'),
        k: await ld.linear(L + 'self_attn.k_proj', false),
        v: await ld.linear(L + 'self_attn.v_proj'),
        o: await ld.linear(L + 'self_attn.out_proj'),
        ln1: await ld.norm(L + 'self_attn_layer_norm', EPS),
        ln2: await ld.norm(L + 'final_layer_norm', EPS),
        fc1: await ld.linear(L + 'fc1'),
        fc2: await ld.linear(L + 'fc2'),
      });
    }
    const lnPost = await ld.norm('layer_norm', EPS);
    return new WhisperEncoder(cfg, { conv1, conv2, pos, layers, lnPost });
  }

  /** mel [B, n_mels, 3000] -> last_hidden_state [B, 1500, d_model]. */
  forward(mel: Tensor): Tensor {
    const x0 = this.frontEnd(mel);
    const out = this.transformer(x0);
    x0.dispose();
    return out;
  }

  /** conv1 + GELU, conv2 (stride 2) + GELU, + the stored position table: [B, n_mels, 3000] -> [B, 1500, d]. */
  frontEnd(mel: Tensor): Tensor {
    const { cfg, p } = this;
    if (mel.rank !== 3 || mel.shape[1] !== cfg.num_mel_bins || mel.shape[2] !== this.inputFrames) {
      throw new ShapeError(`Whisper encoder: input features must be [B, ${cfg.num_mel_bins}, ${this.inputFrames}], got [${mel.shape}]`);
    }
    return tidy(() => {
      const h1 = conv1d(mel, p.conv1.w, p.conv1.b ?? undefined, { stride: 1, padding: 1, activation: 'gelu' });
      const h2 = conv1d(h1, p.conv2.w, p.conv2.b ?? undefined, { stride: 2, padding: 1, activation: 'gelu' });
      return add(h2.transpose(1, 2), p.pos);
    });
  }

  /** The pre-LN layers and the final LayerNorm: [B, 1500, d] -> [B, 1500, d]. */
  transformer(x0: Tensor): Tensor {
    const { cfg, p } = this;
    const H = cfg.encoder_attention_heads;
    const scale = (cfg.d_model / H) ** -0.5;
    const x = runLayers(x0, p.layers, (x, L) =>
      tidy(() => {
        const h = norm(x, L.ln1);
        const a = attention(splitHeads(lin(h, L.q), H), splitHeads(lin(h, L.k), H), splitHeads(lin(h, L.v), H), { scale });
        const x1 = lin(mergeHeads(a), L.o, { residual: x });
        return lin(lin(norm(x1, L.ln2), L.fc1, { activation: 'gelu' }), L.fc2, { residual: x1 });
      }),
    );
    const out = norm(x, p.lnPost);
    if (x !== x0) x.dispose();
    return out;
  }

  dispose(): void {
    disposeTree(this.p);
  }
}
