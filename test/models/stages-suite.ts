// The SALMONN parity suite, run per backend by stages-gpu.test.ts and stages-cpu.test.ts: every stage from its
// expected input (stage tolerances) and end to end from the waveform (e2e tolerances), greedy generation (ids,
// step logits, texts) for both audios, mask-only and prompt-only, and Vicuna from vicuna_safetensors/.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import '../../src/index.js';
import { fromHost, type Tensor } from '../../src/index.js';
import { loadAudio } from '../../src/index.js';
import type { Salmonn } from '../../src/index.js';
import { generate } from '../../src/index.js';
import type { Target } from '../../src/index.js';
import { FIXTURE } from '../helpers/paths.js';
import { AUDIOS, ASR_PROMPT, argmax, close, errors, json, loadTiny, npy } from './fixture.js';

const RUNS = [['mask_only', ''], ['prompt_only', ASR_PROMPT]] as const;

export function stageSuite(name: string, getTarget: () => Promise<Target>, opts: { audios?: readonly string[]; safetensors?: boolean; batch?: boolean } = {}): void {
  const test = suite(name);
  let model: Salmonn;

  test.before(async () => {
    ({ model } = await loadTiny(await getTarget()));
  });
  test.after(() => {
    console.log(`${name}: max errors:`, JSON.stringify(errors, null, 1));
    model?.dispose();
  });

  const up = (rel: string): Tensor => {
    const a = npy(rel);
    return fromHost(a.data, [1, ...a.shape], 'f32', model.target);
  };
  const get = async (t: Tensor): Promise<Float32Array> => {
    const d = (await t.data()) as Float32Array;
    t.dispose();
    return d;
  };

  for (const audio of opts.audios ?? AUDIOS) {
    test(`${audio}: each stage from its expected input`, async () => {
      close('whisper_encoder_out (stage)', await get(model.encodeWhisper(up(`${audio}/whisper_logmel.npy`))), npy(`${audio}/whisper_encoder_out.npy`).data, 1e-4);
      close('beats_out (stage)', await get(model.encodeBeats(up(`${audio}/beats_fbank.npy`))), npy(`${audio}/beats_out.npy`).data, 2e-4);
      close('qformer_input (stage)', await get(model.fuse(up(`${audio}/whisper_encoder_out.npy`), up(`${audio}/beats_out.npy`))), npy(`${audio}/qformer_input.npy`).data, 2e-4);
      close('qformer_out (stage)', await get(model.runQformer(up(`${audio}/qformer_input.npy`))), npy(`${audio}/qformer_out.npy`).data, 2e-4);
      close('speech_embeds (stage)', await get(model.project(up(`${audio}/qformer_out.npy`))), npy(`${audio}/speech_embeds.npy`).data, 2e-4);
      for (const [run, prompt] of RUNS) {
        const e = model.wrapPrompt(up(`${audio}/speech_embeds.npy`), model.promptIds(prompt));
        close('llm_input_embeds (stage)', await get(e), npy(`${audio}/${run}/llm_input_embeds.npy`).data, 2e-4);
        const all = await get(model.logits(up(`${audio}/${run}/llm_input_embeds.npy`), run === 'mask_only' ? 'default' : null));
        const last = all.subarray(all.length - model.llama.vocabSize);
        const exp = npy(`${audio}/${run}/first_step_logits.npy`).data;
        close('first_step_logits (stage)', last, exp, 1e-3);
        assert.is(argmax(last), argmax(exp));
      }
    });

    for (const [run] of RUNS) {
      test(`${audio}/${run}: greedy decoding from the expected inputs_embeds (KV cache): ids and step logits`, async () => {
        const g = json(`${audio}/${run}/generation.json`);
        const emb = up(`${audio}/${run}/llm_input_embeds.npy`);
        const sess = model.session(emb, run === 'mask_only' ? 'default' : null, 20);
        const r = await generate(sess, 1, { numBeams: 1, maxNewTokens: 20, keepLogits: true });
        sess.dispose();
        emb.dispose();
        assert.equal(r.tokens[0], g.generated_ids);
        assert.equal(r.sequences[0], g.hf_generate_output_ids);
        assert.is(r.stopReasons[0], g.stop_reason);
        const steps = npy(`${audio}/${run}/step_logits.npy`);
        const V = steps.shape[1];
        for (let k = 0; k < steps.shape[0]; k++) close('step_logits (stage)', r.stepLogits![0][k], steps.data.subarray(k * V, (k + 1) * V), 1e-3);
      });
    }

    test(`${audio}: end to end from the wav file (features, encoders, generation, texts)`, async () => {
      const wav = await loadAudio(new Uint8Array(readFileSync(join(FIXTURE, `audio/${audio}.wav`))), `${audio}.wav`);
      close('waveform', wav, npy(`${audio}/waveform.npy`).data, 0);
      const seen: Record<string, Float32Array> = {};
      for (const [run, prompt] of RUNS) {
        const g = json(`${audio}/${run}/generation.json`);
        const onStage = async (n: string, t: Tensor): Promise<void> => {
          seen[n] = (await t.data()) as Float32Array;
        };
        const o = { prompt, mask: run === 'mask_only' ? ('default' as const) : null, generate: { numBeams: 1, maxNewTokens: 20 }, onStage };
        // the speech stack runs once (mask run); the prompt run reuses its speech embeddings
        const r = run === 'mask_only'
          ? await model.generate({ wavs: [wav] }, o)
          : await model.generate({ speech: fromHost(seen.speech_embeds, [1, 88, seen.speech_embeds.length / 88], 'f32', model.target) }, o);
        if (run === 'mask_only') {
          close('whisper_logmel (e2e)', seen.whisper_logmel, npy(`${audio}/whisper_logmel.npy`).data, 2e-4);
          close('beats_fbank (e2e)', seen.beats_fbank, npy(`${audio}/beats_fbank.npy`).data, 1e-4);
          close('whisper_encoder_out (e2e)', seen.whisper_encoder_out, npy(`${audio}/whisper_encoder_out.npy`).data, 5e-4);
          close('beats_out (e2e)', seen.beats_out, npy(`${audio}/beats_out.npy`).data, 1e-3);
          close('qformer_input (e2e)', seen.qformer_input, npy(`${audio}/qformer_input.npy`).data, 1e-3);
          close('qformer_out (e2e)', seen.qformer_out, npy(`${audio}/qformer_out.npy`).data, 1e-3);
          close('speech_embeds (e2e)', seen.speech_embeds, npy(`${audio}/speech_embeds.npy`).data, 1e-3);
        }
        close('llm_input_embeds (e2e)', seen.llm_input_embeds, npy(`${audio}/${run}/llm_input_embeds.npy`).data, 1e-3);
        const fl = npy(`${audio}/${run}/first_step_logits.npy`).data;
        close('first_step_logits (e2e)', seen.first_step_logits, fl, 2e-3);
        assert.is(argmax(seen.first_step_logits), argmax(fl));
        assert.equal(r.tokens[0], g.generated_ids);
        assert.is(r.texts[0], g.text_ahamask_decode);
        assert.is(r.outputs[0], g.text_ahamask_evaluate_py);
        assert.is(r.rawTexts[0], g.text_salmonn_decode);
        assert.is(r.inputLength, g.input_len);
      }
    });
  }

  if (opts.batch !== false) {
    test('padded batch (chirp3s + mix12s): BEATs padding mask semantics and the speech tokens of the batch', async () => {
      const lens = [48000, 192000];
      const fb = npy('training/beats_fbank_batch.npy');
      const b = model.encodeBeats(fromHost(fb.data, fb.shape, 'f32', model.target), lens, 192000);
      close('beats_out_batch (stage)', await get(b), npy('training/beats_out_batch.npy').data, 2e-4);
      const wavs = await Promise.all(['chirp3s', 'mix12s'].map(async (a) => loadAudio(new Uint8Array(readFileSync(join(FIXTURE, `audio/${a}.wav`))), a)));
      assert.equal(wavs.map((w) => w.length), lens);
      const s = await model.encodeSpeech(wavs);
      close('speech_embeds_batch (e2e)', await get(s), npy('training/speech_embeds_batch.npy').data, 1e-3);
    });
  }

  if (opts.batch !== false) {
    test('batched decoding (2 rows): greedy equals per-row (row 0 EOS stops all), beam search equals per-item', async () => {
      const a = npy('chirp3s/mask_only/llm_input_embeds.npy'), b = npy('speech_espeak/mask_only/llm_input_embeds.npy');
      const both = new Float32Array(a.data.length * 2);
      both.set(a.data);
      both.set(b.data, a.data.length);
      const emb = fromHost(both, [2, ...a.shape], 'f32', model.target);
      const g = (x: string) => json(`${x}/mask_only/generation.json`).generated_ids as number[];
      let sess = model.session(emb, 'default', 20);
      const r = await generate(sess, 2, { numBeams: 1, maxNewTokens: 20 });
      sess.dispose();
      assert.equal(r.tokens, [g('chirp3s'), g('speech_espeak')]);
      // beams: batch of 2 vs each item alone
      sess = model.session(emb, 'default', 12);
      const rb = await generate(sess, 2, { numBeams: 3, maxNewTokens: 12 });
      sess.dispose();
      for (const [i, x] of [[0, a], [1, b]] as const) {
        const e1 = fromHost(x.data, [1, ...x.shape], 'f32', model.target);
        const s1 = model.session(e1, 'default', 12);
        const r1 = await generate(s1, 1, { numBeams: 3, maxNewTokens: 12 });
        s1.dispose();
        e1.dispose();
        assert.equal(rb.tokens[i], r1.tokens[0]);
        assert.ok(Math.abs(rb.scores![i] - r1.scores![0]) < 1e-4);
      }
      // a continuous per-row mask equal to the thresholded one gives the same result
      const L = model.configs.llama.num_hidden_layers, H = model.configs.llama.num_attention_heads;
      const hard = new Float32Array(2 * L * H);
      for (let r = 0; r < 2; r++) for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) hard[(r * L + l) * H + h] = model.maskLogits![l * (H + 1) + h] >= 0 ? 1 : 0;
      sess = model.session(emb, { multipliers: hard, rows: 2 }, 20);
      const rm = await generate(sess, 2, { numBeams: 1, maxNewTokens: 20 });
      sess.dispose();
      assert.equal(rm.tokens, r.tokens);
      emb.dispose();
    });
  }

  if (opts.safetensors !== false) {
    test('Vicuna from vicuna_safetensors/: same generation', async () => {
      const { model: m2 } = await loadTiny(model.target, { llamaPath: 'vicuna_safetensors' });
      try {
        for (const audio of AUDIOS) {
          const g = json(`${audio}/mask_only/generation.json`);
          const a = npy(`${audio}/mask_only/llm_input_embeds.npy`);
          const emb = fromHost(a.data, [1, ...a.shape], 'f32', m2.target);
          const sess = m2.session(emb, 'default', 20);
          const r = await generate(sess, 1, { numBeams: 1, maxNewTokens: 20 });
          sess.dispose();
          emb.dispose();
          assert.equal(r.tokens[0], g.generated_ids);
        }
      } finally {
        m2.dispose();
      }
    });
  }

  test.run();
}
