import { readFileSync } from 'node:fs';
import { decodeAudio } from '../../src/io/audio.js';
import { toneRuns, medianF0 } from './analysis.js';
const meta = JSON.parse(readFileSync('checkpoints/demo/data/test/clips.json', 'utf8'));
for (const c of meta.clips) {
  const a = await decodeAudio(new Uint8Array(readFileSync(c.path)), c.path);
  const x = a.channels[0];
  const runs = toneRuns(x);
  const f0 = medianF0(x, c.speech[0], c.speech[1]);
  console.log(c.id, c.gender, c.voice, f0.toFixed(0), c.beeps, runs.length, c.tone, runs.map(r => `${r.start.toFixed(3)}-${r.end.toFixed(3)} ${r.fromHz.toFixed(0)}>${r.toHz.toFixed(0)}`).join(' '), '|', c.beepSpans.map((s: number[]) => s.map(v => v.toFixed(3)).join('-')).join(' '));
}
