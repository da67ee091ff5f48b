// `ahamask doctor [--json]`: the adapter, its features and limits, and a GPU-vs-CPU self-test.
import '../index.js';
import { runCommand, UsageError, type CommandSpec } from './args.js';
import { getDevice } from '../node/gpu.js';
import { matmul } from '../ops/matmul.js';
import { softmax } from '../ops/reduce.js';
import { fromHost, tidy } from '../tensor/tensor.js';
import type { Device } from '../tensor/device.js';

async function selftest(dev: Device): Promise<string> {
  const rand = (n: number, s: number) => Float32Array.from({ length: n }, (_, i) => Math.sin(i * 12.9898 + s) * 0.5);
  const checks: [string, number][] = [];
  const [M, K, N] = [37, 65, 29];
  const a = rand(M * K, 1), b = rand(K * N, 2), x = rand(5 * 333, 3);
  const [gm, cm, gs, cs] = tidy(() => [
    matmul(fromHost(a, [M, K], 'f32', dev), fromHost(b, [K, N], 'f32', dev)),
    matmul(fromHost(a, [M, K], 'f32', 'cpu'), fromHost(b, [K, N], 'f32', 'cpu')),
    softmax(fromHost(x, [5, 333], 'f32', dev), -1),
    softmax(fromHost(x, [5, 333], 'f32', 'cpu'), -1),
  ]);
  const diff = (p: ArrayLike<number>, q: ArrayLike<number>) => Math.max(...Array.from(p, (v, i) => Math.abs(v - q[i])));
  checks.push(['matmul', diff(await gm.data(), await cm.data())]);
  checks.push(['softmax', diff(await gs.data(), await cs.data())]);
  const bad = checks.filter(([, d]) => !(d < 1e-4));
  return bad.length ? bad.map(([k, d]) => `${k}: max |gpu - cpu| = ${d}`).join('; ') : 'ok';
}

export const spec: CommandSpec = {
  name: 'doctor',
  summary: 'the WebGPU adapter, its features and limits, and a self-test',
  description: `Opens the WebGPU adapter (Dawn), prints its features (shader-f16, subgroups, timestamp-query) and limits, and runs
a matmul and softmax on the GPU against the CPU reference. Exit status 0 when the self-test passes.`,
  flags: [{ name: 'json', help: 'print {"adapter", "features", "limits", "selftest"} on one line' }],
};

export function run(argv: string[]): Promise<number> {
  return runCommand(spec, argv, async ({ flags, rest }) => {
    if (rest.length) throw new UsageError(`unexpected argument '${rest[0]}'`);
    return doctor(!!flags.json);
  });
}

async function doctor(json: boolean): Promise<number> {
  let dev: Device;
  try {
    dev = await getDevice();
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    if (json) console.log(JSON.stringify({ adapter: null, features: [], limits: {}, selftest: msg }));
    else console.error(`ahamask doctor: ${msg}`);
    return 1;
  }
  let result: string;
  try {
    result = await selftest(dev);
  } catch (e) {
    result = e instanceof Error ? e.message : String(e);
  }
  const report = { adapter: dev.adapterInfo, features: [...dev.features].sort(), limits: dev.limits, selftest: result };
  if (json) console.log(JSON.stringify(report));
  else {
    const a = dev.adapterInfo;
    console.log(`adapter:  ${[a.vendor, a.architecture, a.device, a.description].filter(Boolean).join(' / ')}`);
    console.log(`features: ${report.features.join(', ')}`);
    console.log(`          shader-f16 ${dev.hasF16 ? 'yes' : 'no'}, subgroups ${dev.hasSubgroups ? 'yes' : 'no'}, timestamp-query ${dev.hasTimestamps ? 'yes' : 'no'}`);
    console.log('limits:');
    for (const [k, v] of Object.entries(dev.limits)) console.log(`  ${k.padEnd(34)} ${v}`);
    console.log(`self-test (matmul, softmax vs CPU reference): ${result}`);
  }
  return result === 'ok' ? 0 : 1;
}
