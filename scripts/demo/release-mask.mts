// runs/masks/<task>/checkpoint_<last>.pth -> checkpoints/demo/masks/<task>/checkpoint.pth ({'model': {'tensor'}}).
import { readFileSync, writeFileSync, mkdirSync, readdirSync } from 'node:fs';
import { MemorySource } from '../../src/io/bytes.js';
import { encodeMaskCheckpoint, readMaskCheckpoint } from '../../src/io/mask.js';
const task = process.argv[2];
const dir = `runs/masks/${task}`;
const last = readdirSync(dir).filter((f) => /^checkpoint_\d+\.pth$/.test(f)).sort((a, b) => +a.match(/\d+/)![0] - +b.match(/\d+/)![0]).pop()
  ?? 'checkpoint_latest.pth';
const m = await readMaskCheckpoint(new MemorySource(new Uint8Array(readFileSync(`${dir}/${last}`)), `${dir}/${last}`));
mkdirSync(`checkpoints/demo/masks/${task}`, { recursive: true });
writeFileSync(`checkpoints/demo/masks/${task}/checkpoint.pth`, encodeMaskCheckpoint(m.logits));
console.log(`${task}: ${dir}/${last} -> checkpoints/demo/masks/${task}/checkpoint.pth (${m.logits.length} logits, ${Array.from(m.logits).filter((x) => x >= 0).length} >= 0)`);
