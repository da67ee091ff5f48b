// SALMONN-13B built from its configs alone (no weights): 88 speech tokens, 106 prompt positions for the empty
// instruction (token ids of spec §2.8), 1640 mask entries; the released masks pass the length check, a tiny one
// fails before anything loads; computed memory for 7B and 13B.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/index.js';
import { parseBeatsConfig, parseBertConfig, parseDecodeConfig, parseLlamaConfig, parseWhisperConfig } from '../../src/io/config.js';
import { readMaskCheckpoint } from '../../src/io/mask.js';
import { memoryEstimate, salmonnArchitecture, checkMaskLength, type SalmonnConfigs } from '../../src/models/salmonn.js';
import { buildPromptText, promptIds, promptLength } from '../../src/models/prompt.js';
import { openFile } from '../../src/node/files.js';
import { AHAMASK_DATA } from '../helpers/paths.js';

const WHISPER_LARGE_V2 = { d_model: 1280, encoder_layers: 32, encoder_attention_heads: 20, encoder_ffn_dim: 5120, num_mel_bins: 80, max_source_positions: 1500 };
const BEATS_CFG = {
  input_patch_size: 16, embed_dim: 512, conv_bias: false, encoder_layers: 12, encoder_embed_dim: 768, encoder_ffn_embed_dim: 3072,
  encoder_attention_heads: 12, activation_fn: 'gelu', layer_wise_gradient_decay_ratio: 0.6, layer_norm_first: false, deep_norm: true,
  dropout: 0.0, attention_dropout: 0.0, activation_dropout: 0.0, encoder_layerdrop: 0.05, dropout_input: 0.0, conv_pos: 128,
  conv_pos_groups: 16, relative_position_embedding: true, num_buckets: 320, max_distance: 800, gru_rel_pos: true, finetuned_model: true,
  predictor_dropout: 0.0, predictor_class: 527,
};
const VICUNA_13B = { hidden_size: 5120, intermediate_size: 13824, num_hidden_layers: 40, num_attention_heads: 40, rms_norm_eps: 1e-6, vocab_size: 32000, torch_dtype: 'float16' };
const VICUNA_7B = { hidden_size: 4096, intermediate_size: 11008, num_hidden_layers: 32, num_attention_heads: 32, rms_norm_eps: 1e-5, vocab_size: 32000, max_position_embeddings: 4096 };

function configs(llama: object): SalmonnConfigs {
  const dc = parseDecodeConfig(readFileSync(join(AHAMASK_DATA, 'configs/decode_config.yaml'), 'utf8'), { file: 'decode_config.yaml', cwd: '/x', warn: () => {} });
  return { whisper: parseWhisperConfig(WHISPER_LARGE_V2), beats: parseBeatsConfig(BEATS_CFG), bert: parseBertConfig({}), llama: parseLlamaConfig(llama), model: dc.model };
}

// LLaMA tokenizer ids of the prompt halves (spec §2.8; the real tokenizer.model is not redistributable)
const SPEC_IDS: Record<string, number[]> = {
  'USER: <Speech>': [3148, 1001, 29901, 529, 10649, 5309, 29958],
  '</Speech> \nASSISTANT:': [1533, 10649, 5309, 29958, 29871, 13, 22933, 9047, 13566, 29901],
};

test('SALMONN-13B: 88 speech tokens, 106 prompt positions, 1640 mask entries, Q-Former width 2048', () => {
  const a = salmonnArchitecture(configs(VICUNA_13B));
  assert.is(a.windowKernel, 17);
  assert.is(a.windowStride, 17);
  assert.is(a.windows, 88);
  assert.is(a.speechTokens, 88);
  assert.is(a.encoderWidth, 2048);
  assert.is(a.maskLength, 1640);
  const ids = promptIds({ encode: (t) => SPEC_IDS[t] ?? assert.unreachable(`unexpected text ${JSON.stringify(t)}`) as never }, buildPromptText('USER: {}\nASSISTANT:', ''));
  assert.is(promptLength(ids, a.speechTokens), 106);
  // every checkpoint spec has the real shapes
  const shape = (list: { name: string; shape?: number[] }[], n: string) => list.find((s) => s.name === n)?.shape;
  assert.equal(shape(a.specs.salmonn, 'speech_Qformer.bert.encoder.layer.0.crossattention.self.key.weight'), [768, 2048]);
  assert.equal(shape(a.specs.salmonn, 'speech_llama_proj.weight'), [5120, 768]);
  assert.equal(shape(a.specs.llama, 'layers.39.mlp.down_proj.weight'), [5120, 13824]);
  assert.equal(shape(a.specs.beats, 'encoder.pos_conv.0.weight_v'), [768, 48, 128]);
  assert.equal(shape(a.specs.whisper, 'layers.31.fc1.weight'), [5120, 1280]);
});

