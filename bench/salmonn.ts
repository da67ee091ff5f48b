// Whole-pipeline SALMONN timings on the tiny fixture (real shapes where they matter: 30 s Whisper input, 1500
// frames, 88 windows, BEATs on the clip's fbank): features, each encoder, Q-Former, LLM prefill, one decode step,
// greedy generation end to end; the CPU reference backend as baseline for the encoders.
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readFileSync } from 'node:fs';
import { parseDecodeConfig } from '../src/io/config.js';
import { loadAudio } from '../src/io/audio.js';
import { Salmonn } from '../src/models/salmonn.js';
import { nodeFileSystem } from '../src/cli/evaluate.js';
import { fromHost, type Tensor } from '../src/tensor/tensor.js';
import type { Target } from '../src/models/weights.js';
import { Ctx, compare, once, time, timeHost, type Stats } from './harness.js';

const FIX = fileURLToPath(new URL('../test/shared/fixtures/tiny-salmonn', import.meta.url));

async function load(target: Target): Promise<Salmonn> {
  const cfg = parseDecodeConfig(readFileSync(join(FIX, 'decode_config.yaml'), 'utf8'), { file: 'decode_config.yaml', cwd: FIX });
  return Salmonn.load({ model: cfg.model, fs: nodeFileSystem(FIX), target, cwd: FIX, warn: () => {} });
}

export async function run(ctx: Ctx): Promise<void> {
  const t0 = performance.now();
  const m = await load(ctx.dev);
  const loadMs = performance.now() - t0;
  ctx.report({ kernel: 'salmonn.load (tiny)', shape: 'all checkpoints', dtype: 'keep', ...once(loadMs), note: 'one cold run' });
  const wav = await loadAudio(new Uint8Array(readFileSync(join(FIX, 'audio/speech_espeak.wav'))), 'speech_espeak.wav');
  ctx.progress('salmonn: features');
  const featT = await timeHost(() => Salmonn.features([wav]), 3);
  ctx.report({ kernel: 'features (host)', shape: `${wav.length} samples`, dtype: 'f64', ...featT, note: 'whisper log-mel + kaldi fbank' });
  const f = Salmonn.features([wav]);
  const up = (v: Float32Array, s: number[], target: Target): Tensor => fromHost(v, s, 'f32', target);
  const logmel = up(f.logmel, [1, 80, 3000], ctx.dev), fbank = up(f.fbank, [1, f.frames, 128], ctx.dev);
  const reps = 3;
  ctx.progress('salmonn: encoders, Q-Former, prefill');
  const w = await time(ctx.dev, () => m.encodeWhisper(logmel), reps);
  const b = await time(ctx.dev, () => m.encodeBeats(fbank), reps);
  const wOut = m.encodeWhisper(logmel), bOut = m.encodeBeats(fbank);
  const fq = await time(ctx.dev, () => m.project(m.runQformer(m.fuse(wOut, bOut))), reps);
  const speech = m.project(m.runQformer(m.fuse(wOut, bOut)));
  const embeds = m.wrapPrompt(speech, m.promptIds(''));
  const pre = await time(ctx.dev, () => m.logits(embeds), reps);
  // CPU baselines for the encoders
  const cpu = ctx.quick ? null : await load('cpu');
  let wCpu: Stats | undefined, bCpu: Stats | undefined;
  if (cpu) {
    const lc = up(f.logmel, [1, 80, 3000], 'cpu'), fc = up(f.fbank, [1, f.frames, 128], 'cpu');
    ctx.progress('salmonn: CPU reference encoders');
    wCpu = await timeHost(() => cpu.encodeWhisper(lc).dispose(), reps);
    bCpu = await timeHost(() => cpu.encodeBeats(fc).dispose(), reps);
    cpu.dispose();
  }
  const wShape = '[1,80,3000] d64 L2', bShape = `[1,${f.frames},128] d64 L2`;
  compare(ctx, { kernel: 'whisper encoder', shape: wShape, dtype: 'f32', stats: w, work: 1 }, wCpu ? [{ kernel: 'cpu reference', shape: wShape, dtype: 'f32', stats: wCpu, work: 1 }] : []);
  compare(ctx, { kernel: 'beats encoder', shape: bShape, dtype: 'f32', stats: b, work: 1 }, bCpu ? [{ kernel: 'cpu reference', shape: bShape, dtype: 'f32', stats: bCpu, work: 1 }] : []);
  ctx.report({ kernel: 'fuse+qformer+proj', shape: '[1,1500,128] -> [1,88,64]', dtype: 'f32', ...fq });
  ctx.report({ kernel: 'llm prefill (logits)', shape: `[1,${embeds.shape[1]},64] L3`, dtype: 'f16 w', ...pre });
  // decode: greedy 20 tokens end to end from the waveform, and the per-token cost
  ctx.progress('salmonn: generate');
  const g0 = performance.now();
  const r = await m.generate({ wavs: [wav] }, { prompt: '', generate: { numBeams: 1, maxNewTokens: 20 } });
  const genMs = performance.now() - g0;
  ctx.report({ kernel: 'generate greedy e2e', shape: `${r.tokens[0].length} new tokens`, dtype: 'f16 w', ...once(genMs), note: 'one run' });
  const b0 = performance.now();
  const rb = await m.generate({ wavs: [wav] }, { prompt: '', generate: { numBeams: 4, maxNewTokens: 20 } });
  ctx.report({ kernel: 'generate beam4 e2e', shape: `${rb.tokens[0].length} new tokens`, dtype: 'f16 w', ...once(performance.now() - b0), note: 'one run' });
  const sess = m.session(embeds, 'default', 40);
  await sess.prefill(1);
  const stepT = await timeHost(() => sess.step([448]), ctx.quick ? 3 : 10, 1);
  sess.dispose();
  ctx.report({ kernel: 'decode step (KV cache)', shape: '1 token, tiny LLM', dtype: 'f16 w', ...stepT, note: 'incl. logits readback' });
  for (const t of [logmel, fbank, wOut, bOut, speech, embeds]) t.dispose();
  m.dispose();
}
