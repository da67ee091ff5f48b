import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { FIXTURE } from '../helpers/paths.js';
import { MissingKeysError, ShapeError, FormatError } from '../../src/index.js';
import { MemorySource } from '../../src/index.js';
import { openCheckpoint } from '../../src/io/checkpoint.js';
import { encodeTorchSave, materialize, type StoredTensor } from '../../src/io/torch.js';
import { PyOrderedDict, PyTuple, type PyValue } from '../../src/io/pickle.js';
import {
  parseBeatsConfig, parseBertConfig, parseLlamaConfig, parseWhisperConfig, parseDecodeConfig,
} from '../../src/io/config.js';
import { mapBeats, mapLlama, mapSalmonn, mapWhisperEncoder, salmonnKeyConfig, SALMONN_LORA_PREFIX } from '../../src/io/keymaps.js';
import { openCheckpointPath } from '../../src/node/index.js';

const json = (p: string): unknown => JSON.parse(readFileSync(join(FIXTURE, p), 'utf8'));
const whisperCfg = parseWhisperConfig(json('whisper/config.json'));
const llamaCfg = parseLlamaConfig(json('vicuna/config.json'));
const bertCfg = parseBertConfig(json('bert-base-uncased/config.json'));
const decode = parseDecodeConfig(readFileSync(join(FIXTURE, 'decode_config.yaml'), 'utf8'), { file: 'decode_config.yaml', cwd: FIXTURE });

function collect(): { warn: (m: string) => void; msgs: string[] } {
  const msgs: string[] = [];
  return { warn: (m) => msgs.push(m), msgs };
}

async function beatsCk() {
  const ck = await openCheckpointPath(join(FIXTURE, 'beats.pt'), { select: 'model' });
  return { ck, cfg: parseBeatsConfig((ck.root as Map<string, PyValue>).get('cfg')!, 'beats.pt cfg') };
}

function salmonnCfg(beats: ReturnType<typeof parseBeatsConfig>) {
  return salmonnKeyConfig({ whisper: whisperCfg, beats, bert: bertCfg, llama: llamaCfg, model: decode.model });
}

test('model configs from the fixture', async () => {
  assert.equal([whisperCfg.d_model, whisperCfg.encoder_layers, whisperCfg.encoder_attention_heads, whisperCfg.encoder_ffn_dim, whisperCfg.num_mel_bins, whisperCfg.max_source_positions], [64, 2, 4, 256, 80, 1500]);
  assert.equal([llamaCfg.hidden_size, llamaCfg.num_hidden_layers, llamaCfg.num_attention_heads, llamaCfg.intermediate_size, llamaCfg.vocab_size, llamaCfg.rms_norm_eps], [64, 3, 4, 176, 600, 1e-6]);
  assert.equal([bertCfg.hidden_size, bertCfg.num_attention_heads, bertCfg.intermediate_size, bertCfg.layer_norm_eps], [64, 4, 256, 1e-12]);
  const { cfg, ck } = await beatsCk();
  await ck.close();
  assert.equal([cfg.encoder_layers, cfg.encoder_embed_dim, cfg.encoder_attention_heads, cfg.embed_dim, cfg.input_patch_size, cfg.deep_norm, cfg.max_distance, cfg.layer_wise_gradient_decay_ratio], [2, 64, 4, 32, 16, true, 800, 0.6]);
  assert.throws(() => parseLlamaConfig({ hidden_size: '64' }, 'bad.json'), (e: unknown) => e instanceof FormatError && /bad\.json.*hidden_size/.test((e as Error).message));
  assert.throws(() => parseWhisperConfig('{nope', 'w.json'), /w\.json/);
});

test('Whisper: model.encoder.* from .bin and .safetensors, decoder skipped silently', async () => {
  for (const prefer of ['torch', 'safetensors'] as const) {
    const ck = await openCheckpointPath(join(FIXTURE, 'whisper'), { prefer });
    const w = collect();
    const m = mapWhisperEncoder(ck.tensors, whisperCfg, { file: ck.file, warn: w.warn });
    assert.is(m.size, 5 + 2 * 15 + 2);
    assert.equal(m.get('layers.1.fc1.weight')!.shape, [256, 64]);
    assert.not.ok(m.has('layers.0.self_attn.k_proj.bias'));
    assert.equal(w.msgs, []);
    await ck.close();
  }
});

