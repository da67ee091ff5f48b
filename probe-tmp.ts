import './src/index.js';
import { recordingDevice } from './src/tensor/recording-device.js';
import { compileKernels, uncoveredKernels } from './src/ops/kernel-catalog.js';
for (const p of ['software', 'gpu'] as const) {
  const d = recordingDevice(p);
  const t0 = Date.now();
  const ks = await compileKernels(d);
  console.log(p, ks.length, Date.now() - t0, 'ms');
  for (const k of ks) console.log(' ', k.op, k.variant, k.key, k.wgsl.length);
}
console.log('uncovered', uncoveredKernels());
