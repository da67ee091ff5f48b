// The page's engine worker: the device, the model and every heavy call live here so the UI thread never blocks.
// Requests carry an id and get one `reply`; progress, tokens and training steps are posted as events in between.
// Cancel is a separate message that sets a flag the running call checks after every token / step.
import { Device } from '../src/tensor/device.js';
import { readAll } from '../src/io/bytes.js';
import { BlobDirectory, UrlDirectory } from '../src/io/directories.js';
import { LenientDirectory, ReportingDirectory, type FileProgress } from './model-dir.js';
import { Engine, maskCheckpointBytes, type Target } from './engine.js';
import type { DeviceInfo, Request, WorkerEvent } from './protocol.js';

const post = (m: WorkerEvent, transfer: Transferable[] = []): void => (self as unknown as Worker).postMessage(m, transfer);

let target: Target | null = null;
let deviceInfo: DeviceInfo | null = null;
let engine: Engine | null = null;
let cancelled = false;

async function initDevice(backend: 'auto' | 'cpu' | 'webgpu'): Promise<DeviceInfo> {
  if (deviceInfo && target) return deviceInfo;
  const gpu = (navigator as Navigator & { gpu?: GPU }).gpu;
  if (backend !== 'cpu') {
    if (!gpu) {
      if (backend === 'webgpu') throw new Error('this browser has no WebGPU (navigator.gpu is missing)');
      deviceInfo = { backend: 'cpu', message: 'WebGPU is not available in this browser (no navigator.gpu): running on the CPU backend, which is much slower. Use a recent Chrome/Edge, or Firefox/Safari with WebGPU enabled.' };
    } else {
      try {
        const d = await Device.create({ gpu });
        target = d;
        const a = d.adapterInfo;
        deviceInfo = {
          backend: 'webgpu',
          adapter: [a.vendor, a.architecture, a.description].filter(Boolean).join(' · ') || 'unknown adapter',
          features: [...d.features].sort(),
          f16: d.hasF16,
          subgroups: d.hasSubgroups,
          maxBufferMiB: Math.round(d.limits.maxBufferSize / 2 ** 20),
        };
        return deviceInfo;
      } catch (e) {
        if (backend === 'webgpu') throw e;
        deviceInfo = { backend: 'cpu', message: `WebGPU could not start (${(e as Error).message.split('. ')[0]}): running on the CPU backend, which is much slower.` };
      }
    }
  } else deviceInfo = { backend: 'cpu', message: 'CPU backend (requested with ?backend=cpu).' };
  target = 'cpu';
  return deviceInfo;
}

/**
 * Salmonn.load's progress, in either shape the library has used: { stage, done, total } (bytes placed so far)
 * or the transformers.js-style { status, file, loaded, total, overall } of src/io/directories.ts.
 */
function onLoadProgress(p: unknown): void {
  const q = p as { stage?: string; status?: string; file?: string; done?: number; loaded?: number; total?: number; overall?: number };
  if (q.done !== undefined) post({ t: 'stage', stage: q.stage ?? '', done: q.done, total: q.total ?? 0 });
  else post({ t: 'stage', stage: q.status === 'ready' ? 'done' : q.stage ?? q.status ?? '', done: q.loaded ?? 0, total: q.total ?? 0, overall: q.overall, file: q.file });
}

async function handle(req: Request): Promise<unknown> {
  switch (req.t) {
    case 'init':
      return initDevice(req.backend);
    case 'load': {
      const info = await initDevice(req.backend);
      engine?.dispose();
      engine = null;
      const onFile = (p: FileProgress): void => post({ t: 'file', p });
      // URL folders go through Cache Storage by default (a second visit reads nothing from the network);
      // ?cache=0 reads lazily with Range requests instead. The worker's location resolves relative bases.
      const src = req.source;
      const inner = src.kind === 'url'
        ? new UrlDirectory(new URL(src.base, self.location.href), {
          // a bound fetch: UrlDirectory calls its stored fetch as a method, which a worker's fetch refuses
          fetch: (input, init) => fetch(input, init),
          cache: src.cache ? 'ahamask-models' : false,
          onProgress: (p) => onFile({ file: p.file, loaded: p.loaded, total: p.total || -1, done: p.status === 'done' }),
        })
        : new BlobDirectory(new Map(src.entries.map((e) => [e.path, e.file])), src.name);
      const dir = new LenientDirectory(new ReportingDirectory(inner, onFile));
      const t0 = performance.now();
      engine = await Engine.open(dir, req.config, target!, onLoadProgress);
      return { info: engine.info, device: info, ms: performance.now() - t0 };
    }
    case 'run': {
      const e = need();
      cancelled = false;
      return e.run(req.opts, (text) => post({ t: 'text', id: req.id, text }), () => cancelled);
    }
    case 'train': {
      const e = need();
      cancelled = false;
      return e.train(req.opts, (s) => post({ t: 'step', id: req.id, s }), () => cancelled);
    }
    case 'readMask':
      return need().readMask(req.path);
    case 'readMaskBytes':
      return need().readMaskBytes(req.bytes, req.name);
    case 'encodeMask':
      return maskCheckpointBytes(req.logits);
    case 'readFile': {
      const e = need();
      return (await readAll(await e.dir.open(req.path))).slice();
    }
  }
}

function need(): Engine {
  if (!engine) throw new Error('no model is loaded');
  return engine;
}

self.onmessage = async (ev: MessageEvent<Request | { t: 'cancel' }>) => {
  const req = ev.data;
  if (req.t === 'cancel') {
    cancelled = true;
    return;
  }
  try {
    const value = await handle(req);
    post({ t: 'reply', id: req.id, ok: true, value });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    post({ t: 'reply', id: req.id, ok: false, error: msg });
  }
};