test('mask length check: the released 13B masks pass, the wrong model fails with a clear message', async () => {
  const dir = join(AHAMASK_DATA, 'legacy_checkpoints');
  const c13 = configs(VICUNA_13B).llama, c7 = configs(VICUNA_7B).llama;
  for (const task of readdirSync(dir)) {
    const m = await readMaskCheckpoint(await openFile(join(dir, task, 'checkpoint.pth')));
    assert.is(m.logits.length, 1640);
    checkMaskLength(m.logits.length, c13, task);
    assert.throws(() => checkMaskLength(m.logits.length, c7, task), /1640 entries.*32 layers x \(32 heads \+ 1\) = 1056/);
  }
});

test('computed memory for SALMONN-7B and -13B (README figures)', () => {
  for (const [name, llama] of [['13B', VICUNA_13B], ['7B', VICUNA_7B]] as const) {
    const a = salmonnArchitecture(configs(llama));
    const m = memoryEstimate(a, { batch: 1, numBeams: 4, maxNewTokens: 100 });
    const gib = (n: number) => (n / 2 ** 30).toFixed(2);
    console.log(`SALMONN-${name}: weights ${gib(m.weights.total)} GiB (whisper ${gib(m.weights.whisper)}, beats ${gib(m.weights.beats)}, salmonn ${gib(m.weights.salmonn)}, llm ${gib(m.weights.llama)}), encoder peak ${gib(m.encoderPeak)}, KV cache ${gib(m.kvCache)}, GPU peak ${gib(m.gpuPeak)} GiB, host peak ${gib(m.hostPeak)} GiB`);
    assert.ok(m.weights.llama > (name === '13B' ? 24e9 : 12e9));
  }
});

test('quantized SALMONN-13B fits the issue-15 targets: q4 inference <= 11 GiB, q4 mask training at batch 8 <= 16 GiB, int8 inference <= 17 GiB', () => {
  const a = salmonnArchitecture(configs(VICUNA_13B));
  const gib = (n: number) => n / 2 ** 30;
  const inf = (f: 'fp16' | 'int8' | 'q4') => memoryEstimate(a, { batch: 1, numBeams: 4, maxNewTokens: 100, llmWeights: f });
  const tr = (f: 'fp16' | 'int8' | 'q4') => memoryEstimate(a, { batch: 8, mode: 'training', llmWeights: f });
  for (const f of ['fp16', 'int8', 'q4'] as const) {
    const i = inf(f), t = tr(f);
    console.log(`SALMONN-13B ${f}: LLM weights ${gib(i.weights.llama).toFixed(2)} GiB, inference peak GPU ${gib(i.gpuPeak).toFixed(2)} GiB (host ${gib(i.hostPeak).toFixed(2)}), training batch 8 peak GPU ${gib(t.gpuPeak).toFixed(2)} GiB (host ${gib(t.hostPeak).toFixed(2)})`);
  }
  // fp16 with explicit format equals the legacy 2 bytes per parameter up to the f32 norms
  assert.ok(Math.abs(inf('fp16').weights.llama - memoryEstimate(a).weights.llama) < 1e6);
  // 12.7 G linear parameters: 1 byte (int8) or 4.25 bits (q4) each
  assert.ok(Math.abs(gib(inf('int8').weights.llama) - 12.4) < 0.2, `int8 LLM ${gib(inf('int8').weights.llama)}`);
  assert.ok(Math.abs(gib(inf('q4').weights.llama) - 6.6) < 0.2, `q4 LLM ${gib(inf('q4').weights.llama)}`);
  assert.ok(gib(inf('q4').gpuPeak) <= 11, `q4 inference ${gib(inf('q4').gpuPeak)}`);
  assert.ok(gib(inf('int8').gpuPeak) <= 17, `int8 inference ${gib(inf('int8').gpuPeak)}`);
  assert.ok(gib(tr('q4').gpuPeak) <= 16, `q4 training ${gib(tr('q4').gpuPeak)}`);
  // without checkpointing, training at batch 8 would not fit
  assert.ok(gib(memoryEstimate(a, { batch: 8, mode: 'training', llmWeights: 'q4', checkpointLayers: false }).gpuPeak) > 16);
});

test.run();
