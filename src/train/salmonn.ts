// Adapters from the SALMONN model (src/models/salmonn.ts) to the trainer: the frozen speech stack as a
// SpeechEncoder, the LLM as a MaskObjective.
import type { SalmonnModelConfig } from '../io/config.js';
import type { Salmonn } from '../models/salmonn.js';
import type { SpeechEmbeds } from './cache.js';
import { SPEECH_CACHE_VERSION } from './cache.js';
import { LlmMaskObjective } from './objective.js';
import type { SpeechEncoder } from './speech.js';

/** The model-config keys the speech embeddings depend on (part of the cache identity). */
export function speechConfigKey(m: SalmonnModelConfig): string {
  return JSON.stringify({
    v: SPEECH_CACHE_VERSION,
    beats: m.beats_path !== '',
    q: m.use_speech_Qformer,
    nq: m.num_speech_query_token,
    wl: m.window_level_Qformer,
    spw: m.second_per_window,
    ss: m.second_stride,
  });
}

export class SalmonnSpeechEncoder implements SpeechEncoder {
  /** `weightsId`: a fingerprint of the Whisper, BEATs and SALMONN checkpoints (the CLI hashes the files). */
  constructor(readonly model: Salmonn, weightsId: string) {
    this.id = `${weightsId}\n${speechConfigKey(model.configs.model)}`;
  }
  readonly id: string;

  /**
   * Unpadded items (padTo = own length) are encoded one by one (batch-size-1 semantics); a padded group (all
   * padTo equal to the longest) is encoded as one batch, as the official collater pads it.
   */
  async encode(waves: Float64Array[], padTo: number[]): Promise<SpeechEmbeds[]> {
    const padded = padTo.some((p, i) => p > waves[i].length);
    const groups = padded ? [waves.map((_, i) => i)] : waves.map((_, i) => [i]);
    const out: SpeechEmbeds[] = new Array(waves.length);
    for (const g of groups) {
      // the frozen weights never require grad, so nothing here is recorded on the tape
      const t = await this.model.encodeSpeech(g.map((i) => waves[i]));
      const [B, T, D] = t.shape;
      const data = (await t.data()) as Float32Array;
      t.dispose();
      for (let b = 0; b < B; b++) out[g[b]] = { data: Float32Array.from(data.subarray(b * T * D, (b + 1) * T * D)), tokens: T, dim: D };
    }
    return out;
  }
}

/** The training objective on the model's LLM (end_sym and max_txt_len from the config). */
export function salmonnObjective(model: Salmonn, m: SalmonnModelConfig): LlmMaskObjective {
  // quantized LLM weights are the low-memory modes: keep one layer's activations at a time (issue 15 targets)
  return new LlmMaskObjective(model.llama, model.tokenizer, { endSym: m.end_sym, maxTxtLen: m.max_txt_len, checkpointLayers: model.llama.weightFormat !== 'fp16' });
}
