// The AHAMask demo (issue 11): the demo SALMONN on held-out clips, every task three ways — the task's instruction
// and no mask, the task's mask and an empty prompt (AHAMask), neither — so the table shows a head mask alone
// replacing the instruction. Browser-clean: the CLI (src/cli/demo.ts) and the web page feed it clips and masks.
import { AhamaskError } from '../errors.js';
import { maskSummary } from '../io/mask.js';
import type { GenerateOptions } from '../models/generate.js';
import type { Salmonn } from '../models/salmonn.js';
import { concat, tidy, type Tensor } from '../index.js';
import { DEMO_TASKS, normalizeAnswer, scoreTask, type DemoClip, type DemoTask } from './tasks.js';

/** The three ways each task is run. */
export const DEMO_WAYS = ['instruction', 'mask', 'none'] as const;
export type DemoWay = (typeof DEMO_WAYS)[number];

export interface DemoScore {
  accuracy: number;
  wer?: number;
}

export interface DemoTaskResult {
  name: string;
  metric: 'accuracy' | 'wer';
  instruction: DemoScore;
  mask: DemoScore | null;
  none: DemoScore;
  /** Heads the mask keeps (null: no mask shipped for this task). */
  headsOn: number | null;
  /** Per clip: the reference and what each way produced. */
  outputs: Array<{ id: string; reference: string; instruction: string; mask: string | null; none: string }>;
}

export interface DemoMaskInfo {
  task: string;
  logits: Float32Array;
  /** Per layer: heads kept. */
  perLayer: number[];
  headsOn: number;
}

export interface DemoResult {
  tasks: DemoTaskResult[];
  masks: DemoMaskInfo[];
  /** Jaccard overlap of the kept heads between every pair of masks (same order as `masks`). */
  overlap: number[][];
  clips: number;
  nLayers: number;
  nHeads: number;
  seconds: { encode: number; generate: number };
}

export interface DemoClipAudio {
  clip: DemoClip;
  /** 16 kHz waveform as SALMONN loads it. */
  wav: Float32Array;
}

export interface RunDemoOptions {
  /** Masks by task name (logits in the released L*(H+1) layout). */
  masks: Map<string, Float32Array>;
  /** Instruction per task (default: the task's first training instruction). */
  instructions?: Map<string, string>;
  tasks?: DemoTask[];
  generate?: Partial<GenerateOptions>;
  /** Rows generated at once (all clips of a task share one prompt, so they batch without padding). */
  batch?: number;
  onProgress?: (done: number, total: number, note: string) => void;
  now?: () => number;
}

/** Kept-head sets and their pairwise Jaccard overlap. */
export function maskOverlap(masks: DemoMaskInfo[], nLayers: number, nHeads: number): number[][] {
  const sets = masks.map((m) => {
    const s = new Set<number>();
    for (let l = 0; l < nLayers; l++) for (let h = 0; h < nHeads; h++) if (Math.fround(m.logits[l * (nHeads + 1) + h]) >= 0) s.add(l * nHeads + h);
    return s;
  });
  return sets.map((a) =>
    sets.map((b) => {
      let inter = 0;
      for (const x of a) if (b.has(x)) inter++;
      const union = a.size + b.size - inter;
      return union === 0 ? 1 : inter / union;
    }),
  );
}

export async function runDemo(model: Salmonn, clips: DemoClipAudio[], opts: RunDemoOptions): Promise<DemoResult> {
  if (clips.length === 0) throw new AhamaskError('demo: no clips');
  const now = opts.now ?? (() => performance.now());
  const tasks = opts.tasks ?? DEMO_TASKS;
  const L = model.configs.llama.num_hidden_layers, H = model.configs.llama.num_attention_heads;
  const gen: Partial<GenerateOptions> = { numBeams: 1, maxNewTokens: 16, ...opts.generate };
  const B = Math.max(1, opts.batch ?? 16);
  const runs = tasks.reduce((n, t) => n + (opts.masks.has(t.name) ? 3 : 2), 0);
  const total = clips.length + runs * Math.ceil(clips.length / B);
  let done = 0;
  const tick = (note: string): void => opts.onProgress?.(++done, total, note);

  // 1. speech embeddings once per clip (they do not depend on the prompt or the mask), each clip alone as
  //    batch-size-1 inference encodes it (BEATs' padded batches would differ), then stacked per generate batch
  const t0 = now();
  const speech: Tensor[] = [];
  try {
    for (const c of clips) {
      speech.push(await model.encodeSpeech([c.wav]));
      tick(`encoding ${c.clip.id}`);
    }
    const t1 = now();
    const results: DemoTaskResult[] = [];
    for (const task of tasks) {
      const refs = clips.map((c) => task.target(c.clip));
      // the instruction text without SALMONN's speech tag (buildPromptText adds it)
      const instruction = (opts.instructions?.get(task.name) ?? task.instructions[0]).replace(/^\s*<Speech><SpeechHere><\/Speech>\s*/, '');
      const maskLogits = opts.masks.get(task.name) ?? null;
      const outs: Partial<Record<DemoWay, string[]>> = {};
      for (const way of DEMO_WAYS) {
        if (way === 'mask' && !maskLogits) continue;
        const prompt = way === 'instruction' ? instruction : '';
        const mask = way === 'mask' ? { logits: maskLogits! } : null;
        const got: string[] = [];
        for (let s = 0; s < clips.length; s += B) {
          const rows = speech.slice(s, s + B);
          const stacked = rows.length === 1 ? rows[0] : tidy(() => concat(rows, 0));
          try {
            const r = await model.generate({ speech: stacked }, { prompt, mask, generate: gen });
            got.push(...r.outputs);
          } finally {
            if (stacked !== rows[0]) stacked.dispose();
          }
          tick(`${task.name} / ${way}`);
        }
        outs[way] = got;
      }
      const score = (o: string[]): DemoScore => scoreTask(task, o, refs);
      results.push({
        name: task.name,
        metric: task.metric,
        instruction: score(outs.instruction!),
        mask: outs.mask ? score(outs.mask) : null,
        none: score(outs.none!),
        headsOn: maskLogits ? maskSummary(maskLogits, L, H).heads_on : null,
        outputs: clips.map((c, i) => ({
          id: c.clip.id, reference: refs[i], instruction: normalizeAnswer(outs.instruction![i]), mask: outs.mask ? normalizeAnswer(outs.mask[i]) : null, none: normalizeAnswer(outs.none![i]),
        })),
      });
    }
    const masks: DemoMaskInfo[] = tasks.filter((t) => opts.masks.has(t.name)).map((t) => {
      const logits = opts.masks.get(t.name)!;
      const s = maskSummary(logits, L, H);
      return { task: t.name, logits, perLayer: s.per_layer_on, headsOn: s.heads_on };
    });
    return { tasks: results, masks, overlap: maskOverlap(masks, L, H), clips: clips.length, nLayers: L, nHeads: H, seconds: { encode: (t1 - t0) / 1000, generate: (now() - t1) / 1000 } };
  } finally {
    for (const s of speech) s.dispose();
  }
}
