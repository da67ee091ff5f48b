// The adapter profile (one detector for "software adapter" and the subgroup size) and the per-device tuning.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { adapterProfile } from '../../src/tensor/tuning.js';
import { RECORDING_PROFILES, recordingDevice } from '../../src/tensor/recording-device.js';
import { cpuSubgroupSize } from '../../src/kernels/webgpu/attention.js';
import { cpuAdapter, subgroupsOf8 } from '../../src/kernels/webgpu/matmul.js';
import { isCpuAdapter, rowConfig } from '../../src/kernels/webgpu/reduce.js';
import type { DeviceLimits } from '../../src/tensor/device.js';

const limits = {} as DeviceLimits;
const SG = new Set(['subgroups', 'shader-f16']);
const info = (o: Partial<Parameters<typeof adapterProfile>[0]>) => ({ vendor: '', architecture: '', device: '', description: '', ...o });

test('software adapters: lavapipe (reported and unreported subgroup sizes), SwiftShader, fallback adapters', () => {
  const lp = adapterProfile({ ...RECORDING_PROFILES.software.info }, SG, limits);
  assert.is(lp.software, true);
  assert.is(lp.subgroupSize, 8);
  const old = adapterProfile(info({ vendor: 'mesa', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }), SG, limits);
  assert.is(old.software, true);
  assert.is(old.subgroupSize, 8, 'llvmpipe without a reported size: its SIMD8');
  assert.is(adapterProfile(info({ vendor: 'google', architecture: 'swiftshader', device: 'SwiftShader Device (Subzero)' }), SG, limits).software, true);
  assert.is(adapterProfile(info({ vendor: 'google', architecture: '', description: 'SwiftShader' }), SG, limits).subgroupSize, null);
  assert.is(adapterProfile(info({ isFallbackAdapter: true }), SG, limits).software, true);
  assert.is(adapterProfile(info({ architecture: 'cpu' }), SG, limits).software, true);
});

test('GPUs: not software; subgroup size only when fixed; none without the feature', () => {
  const nv = adapterProfile({ ...RECORDING_PROFILES.gpu.info }, SG, limits);
  assert.is(nv.software, false);
  assert.is(nv.subgroupSize, 32);
  assert.is(adapterProfile(info({ vendor: 'intel', architecture: 'xe', subgroupMinSize: 8, subgroupMaxSize: 32 }), SG, limits).subgroupSize, null);
  const noSg = adapterProfile(info({ vendor: 'mesa', description: 'llvmpipe', subgroupMinSize: 8, subgroupMaxSize: 8 }), new Set(), limits);
  assert.is(noSg.subgroups, false);
  assert.is(noSg.subgroupSize, null);
  assert.is(noSg.f16, false);
});

test('the kernels ask the profile (the former three detectors agree now)', () => {
  const sw = recordingDevice('software'), g = recordingDevice('gpu');
  assert.equal([cpuAdapter(sw), isCpuAdapter(sw), subgroupsOf8(sw), cpuSubgroupSize(sw)], [true, true, true, 8]);
  assert.equal([cpuAdapter(g), isCpuAdapter(g), subgroupsOf8(g), cpuSubgroupSize(g)], [false, false, false, null]);
});

test('tuning is per device: forcing the row config on one device leaves another alone', () => {
  const a = recordingDevice('gpu'), b = recordingDevice('gpu');
  a.tuning.rows = { wg: 64, subgroups: false };
  assert.equal(rowConfig(a, 10000), { wg: 64, sg: false });
  assert.equal(rowConfig(b, 10000), { wg: 256, sg: true });
  delete a.tuning.rows;
  assert.equal(rowConfig(a, 10000), { wg: 256, sg: true });
  assert.equal(rowConfig(recordingDevice('software'), 10000), { wg: 32, sg: true }, 'CPU adapters keep small workgroups');
});

test.run();
