// Page side of test/browser/browser.test.ts: bundled with esbuild (platform browser) together with the
// browser-clean library entry src/index.ts, loaded in headless Chromium, and driven through
// `globalThis.__ahamask.run(suite)`. Every GPU result is compared with the CPU backend in the same page.
import * as A from '../../src/index.js';
import type { Device, Tensor } from '../../src/index.js';

export interface Check {
  what: string;
  ok: boolean;
  maxDiff?: number;
  error?: string;
}
export interface SuiteResult {
  suite: string;
  ms: number;
  checks: Check[];
  info?: Record<string, unknown>;
}

let devP: Promise<Device> | null = null;
function device(): Promise<Device> {
  return (devP ??= A.Device.create());
}

/** Seeded normal values (mulberry32 + Box-Muller), like test/helpers/gpu.ts. */
function randn(n: number, seed: number, scale = 1): Float32Array {
  let a = seed >>> 0;
  const r = () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const u = Math.max(r(), 1e-12), v = r();
    out[i] = scale * Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
  }
  return out;
}

/** The same values as a CPU tensor and a GPU tensor: [cpu, gpu]. */
function pair(dev: Device, shape: number[], seed: number, opts: { dtype?: A.DType; scale?: number } = {}): [Tensor, Tensor] {
  const v = randn(shape.reduce((x, y) => x * y, 1), seed, opts.scale ?? 1);
  const dt = opts.dtype ?? 'f32';
  return [A.fromHost(v, shape, dt, 'cpu'), A.fromHost(v, shape, dt, dev)];
}

function describeError(e: unknown): string {
  return e instanceof Error ? `${e.name}: ${e.message}` : String(e);
}

/**
 * Runs one check: `f` returns [gpu, cpu] tensors (or throws). Validation errors (e.g. a pipeline whose
 * workgroup exceeds the adapter's 256 invocations) are caught by an error scope around the check.
 */
async function check(dev: Device, what: string, f: () => [Tensor, Tensor] | Promise<[Tensor, Tensor]>, atol = 0, rtol = 0): Promise<Check> {
  dev.gpu.pushErrorScope('validation');
  let res: Check;
  try {
    const [g, c] = await f();
    if (g.backend !== 'webgpu') throw new Error(`result is on ${g.backend}, expected webgpu`);
    if (c.backend !== 'cpu') throw new Error(`reference is on ${c.backend}, expected cpu`);
    if (g.shape.join() !== c.shape.join()) throw new Error(`shape [${g.shape}] != CPU [${c.shape}]`);
    if (g.dtype !== c.dtype) throw new Error(`dtype ${g.dtype} != CPU ${c.dtype}`);
    const a = await g.data(), b = await c.data();
    let maxDiff = 0, bad = -1;
    for (let i = 0; i < b.length; i++) {
      const d = Math.abs(a[i] - b[i]);
      const nanOk = Number.isNaN(a[i]) && Number.isNaN(b[i]);
      if (!nanOk && !(d <= maxDiff)) maxDiff = Number.isNaN(d) ? Infinity : d;
      if (bad < 0 && !nanOk && !(d <= atol + rtol * Math.abs(b[i]))) bad = i;
    }
    res = bad < 0
      ? { what, ok: true, maxDiff }
      : { what, ok: false, maxDiff, error: `mismatch at ${bad}: ${a[bad]} vs CPU ${b[bad]} (atol ${atol}, rtol ${rtol})` };
  } catch (e) {
    res = { what, ok: false, error: describeError(e) };
  }
  const err = await dev.gpu.popErrorScope();
  if (err) res = { ...res, ok: false, error: `WebGPU validation error: ${err.message}${res.error ? `; ${res.error}` : ''}` };
  return res;
}

type Suite = (dev: Device) => Promise<Check[]>;

