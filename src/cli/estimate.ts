// `ahamask estimate -c config.yaml [--batch-size N] [--json]`: computed GPU and host memory for fp16, int8
// (LLM.int8) and q4 LLM weights, from the configs alone (the LLM's and Whisper's config.json, the `cfg` inside
// beats.pt; no weight is read, missing weight files are fine). A decode config (evaluate / cli) gives an
// inference estimate at its batch_size_eval, num_beams and max_new_tokens; a train config (one with a `run:`
// section) a mask-training estimate at its batch_size_train.
import { resolve } from 'node:path';
import { parseBertConfig, parseDecodeConfig, parseTrainConfig, parseYaml, resolvePath, type SalmonnModelConfig } from '../io/config.js';
import { LLM_WEIGHT_FORMATS } from '../ops/quant.js';
import { BERT_BASE_UNCASED, Salmonn, memoryEstimate, salmonnArchitecture, type MemoryEstimate } from '../models/salmonn.js';
import { readTextFile } from '../node/files.js';
import { nodeFileSystem } from './evaluate.js';

const USAGE = 'usage: ahamask estimate -c config.yaml [--batch-size N] [--json]';

const gib = (n: number): number => Math.round((n / 2 ** 30) * 1000) / 1000;

function jsonOf(m: MemoryEstimate): Record<string, unknown> {
  return {
    peak_gpu_gib: gib(m.gpuPeak),
    peak_host_gib: gib(m.hostPeak),
    weights_gib: { whisper: gib(m.weights.whisper), beats: gib(m.weights.beats), salmonn: gib(m.weights.salmonn), llm: gib(m.weights.llama), total: gib(m.weights.total) },
    kv_cache_gib: gib(m.kvCache),
    encoder_transient_gib: gib(m.encoderPeak),
    llm_transient_gib: gib(m.llmTransient),
  };
}

export async function run(argv: string[]): Promise<number> {
  let config: string | undefined, batch: number | undefined, json = false;
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i];
    if (s === '-c' || s === '--cfg-path' || s === '--config') config = argv[++i];
    else if (s === '--batch-size') {
      const v = Number(argv[++i]);
      if (!Number.isInteger(v) || v < 1) {
        console.error(`ahamask estimate: --batch-size needs a positive integer, got ${JSON.stringify(argv[i] ?? '')}`);
        return 2;
      }
      batch = v;
    } else if (s === '--json') json = true;
    else if (s === '-h' || s === '--help') {
      console.log(USAGE);
      return 0;
    } else {
      console.error(`ahamask estimate: unknown option ${s}\n${USAGE}`);
      return 2;
    }
  }
  if (!config) {
    console.error(`ahamask estimate: missing -c config.yaml\n${USAGE}`);
    return 2;
  }
  const cwd = process.cwd();
  const file = resolve(cwd, config);
  const text = await readTextFile(file);
  const root = parseYaml(text, config).value;
  const training = !!root && typeof root === 'object' && 'run' in (root as object);
  let model: SalmonnModelConfig, opts: Parameters<typeof memoryEstimate>[1];
  if (training) {
    const t = parseTrainConfig(text, { file: config, cwd, warn: () => {} });
    model = t.model;
    opts = { mode: 'training', batch: batch ?? t.run.batch_size_train };
  } else {
    const d = parseDecodeConfig(text, { file: config, cwd, warn: () => {} });
    model = d.model;
    opts = { mode: 'inference', batch: batch ?? d.batch_size_eval, numBeams: d.generate.num_beams, maxNewTokens: d.generate.max_new_tokens };
  }
  const fs = nodeFileSystem(cwd);
  const bp = resolvePath(cwd, 'bert-base-uncased/config.json');
  let bert = BERT_BASE_UNCASED;
  if (await fs.exists(bp)) bert = parseBertConfig(JSON.parse(await readTextFile(bp)), bp);
  const arch = salmonnArchitecture(await Salmonn.readConfigs(fs, model, bert));
  const kind = training ? 'training' : 'inference';
  const out: Record<string, Record<string, unknown>> = {};
  const rows: string[] = [];
  for (const f of LLM_WEIGHT_FORMATS) {
    const m = memoryEstimate(arch, { ...opts, llmWeights: f });
    out[f] = { [kind]: jsonOf(m) };
    const w = m.weights;
    rows.push(`| ${f} | ${gib(w.total).toFixed(2)} (LLM ${gib(w.llama).toFixed(2)}, Whisper ${gib(w.whisper).toFixed(2)}, BEATs ${gib(w.beats).toFixed(2)}, Q-Former/proj/LoRA ${gib(w.salmonn).toFixed(2)}) | ${gib(m.encoderPeak).toFixed(2)} | ${gib(m.kvCache).toFixed(2)} | ${gib(m.llmTransient).toFixed(2)} | **${gib(m.gpuPeak).toFixed(2)}** | ${gib(m.hostPeak).toFixed(2)} |`);
  }
  if (json) {
    console.log(JSON.stringify(out));
    return 0;
  }
  const c = arch.configs.llama;
  const what = training
    ? `mask training, batch_size_train ${opts.batch}${batch ? ' (--batch-size)' : ''}; int8/q4 with per-layer activation checkpointing`
    : `inference, batch ${opts.batch}${batch ? ' (--batch-size)' : ''}, ${opts.numBeams} beams, ${opts.maxNewTokens} new tokens`;
  console.log(`${config}: LLM ${c.num_hidden_layers} layers x ${c.hidden_size} (${what}); GiB, computed from the configs`);
  console.log('| LLM weights | weights on the GPU | encoder transient | KV cache | LLM transient | peak GPU | peak host |');
  console.log('|---|---|---|---|---|---|---|');
  for (const r of rows) console.log(r);
  if (!arch.configs.beats && model.beats_path === '') console.log('(no BEATs: beats_path is empty)');
  return 0;
}
