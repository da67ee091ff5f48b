// SALMONN's window-level Q-Former (spec §2.7): the query-only path of a BERT with cross-attention, applied to
// windows of the fused Whisper+BEATs sequence, then speech_llama_proj.
import { ShapeError } from '../errors.js';
import type { BertConfig } from '../io/config.js';
import type { WeightMap } from '../io/keymaps.js';
import { attention, concat } from '../ops/index.js';
import { Tensor, tidy } from '../tensor/tensor.js';
import { lin, mergeHeads, norm, runLayers, splitHeads } from './nn.js';
import { Loader, disposeTree, type LinearW, type NormW, type Target, type WeightDType, type OnTensor } from './weights.js';

interface QFormerLayer {
  selfQ: LinearW;
  selfK: LinearW;
  selfV: LinearW;
  selfO: LinearW;
  selfLn: NormW;
  cross: { q: LinearW; k: LinearW; v: LinearW; o: LinearW; ln: NormW } | null;
  ffn1: LinearW;
  ffn2: LinearW;
  ffnLn: NormW;
}

export interface QFormerParams {
  query: Tensor;
  embLn: NormW;
  layers: QFormerLayer[];
}

export interface QFormerShape {
  /** BERT config with SALMONN's overrides (num_hidden_layers 2). */
  bert: BertConfig;
  layers: number;
  crossAttentionFreq: number;
  numQuery: number;
  encoderWidth: number;
}

/**
 * Window kernel and stride in frames: round(1500 * seconds / 30) as SALMONN writes it (Whisper's 50 frames per
 * second, whatever the window length); the number of windows comes from the actual frame count.
 */
export function windowGeometry(frames: number, secondPerWindow: number, secondStride: number): { kernel: number; stride: number; windows: number } {
  // Python's round() is round-half-to-even.
  const pyRound = (x: number): number => {
    const r = Math.round(x);
    return Math.abs(x % 1) === 0.5 && r % 2 !== 0 ? r - 1 : r;
  };
  const kernel = pyRound((1500 * secondPerWindow) / 30.0);
  const stride = pyRound((1500 * secondStride) / 30.0);
  if (kernel < 1 || stride < 1 || kernel > frames) throw new ShapeError(`Q-Former windows: kernel ${kernel} / stride ${stride} frames do not fit ${frames} frames`);
  return { kernel, stride, windows: Math.floor((frames - kernel) / stride) + 1 };
}

/** F.unfold over time: x [B, T, C] -> windows [B * L, kernel, C] (batch-major rows, window w = frames stride*w ...). */
export function unfoldWindows(x: Tensor, kernel: number, stride: number): Tensor {
  const [B, T, C] = x.shape;
  const L = Math.floor((T - kernel) / stride) + 1;
  if (kernel === stride) return x.slice(1, 0, L * kernel).contiguous().reshape([B * L, kernel, C]);
  return tidy(() => {
    const parts: Tensor[] = [];
    for (let w = 0; w < L; w++) parts.push(x.slice(1, w * stride, w * stride + kernel).unsqueeze(1));
    return concat(parts, 1).reshape([B * L, kernel, C]);
  });
}

export class QFormer {
  constructor(readonly shape: QFormerShape, readonly p: QFormerParams) {}

  /** map: SALMONN checkpoint WeightMap (canonical names 'speech_Qformer.bert.*', 'speech_query_tokens'). */
  static async load(map: WeightMap, shape: QFormerShape, target: Target, opts: { dtype?: WeightDType; onTensor?: OnTensor } = {}): Promise<QFormer> {
    const ld = new Loader(map, target, opts.dtype ?? 'keep', opts.onTensor);
    const eps = shape.bert.layer_norm_eps;
    const B = 'speech_Qformer.bert.';
    const query = await ld.tensor('speech_query_tokens', 'f32');
    const embLn = await ld.norm(B + 'embeddings.LayerNorm', eps);
    const layers: QFormerLayer[] = [];
    for (let i = 0; i < shape.layers; i++) {
      const L = `${B}encoder.layer.${i}.`;
      const hasCross = i % shape.crossAttentionFreq === 0;
      layers.push({
        selfQ: await ld.linear(L + 'attention.self.query'),
        selfK: await ld.linear(L + 'attention.self.key'),
        selfV: await ld.linear(L + 'attention.self.value'),
        selfO: await ld.linear(L + 'attention.output.dense'),
        selfLn: await ld.norm(L + 'attention.output.LayerNorm', eps),
        cross: hasCross
          ? {
              q: await ld.linear(L + 'crossattention.self.query'),
              k: await ld.linear(L + 'crossattention.self.key'),
              v: await ld.linear(L + 'crossattention.self.value'),
              o: await ld.linear(L + 'crossattention.output.dense'),
              ln: await ld.norm(L + 'crossattention.output.LayerNorm', eps),
            }
          : null,
        ffn1: await ld.linear(L + 'intermediate_query.dense'),
        ffn2: await ld.linear(L + 'output_query.dense'),
        ffnLn: await ld.norm(L + 'output_query.LayerNorm', eps),
      });
    }
    return new QFormer(shape, { query, embLn, layers });
  }

  /** windows [N, k, encoderWidth] -> last_hidden_state [N, numQuery, hidden]. */
  forward(windows: Tensor): Tensor {
    const { shape, p } = this;
    if (windows.rank !== 3 || windows.shape[2] !== shape.encoderWidth) {
      throw new ShapeError(`Q-Former: windows must be [N, k, ${shape.encoderWidth}], got [${windows.shape}]`);
    }
    const N = windows.shape[0];
    const H = shape.bert.num_attention_heads, hidden = shape.bert.hidden_size;
    const scale = (hidden / H) ** -0.5;
    const nq = shape.numQuery;
    const h0 = tidy(() => norm(p.query.broadcastTo([N, nq, hidden]), p.embLn));
    const out = runLayers(h0, p.layers, (h, L) =>
      tidy(() => {
        // Self-attention among the queries; with one query the softmax is exactly 1 and the context is V.
        let ctx: Tensor;
        if (nq === 1) ctx = lin(h, L.selfV);
        else ctx = mergeHeads(attention(splitHeads(lin(h, L.selfQ), H), splitHeads(lin(h, L.selfK), H), splitHeads(lin(h, L.selfV), H), { scale }));
        let a = norm(lin(ctx, L.selfO, { residual: h }), L.selfLn);
        if (L.cross) {
          const c = attention(splitHeads(lin(a, L.cross.q), H), splitHeads(lin(windows, L.cross.k), H), splitHeads(lin(windows, L.cross.v), H), { scale });
          a = norm(lin(mergeHeads(c), L.cross.o, { residual: a }), L.cross.ln);
        }
        return norm(lin(lin(a, L.ffn1, { activation: 'gelu' }), L.ffn2, { residual: a }), L.ffnLn);
      }),
    );
    if (out !== h0) h0.dispose();
    return out;
  }

  dispose(): void {
    disposeTree(this.p);
  }
}
