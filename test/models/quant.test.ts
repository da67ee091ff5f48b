// SALMONN (tiny fixture) with quantized LLM weights: logits in int8 (LLM.int8) and q4 against the same model's
// fp16 logits (loosely: a bound from the weights' own quantization error) and, tightly, GPU against the CPU
// reference of the same quantized weights; greedy (teacher-forced argmax) agreement; a mask-training step
// (head-mask gradient through the quantized linears) close to fp16's. Prints the figures for the README.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import '../../src/index.js';
import { backward, requiresGrad } from '../../src/autograd/index.js';
import { crossEntropy } from '../../src/ops/reduce.js';
import { QuantizedWeight, dequantize, type LlmWeightFormat } from '../../src/ops/quant.js';
import { Salmonn } from '../../src/models/salmonn.js';
import type { Target } from '../../src/models/weights.js';
import { nodeFileSystem } from '../../src/cli/evaluate.js';
import { Tensor, fromHost, tidy } from '../../src/tensor/tensor.js';
import { gpu } from '../helpers/gpu.js';
import { FIXTURE } from '../helpers/paths.js';
import { decodeConfig } from './fixture.js';

const IDS = [1, 3148, 1001, 29901, 529, 17, 250, 599, 42, 7, 300, 123, 55, 2, 480, 91, 16, 333, 77, 5].map((i) => i % 600);
const TARGETS = IDS.slice(1).concat([2]);

async function load(target: Target, llmWeights: LlmWeightFormat): Promise<Salmonn> {
  const cfg = decodeConfig();
  return Salmonn.load({ model: cfg.model, fs: nodeFileSystem(FIXTURE), target, cwd: FIXTURE, mask: null, warn: () => {}, llmWeights });
}

interface Run {
  logits: Float32Array;
  grad: Float32Array;
  weightRelErr: number;
}

/** Teacher-forced logits [T, V] and the head-mask gradient of the CE loss (masks all ones, trainable). */
async function run(target: Target, fmt: LlmWeightFormat): Promise<Run> {
  const m = await load(target, fmt);
  try {
    const llm = m.llama;
    assert.is(llm.weightFormat, fmt);
    const L = llm.cfg.num_hidden_layers, H = llm.cfg.num_attention_heads;
    const masks = Array.from({ length: L }, () => requiresGrad(fromHost(new Float32Array(H).fill(1), [H], 'f32', target)));
    const logits = await tidy(() => {
      const x = llm.embed(IDS, [1, IDS.length]);
      const lg = llm.logits(x, { headMasks: masks });
      const loss = crossEntropy(lg.reshape([IDS.length, -1]), fromHost(Int32Array.from(TARGETS), [IDS.length], 'i32', target));
      backward(loss);
      return lg;
    }).data() as Float32Array;
    const grad = new Float32Array(L * H);
    for (let l = 0; l < L; l++) grad.set(await masks[l].grad!.data(), l * H);
    // relative RMS error of the dequantized linear weights (the scale of the logits' expected deviation)
    let se = 0, ss = 0;
    if (fmt !== 'fp16') {
      const ref = await load('cpu', 'fp16');
      for (let i = 0; i < L; i++) {
        for (const k of ['q', 'k', 'v', 'o', 'gate', 'up', 'down'] as const) {
          const qw = llm.p.layers[i][k] as QuantizedWeight;
          const d = await dequantize(qw).data(), w = await (ref.llama.p.layers[i][k] as Tensor).data();
          for (let j = 0; j < w.length; j++) (se += (d[j] - w[j]) ** 2), (ss += w[j] ** 2);
        }
      }
      ref.dispose();
    }
    return { logits, grad, weightRelErr: fmt === 'fp16' ? 0 : Math.sqrt(se / ss) };
  } finally {
    m.dispose();
  }
}

function stats(a: Float32Array, b: Float32Array, V: number): { max: number; mean: number; rms: number; agree: number } {
  let max = 0, sum = 0, sq = 0, agree = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i] - b[i]);
    max = Math.max(max, d);
    sum += d;
    sq += b[i] * b[i];
  }
  const T = a.length / V;
  for (let t = 0; t < T; t++) {
    let ia = 0, ib = 0;
    for (let v = 1; v < V; v++) {
      if (a[t * V + v] > a[t * V + ia]) ia = v;
      if (b[t * V + v] > b[t * V + ib]) ib = v;
    }
    if (ia === ib) agree++;
  }
  return { max, mean: sum / a.length, rms: Math.sqrt(sq / a.length), agree: agree / T };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) (ab += a[i] * b[i]), (aa += a[i] * a[i]), (bb += b[i] * b[i]);
  return ab / Math.sqrt(aa * bb);
}

