// `ahamask kernels [--op NAME[,NAME]] [--out DIR] [--json] [--profile software|gpu]`: runs the kernel catalog
// (one small call per kernel variant, src/ops/kernel-catalog.ts) and lists every pipeline it compiles with its
// key; --out writes each one's WGSL to DIR/<op>.<variant>[.<n>].wgsl (first line: the key) plus index.json.
// Without --profile the kernels are the ones this machine's adapter gets; --profile shows another adapter's
// variants on a recording device (no GPU needed).
import '../index.js';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { getDevice } from '../node/gpu.js';
import { CompiledKernel, KERNEL_WORKLOADS, compileKernels, uncoveredKernels } from '../ops/kernel-catalog.js';
import type { Device } from '../tensor/device.js';
import { RECORDING_PROFILES, RecordingProfile, recordingDevice } from '../tensor/recording-device.js';

const USAGE = 'usage: ahamask kernels [--op NAME[,NAME]] [--out DIR] [--json] [--profile software|gpu]';

/** File names of the listed kernels (unique within one listing). */
export function kernelFiles(ks: CompiledKernel[]): string[] {
  const count = new Map<string, number>();
  for (const k of ks) count.set(`${k.op}.${k.variant}`, (count.get(`${k.op}.${k.variant}`) ?? 0) + 1);
  const seen = new Map<string, number>();
  return ks.map((k) => {
    const base = `${k.op}.${k.variant}`;
    const i = seen.get(base) ?? 0;
    seen.set(base, i + 1);
    return `${base}${count.get(base)! > 1 ? `.${i}` : ''}.wgsl`;
  });
}

class UsageError extends Error {}

export async function run(args: string[]): Promise<number> {
  try {
    return await list(args);
  } catch (e) {
    if (!(e instanceof UsageError)) throw e;
    console.error(`ahamask ${e.message}`);
    return 2;
  }
}

async function list(args: string[]): Promise<number> {
  let ops: string[] | undefined, out: string | undefined, profile: RecordingProfile | undefined, json = false;
  for (let i = 0; i < args.length; i++) {
    const a = args[i];
    const value = () => {
      const v = args[++i];
      if (v === undefined || v.startsWith('--')) throw new UsageError(`kernels: ${a} needs a value\n${USAGE}`);
      return v;
    };
    if (a === '--op') (ops ??= []).push(...value().split(','));
    else if (a === '--out') out = value();
    else if (a === '--json') json = true;
    else if (a === '--profile') {
      const p = value();
      if (!(p in RECORDING_PROFILES)) throw new UsageError(`kernels: --profile must be one of ${Object.keys(RECORDING_PROFILES).join(', ')}, got '${p}'`);
      profile = p as RecordingProfile;
    } else if (a === '-h' || a === '--help') {
      console.log(USAGE);
      return 0;
    } else throw new UsageError(`kernels: unknown option '${a}'\n${USAGE}`);
  }
  const known = new Set(KERNEL_WORKLOADS.map((w) => w.op));
  for (const op of ops ?? []) {
    if (!known.has(op)) throw new UsageError(`kernels: no kernel '${op}' in the catalog (known: ${[...known].join(', ')})`);
  }
  const dev: Device = profile ? recordingDevice(profile) : await getDevice();
  const ks = await compileKernels(dev, ops);
  const files = kernelFiles(ks);
  if (out) {
    mkdirSync(out, { recursive: true });
    ks.forEach((k, i) => writeFileSync(join(out!, files[i]), `// key: ${k.key}\n${k.wgsl}\n`));
    writeFileSync(join(out, 'index.json'), JSON.stringify(ks.map((k, i) => ({ op: k.op, variant: k.variant, key: k.key, file: files[i] })), null, 1) + '\n');
  }
  const uncovered = ops ? [] : uncoveredKernels();
  const a = dev.adapterInfo;
  const adapter = profile ? `recording device (${profile} profile)` : [a.vendor, a.architecture, a.description].filter(Boolean).join(' / ');
  if (json) {
    console.log(JSON.stringify({ adapter, kernels: ks.map((k, i) => ({ op: k.op, variant: k.variant, key: k.key, bytes: k.wgsl.length, file: out ? files[i] : undefined })), uncovered }));
  } else {
    console.log(`${ks.length} kernels compiled on ${adapter}${out ? `, WGSL written to ${out}` : ''}`);
    for (const k of ks) console.log(`${k.op.padEnd(18)} ${k.variant.padEnd(22)} ${String(k.wgsl.length).padStart(6)} B  ${k.key}`);
    if (uncovered.length) console.log(`registered WebGPU kernels without a catalog workload: ${uncovered.join(', ')}`);
  }
  return 0;
}