const UNARY = ['exp', 'log', 'sqrt', 'rsqrt', 'neg', 'abs', 'square', 'relu', 'gelu', 'silu', 'sigmoid', 'tanh'];
const BINARY = ['add', 'sub', 'mul', 'div', 'maximum', 'minimum'];
type Fn = (...args: unknown[]) => Tensor;
const op = (name: string): Fn => {
  const f = (A as unknown as Record<string, unknown>)[name];
  if (typeof f !== 'function') throw new Error(`ahamask does not export ${name}()`);
  return f as Fn;
};

const suites: Record<string, Suite> = {
  async elementwise(dev) {
    const out: Check[] = [];
    let seed = 1;
    // SwiftShader's transcendental functions are within WGSL's ULP bounds but not bit-equal to V8's Math.*.
    for (const name of UNARY) {
      for (const shape of [[7], [2, 1, 13], [257, 3]]) {
        for (const dtype of ['f32', 'f16'] as const) {
          const positive = ['log', 'sqrt', 'rsqrt'].includes(name);
          const [c, g] = pair(dev, shape, seed++, { dtype, scale: 3 });
          const prep = (t: Tensor) => (positive ? A.addScalar(A.abs(t), 0.1) : t);
          out.push(await check(dev, `${name} ${dtype} [${shape}]`, () => [op(name)(prep(g)), op(name)(prep(c))], 1e-5, 1e-5));
        }
      }
    }
    const cases: [number[], number[]][] = [[[3, 5], [5]], [[2, 1, 7], [1, 4, 1]], [[17, 9], [17, 9]]];
    for (const name of BINARY) {
      for (const [sa, sb] of cases) {
        const [ca, ga] = pair(dev, sa, seed++);
        const [cb, gb] = pair(dev, sb, seed++);
        out.push(await check(dev, `${name} [${sa}] [${sb}]`, () => [op(name)(ga, gb), op(name)(ca, cb)], 1e-6, 1e-6));
      }
      const [ca, ga] = pair(dev, [6, 4], seed++);
      const [cb, gb] = pair(dev, [4, 9], seed++, { dtype: 'f16' });
      out.push(await check(dev, `${name} strided, f16 rhs`, () => [op(name)(ga.transpose(0, 1), gb.slice(1, 2, 8)), op(name)(ca.transpose(0, 1), cb.slice(1, 2, 8))], 1e-6, 1e-6));
    }
    const [c, g] = pair(dev, [5, 7], seed++);
    const [c2, g2] = pair(dev, [5, 7], seed++);
    out.push(await check(dev, 'affine', () => [A.affine(g, 1.5, -2), A.affine(c, 1.5, -2)], 1e-6, 1e-6));
    out.push(await check(dev, 'clamp', () => [A.clamp(g, -0.5, 0.25), A.clamp(c, -0.5, 0.25)]));
    out.push(await check(dev, 'axpy', () => [A.axpy(g, g2, -0.25), A.axpy(c, c2, -0.25)], 1e-6, 1e-6));
    out.push(await check(dev, 'greater', () => [A.greater(g, g2), A.greater(c, c2)]));
    return out;
  },

  async f16(dev) {
    const out: Check[] = [];
    // scale 1e3 exercises rounding, large values and f16 subnormals / overflow to inf
    for (const [shape, scale] of [[[7], 1], [[3, 5, 7], 1e3], [[257, 3], 1e-5]] as [number[], number][]) {
      const [c, g] = pair(dev, shape, 40 + shape.length, { scale });
      out.push(await check(dev, `f32 -> f16 [${shape}] x${scale}`, () => [g.cast('f16'), c.cast('f16')]));
      out.push(await check(dev, `f32 -> f16 -> f32 [${shape}] x${scale}`, () => [g.cast('f16').cast('f32'), c.cast('f16').cast('f32')]));
    }
    const [c, g] = pair(dev, [3, 5, 7], 50);
    // odd-length strided f16 output written in packed u32 pairs
    out.push(await check(dev, 'transposed view -> f16 (packed pairs)', () => [g.transpose(0, 2).cast('f16'), c.transpose(0, 2).cast('f16')]));
    const [ch, gh] = pair(dev, [5, 9], 51, { dtype: 'f16' });
    out.push(await check(dev, 'f16 storage -> f32', () => [gh.cast('f32'), ch.cast('f32')]));
    out.push(await check(dev, 'f16 storage -> i32', () => [A.scale(gh, 10).cast('i32'), A.scale(ch, 10).cast('i32')]));
    out.push(await check(dev, 'f16 storage, sliced view -> f16 copy', () => [gh.slice(1, 1, 8).contiguous(), ch.slice(1, 1, 8).contiguous()]));
    return out;
  },

  async views(dev) {
    const out: Check[] = [];
    const [c, g] = pair(dev, [4, 6], 60);
    const sameStorage = g.reshape([2, 12]).storage === g.storage;
    out.push({ what: 'reshape of a contiguous tensor shares storage', ok: sameStorage });
    out.push(await check(dev, 'reshape', () => [g.reshape([3, 8]), c.reshape([3, 8])]));
    out.push(await check(dev, 'transpose -> reshape (copy)', () => [g.transpose().reshape([24]), c.transpose().reshape([24])]));
    out.push(await check(dev, 'permute -> contiguous', () => [g.reshape([2, 3, 4]).permute([2, 0, 1]).contiguous(), c.reshape([2, 3, 4]).permute([2, 0, 1]).contiguous()]));
    out.push(await check(dev, 'slice', () => [g.slice(1, 1, 5).slice(0, -3), c.slice(1, 1, 5).slice(0, -3)]));
    out.push(await check(dev, 'broadcastTo', () => [g.slice(0, 1, 2).broadcastTo([3, 1, 6]).contiguous(), c.slice(0, 1, 2).broadcastTo([3, 1, 6]).contiguous()]));
    out.push(await check(dev, 'unsqueeze/squeeze', () => [g.unsqueeze(1).squeeze(1).unsqueeze(0), c.unsqueeze(1).squeeze(1).unsqueeze(0)]));
    out.push(await check(dev, 'op on a broadcast view', () => [A.mul(g.transpose(), g.slice(0, 0, 1).transpose()), A.mul(c.transpose(), c.slice(0, 0, 1).transpose())], 1e-6, 1e-6));
    const u = await A.fromHost([1, 2, 3, 4, 5, 6], [2, 3], 'f32', dev).to('cpu');
    out.push({ what: 'to(cpu) round trip', ok: u.backend === 'cpu' && (await u.array()).join() === '1,2,3,4,5,6' });
    return out;
  },

  async matmul(dev) {
    const mm = op('matmul');
    const out: Check[] = [];
    const [ca, ga] = pair(dev, [17, 33], 70);
    const [cb, gb] = pair(dev, [33, 9], 71);
    out.push(await check(dev, 'matmul [17,33]x[33,9]', () => [mm(ga, gb), mm(ca, cb)], 1e-4, 1e-4));
    const [cbt, gbt] = pair(dev, [9, 33], 72);
    out.push(await check(dev, 'matmul [17,33]x[9,33]^T (view)', () => [mm(ga, gbt.transpose()), mm(ca, cbt.transpose())], 1e-4, 1e-4));
    const [ch, gh] = pair(dev, [33, 9], 73, { dtype: 'f16' });
    out.push(await check(dev, 'matmul f32 x f16 storage', () => [mm(ga, gh), mm(ca, ch)], 1e-4, 1e-4));
    const [cx, gx] = pair(dev, [2, 5, 6], 74);
    const [cy, gy] = pair(dev, [2, 6, 3], 75);
    out.push(await check(dev, 'matmul batched [2,5,6]x[2,6,3]', () => [mm(gx, gy), mm(cx, cy)], 1e-4, 1e-4));
    const [c1, g1] = pair(dev, [1, 64], 76);
    const [c2, g2] = pair(dev, [64, 1], 77);
    out.push(await check(dev, 'matmul [1,64]x[64,1]', () => [mm(g1, g2), mm(c1, c2)], 1e-4, 1e-4));
    return out;
  },

  async softmax(dev) {
    const sm = op('softmax');
    const out: Check[] = [];
    // rows of 5, 37, 300 (> 256 invocations: a workgroup must loop over the row) and 1
    for (const shape of [[3, 5], [4, 37], [2, 3, 300], [6, 1]]) {
      const [c, g] = pair(dev, shape, 80 + shape.length, { scale: 4 });
      out.push(await check(dev, `softmax [${shape}]`, () => [sm(g), sm(c)], 1e-6, 1e-5));
    }
    const [c, g] = pair(dev, [9, 4], 85, { dtype: 'f16' });
    out.push(await check(dev, 'softmax of a transposed f16 view', () => [sm(g.transpose()), sm(c.transpose())], 1e-6, 1e-5));
    return out;
  },

  async layerNorm(dev) {
    const ln = op('layerNorm');
    const out: Check[] = [];
    for (const shape of [[3, 8], [2, 300]]) {
      const n = shape[shape.length - 1];
      const [c, g] = pair(dev, shape, 90 + n, { scale: 3 });
      const [cw, gw] = pair(dev, [n], 91 + n);
      const [cb, gb] = pair(dev, [n], 92 + n);
      out.push(await check(dev, `layerNorm [${shape}]`, () => [ln(g, gw, gb), ln(c, cw, cb)], 1e-4, 1e-4));
    }
    return out;
  },

  async attention(dev) {
    const att = op('attention');
    const out: Check[] = [];
    for (const [Tq, Tk, D, causal] of [[5, 7, 8, false], [6, 6, 16, true], [1, 9, 8, false]] as [number, number, number, boolean][]) {
      const [cq, gq] = pair(dev, [1, 2, Tq, D], 100 + Tq);
      const [ck, gk] = pair(dev, [1, 2, Tk, D], 101 + Tk);
      const [cv, gv] = pair(dev, [1, 2, Tk, D], 102 + D);
      const o = { causal };
      out.push(await check(dev, `attention q[1,2,${Tq},${D}] k[1,2,${Tk},${D}]${causal ? ' causal' : ''}`, () => [att(gq, gk, gv, o), att(cq, ck, cv, o)], 1e-4, 1e-4));
    }
    return out;
  },
};

