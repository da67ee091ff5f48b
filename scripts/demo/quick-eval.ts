// Per-task table of the demo model on shipped clips: `node --import tsx scripts/demo/quick-eval.ts [decode_config] [data dir] [ways]`,
// ways from instruction (testInstruction), train (first training paraphrase), mask (+ empty prompt), none; batched greedy.
import { readFileSync, existsSync } from 'node:fs';
import '../../src/autograd/index.js';
import { loadFromConfig, loadItemAudio } from '../../src/cli/evaluate.js';
import { DEMO_TASKS, scoreTask, SPEECH_PROMPT } from '../../src/demo/tasks.js';
import { readMaskCheckpoint } from '../../src/io/mask.js';
import { MemorySource } from '../../src/io/bytes.js';
import { concat } from '../../src/ops/index.js';
const cfgPath = process.argv[2] ?? 'checkpoints/demo/decode_config.yaml';
const dataDir = process.argv[3] ?? 'checkpoints/demo/data/test';
const ways = (process.argv[4] ?? 'instruction,mask,none').split(',');
const { model, cwd } = await loadFromConfig(cfgPath, false);
const testPrompts = JSON.parse(readFileSync(`${dataDir}/prompts/test_prompt.json`, 'utf8'));
const trainPrompts = JSON.parse(readFileSync('checkpoints/demo/prompts/train_prompt.json', 'utf8'));
const clips = JSON.parse(readFileSync(`${dataDir}/asr.json`, 'utf8')).annotation as { path: string }[];
const t0 = Date.now();
const parts = [];
for (const c of clips) parts.push(await model.encodeSpeech([await loadItemAudio(cwd, c as any)]));
const speech = concat(parts, 0);
for (const p of parts) p.dispose();
const res: Record<string, any> = {};
for (const task of DEMO_TASKS) {
  const anns = JSON.parse(readFileSync(`${dataDir}/${task.name}.json`, 'utf8')).annotation as { path: string; text: string }[];
  const refs = anns.map((a) => a.text);
  if (anns.some((a, i) => a.path !== clips[i].path)) throw new Error('clip order differs');
  res[task.name] = {};
  for (const way of ways) {
    let mask: any = null;
    const mp = `checkpoints/demo/masks/${task.name}/checkpoint.pth`;
    if (way === 'mask') {
      if (!existsSync(mp)) continue;
      mask = { logits: (await readMaskCheckpoint(new MemorySource(readFileSync(mp), mp))).logits };
    }
    // evaluate's `prompt` is the bare instruction (SALMONN adds the speech tag); the mask prompt is ''
    const prompt = way === 'instruction' ? testPrompts[task.name].replace(SPEECH_PROMPT, '') : way === 'train' ? trainPrompts[task.name][0].replace(SPEECH_PROMPT, '') : '';
    const r = await model.generate({ speech }, { prompt, mask, generate: { maxNewTokens: 16, numBeams: 1 } });
    const sc = scoreTask(task, r.outputs, refs);
    res[task.name][way] = sc;
    console.log(`${task.name.padEnd(11)} ${way.padEnd(11)} ${JSON.stringify(sc)}  e.g. ${JSON.stringify(r.outputs.slice(0, 3))} refs ${JSON.stringify(refs.slice(0, 3))}`);
  }
}
console.log(JSON.stringify(res));
console.log(`eval ${(Date.now() - t0) / 1000} s`);
process.exit(0);