test('Whisper: encoder.* prefix accepted; missing keys reported all at once', async () => {
  const ck = await openCheckpointPath(join(FIXTURE, 'whisper'));
  const renamed = new Map<string, StoredTensor>();
  for (const [k, t] of ck.tensors) if (k.startsWith('model.encoder.')) renamed.set(k.slice('model.'.length), t);
  const m = mapWhisperEncoder(renamed, whisperCfg, { file: 'enc.bin', warn: () => assert.unreachable('no warning expected') });
  assert.is(m.size, 37);
  renamed.delete('encoder.conv1.weight');
  renamed.delete('encoder.layers.1.fc2.bias');
  renamed.delete('encoder.layer_norm.bias');
  try {
    mapWhisperEncoder(renamed, whisperCfg, { file: 'enc.bin' });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, MissingKeysError);
    assert.equal((e as MissingKeysError).keys, ['encoder.conv1.weight', 'encoder.layers.1.fc2.bias', 'encoder.layer_norm.bias']);
    assert.match((e as Error).message, /^enc\.bin: missing 3/);
  }
  await ck.close();
});

test('BEATs: cfg + model; the shared relative table is taken from layer 0 only', async () => {
  const { ck, cfg } = await beatsCk();
  const w = collect();
  const m = mapBeats(ck.tensors, cfg, { file: ck.file, warn: w.warn });
  assert.equal(w.msgs, []);
  assert.ok(m.has('encoder.layers.0.self_attn.relative_attention_bias.weight'));
  assert.not.ok(m.has('encoder.layers.1.self_attn.relative_attention_bias.weight'));
  assert.equal(m.get('encoder.pos_conv.0.weight_v')!.shape, [64, 4, 128]);
  assert.equal(m.need('encoder.layers.1.self_attn.grep_a').shape, [1, 4, 1, 1]);
  assert.ok(m.has('predictor.weight'));
  assert.throws(() => m.need('nope'), (e: unknown) => e instanceof MissingKeysError);
  await ck.close();
});

test('SALMONN: model sub-dict, LoRA with .default, surviving buffers skipped', async () => {
  const { cfg: beatsCfg, ck: b } = await beatsCk();
  await b.close();
  const ck = await openCheckpointPath(join(FIXTURE, 'salmonn.pth'), { select: 'model' });
  const w = collect();
  const kc = salmonnCfg(beatsCfg);
  assert.is(kc.whisperDim + (kc.beatsDim ?? 0), 128);
  const m = mapSalmonn(ck.tensors, kc, { file: ck.file, warn: w.warn });
  assert.equal(w.msgs, []);
  const lora = `${SALMONN_LORA_PREFIX}2.self_attn.v_proj.lora_B.weight`;
  assert.equal(m.get(lora)!.shape, [64, 8]);
  assert.equal(m.get('speech_Qformer.bert.encoder.layer.1.crossattention.self.key.weight')!.shape, [64, 128]);
  assert.equal(m.get('speech_query_tokens')!.shape, [1, 1, 64]);
  await ck.close();
});