test('int8 and q4 logits and mask gradients: GPU = CPU reference, close to fp16 within the quantization error', async () => {
  const dev = await gpu();
  const V = 600;
  const fp16 = await run('cpu', 'fp16');
  const fp16g = await run(dev, 'fp16');
  const base = stats(fp16g.logits, fp16.logits, V);
  assert.ok(base.max < 1e-3 * base.rms + 1e-4, `fp16 GPU vs CPU ${base.max}`);
  for (const fmt of ['int8', 'q4'] as const) {
    const c = await run('cpu', fmt), g = await run(dev, fmt);
    const same = stats(g.logits, c.logits, V), vs = stats(c.logits, fp16.logits, V);
    const gc = cosine(g.grad, c.grad), gf = cosine(c.grad, fp16.grad);
    let gdiff = 0, gn = 0;
    for (let i = 0; i < c.grad.length; i++) (gdiff += (c.grad[i] - fp16.grad[i]) ** 2), (gn += fp16.grad[i] ** 2);
    const gRel = Math.sqrt(gdiff / gn);
    console.log(`${fmt}: weights rel. RMS error ${c.weightRelErr.toExponential(2)}; logits vs fp16 max ${vs.max.toExponential(2)} mean ${vs.mean.toExponential(2)} (logit RMS ${vs.rms.toFixed(3)}), argmax agreement ${(vs.agree * 100).toFixed(0)} %; GPU vs CPU max ${same.max.toExponential(2)}; mask grad vs fp16 cosine ${gf.toFixed(4)} rel. L2 ${gRel.toExponential(2)}, GPU vs CPU cosine ${gc.toFixed(6)}`);
    // the GPU runs the same quantized weights as the CPU reference: only float rounding (and, in int8, a rare
    // activation rounding flip) separates them
    assert.ok(same.max <= (fmt === 'q4' ? 2e-4 : 2e-3) * same.rms + 1e-5, `${fmt} GPU vs CPU max ${same.max}`);
    assert.ok(gc > 0.9999, `${fmt} mask gradient GPU vs CPU cosine ${gc}`);
    // against fp16: the mean logit deviation stays within a few times the weights' relative error (3 layers
    // and lm_head compound it); a wrong dequantization would put it near the logits' own RMS
    assert.ok(vs.mean <= 4 * c.weightRelErr * vs.rms, `${fmt} mean |logit diff| ${vs.mean} vs bound ${4 * c.weightRelErr * vs.rms}`);
    assert.ok(vs.agree >= (fmt === 'int8' ? 0.9 : 0.75), `${fmt} argmax agreement ${vs.agree}`);
    assert.ok(gf > 0.95 && gRel < 8 * c.weightRelErr + 0.05, `${fmt} mask gradient vs fp16: cosine ${gf}, rel ${gRel}`);
  }
});

test('layer checkpointing (training in the low-memory modes) gives the same mask gradient', async () => {
  const dev = await gpu();
  const m = await load(dev, 'q4');
  try {
    const llm = m.llama;
    const L = llm.cfg.num_hidden_layers, H = llm.cfg.num_attention_heads;
    const grads: Float32Array[] = [];
    for (const ck of [false, true]) {
      const masks = Array.from({ length: L }, (_, l) => requiresGrad(fromHost(Float32Array.from({ length: 2 * H }, (_, i) => 0.5 + ((i * 7 + l) % 5) / 8), [2, H], 'f32', dev)));
      const x = llm.embed([...IDS, ...IDS.slice().reverse()], [2, IDS.length]);
      tidy(() => {
        const h = llm.hidden(x, { headMasks: masks, checkpointLayers: ck });
        const lg = llm.lmHead(h).reshape([2 * IDS.length, -1]);
        backward(crossEntropy(lg, fromHost(Int32Array.from([...TARGETS, ...TARGETS]), [2 * IDS.length], 'i32', dev)));
      });
      const g = new Float32Array(2 * L * H);
      for (let l = 0; l < L; l++) g.set(await masks[l].grad!.data(), l * 2 * H);
      grads.push(g);
      x.dispose();
    }
    let d = 0, n = 0;
    for (let i = 0; i < grads[0].length; i++) (d = Math.max(d, Math.abs(grads[0][i] - grads[1][i]))), (n = Math.max(n, Math.abs(grads[0][i])));
    assert.ok(n > 0 && d <= 1e-5 * n, `checkpointed mask gradient differs by ${d} (max |g| ${n})`);
  } finally {
    m.dispose();
  }
});

test.run();