async function run(name: string): Promise<SuiteResult> {
  const t0 = performance.now();
  if (name === 'device') {
    const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
    if (!gpu) return { suite: name, ms: 0, checks: [{ what: 'navigator.gpu', ok: false, error: 'navigator.gpu is undefined (WebGPU disabled?)' }] };
    let dev: Device;
    try {
      dev = await device();
    } catch (e) {
      return { suite: name, ms: performance.now() - t0, checks: [{ what: 'Device.create()', ok: false, error: describeError(e) }] };
    }
    const adapter = await gpu.requestAdapter();
    const info = {
      ...dev.adapterInfo,
      isFallbackAdapter: (adapter?.info as GPUAdapterInfo & { isFallbackAdapter?: boolean } | undefined)?.isFallbackAdapter ?? (adapter as unknown as { isFallbackAdapter?: boolean })?.isFallbackAdapter,
      hasF16: dev.hasF16,
      features: [...dev.features].sort(),
      limits: dev.limits,
      userAgent: navigator.userAgent,
    };
    return { suite: name, ms: performance.now() - t0, checks: [{ what: 'Device.create()', ok: true }], info };
  }
  const suite = suites[name];
  if (!suite) throw new Error(`unknown suite ${name}`);
  const dev = await device();
  const checks = await suite(dev);
  return { suite: name, ms: performance.now() - t0, checks };
}

(globalThis as unknown as { __ahamask: unknown }).__ahamask = { run, suites: Object.keys(suites) };