test('SALMONN training-style checkpoint: keys without .default, optimizer/epoch ignored, unexpected warned', async () => {
  const src = await openCheckpointPath(join(FIXTURE, 'salmonn.pth'), { select: 'model' });
  const sd = new PyOrderedDict();
  for (const [k, t] of src.tensors) sd.set(k.replace('.default.', '.'), await materialize(t));
  sd.set('some_new_module.weight', await materialize(src.tensors.get('ln_speech.weight')!));
  const bytes = encodeTorchSave(new Map<string, unknown>([
    ['model', sd],
    ['optimizer', { state: new Map(), param_groups: [{ lr: 0.01, betas: new PyTuple([0.9, 0.999]), params: [0, 1] }] }],
    ['config', { run: { seed: 42 } }],
    ['scaler', null],
    ['epoch', 4],
  ]), { archiveName: 'checkpoint_4' });
  await src.close();
  const ck = await openCheckpoint(new MemorySource(bytes, 'checkpoint_4.pth'), { select: 'model' });
  const { cfg: beatsCfg, ck: b } = await beatsCk();
  await b.close();
  const w = collect();
  const m = mapSalmonn(ck.tensors, salmonnCfg(beatsCfg), { file: ck.file, warn: w.warn });
  assert.ok(m.has(`${SALMONN_LORA_PREFIX}0.self_attn.q_proj.lora_A.weight`));
  assert.is(w.msgs.length, 1);
  assert.match(w.msgs[0], /checkpoint_4\.pth: 1 unexpected key\(s\) ignored: some_new_module\.weight/);
  assert.equal(m.unexpected, ['some_new_module.weight']);
  // select of a missing key
  await openCheckpoint(new MemorySource(bytes, 'checkpoint_4.pth'), { select: 'state_dict' }).then(() => assert.unreachable(), (e) => {
    assert.instance(e, FormatError);
    assert.match((e as Error).message, /'state_dict' not found/);
  });
});

test('SALMONN: every missing key is listed in one error; wrong shapes in one ShapeError', async () => {
  const ck = await openCheckpointPath(join(FIXTURE, 'salmonn.pth'), { select: 'model' });
  const { cfg: beatsCfg, ck: b } = await beatsCk();
  await b.close();
  const partial = new Map(ck.tensors);
  const removed = [...partial.keys()].filter((k) => k.includes('lora_B') || k.startsWith('ln_audio'));
  for (const k of removed) partial.delete(k);
  try {
    mapSalmonn(partial, salmonnCfg(beatsCfg), { file: 'salmonn.pth' });
    assert.unreachable();
  } catch (e) {
    assert.instance(e, MissingKeysError);
    assert.is((e as MissingKeysError).keys.length, removed.length);
    assert.ok((e as MissingKeysError).keys.includes('ln_audio.weight'));
    assert.ok((e as MissingKeysError).keys.includes(`${SALMONN_LORA_PREFIX}1.self_attn.q_proj.lora_B.default.weight`));
    assert.is((e as MissingKeysError).file, 'salmonn.pth');
  }
  // a 13B config against the tiny checkpoint: shapes are wrong
  const big = { ...salmonnCfg(beatsCfg), llamaHidden: 5120 };
  assert.throws(() => mapSalmonn(ck.tensors, big, { file: 'salmonn.pth' }), (e: unknown) => e instanceof ShapeError && /speech_llama_proj\.weight: expected \[5120, 64\], found \[64, 64\]/.test((e as Error).message));
  await ck.close();
});

test('Vicuna: HF LLaMA keys from both sharded layouts', async () => {
  for (const dir of ['vicuna', 'vicuna_safetensors']) {
    const ck = await openCheckpointPath(join(FIXTURE, dir));
    const w = collect();
    const m = mapLlama(ck.tensors, llamaCfg, { file: ck.file, warn: w.warn });
    assert.equal(w.msgs, []);
    assert.equal(m.get('embed_tokens.weight')!.shape, [600, 64]);
    assert.equal(m.get('layers.2.mlp.down_proj.weight')!.shape, [64, 176]);
    assert.is(m.get('lm_head.weight')!.dtype, 'f16');
    assert.ok(m.has('layers.0.self_attn.rotary_emb.inv_freq'));
    const p = new Map(ck.tensors);
    p.delete('lm_head.weight');
    p.delete('model.norm.weight');
    assert.throws(() => mapLlama(p, llamaCfg, { file: ck.file }), (e: unknown) => e instanceof MissingKeysError && (e as MissingKeysError).keys.join() === 'model.norm.weight,lm_head.weight');
    await ck.close();
  }
});

test.run();
