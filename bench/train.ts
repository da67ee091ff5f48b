// `node bench train`: AHAMask training steps per second on the tiny-salmonn fixture (batch 2, 116 positions,
// speech embeddings cached after the first step, so a step is the LLM forward + backward to the mask + AdamW).
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { once, summarize, type Ctx } from './harness.js';
import '../src/autograd/index.js';
import { parseTrainConfig } from '../src/io/config.js';
import { Salmonn } from '../src/models/salmonn.js';
import { nodeFileSystem } from '../src/cli/evaluate.js';
import { NodeTrainFs } from '../src/cli/train-fs.js';
import { SpeechCache } from '../src/train/cache.js';
import { SalmonnSpeechEncoder, salmonnObjective } from '../src/train/salmonn.js';
import { SpeechSource } from '../src/train/speech.js';
import { Trainer } from '../src/train/trainer.js';

const FIXTURE = resolve(fileURLToPath(new URL('../test/shared/fixtures/tiny-salmonn', import.meta.url)));

export async function run(ctx: Ctx): Promise<void> {
  const steps = ctx.quick ? 5 : 20;
  const cfg = parseTrainConfig(readFileSync(join(FIXTURE, 'train_config.yaml'), 'utf8'), { file: 'train_config.yaml', cwd: FIXTURE, warn: () => {} });
  const out = mkdtempSync(join(tmpdir(), 'ahamask-bench-train-'));
  const fs = new NodeTrainFs();
  const model = await Salmonn.load({ model: cfg.model, fs: nodeFileSystem(FIXTURE), target: ctx.dev, mask: null, cwd: FIXTURE, warn: () => {} });
  const enc = new SalmonnSpeechEncoder(model, 'bench');
  const trainer = new Trainer({
    cfg, fs, outputDir: out, validate: false, maxSteps: steps + 1,
    speech: new SpeechSource(fs, enc, new SpeechCache({ modelId: enc.id }), 'padded_batch'),
    objectives: [salmonnObjective(model, cfg.model)],
  });
  try {
    ctx.progress(`train: ${steps + 1} steps`);
    const r = await trainer.run();
    const first = r.history[0].time_s * 1000;
    const rest = r.history.slice(1).map((h) => h.time_s * 1000);
    const steady = summarize(rest.map((wall_ms) => ({ gpu_ms: null, wall_ms })));
    ctx.report({ kernel: 'train step (first: speech encoders + LLM fwd/bwd)', shape: 'B2 S116 tiny', dtype: 'f32/f16', ...once(first), note: 'one run' });
    ctx.report({ kernel: 'train step (cached speech: LLM fwd/bwd + AdamW)', shape: 'B2 S116 tiny', dtype: 'f32/f16', ...steady, note: `${(1000 / steady.median_ms).toFixed(2)} steps/s (median step)` });
  } finally {
    trainer.dispose();
    model.dispose();
    rmSync(out, { recursive: true, force: true });
  }
}
