// The page (UI thread only: DOM, audio capture, downloads). The engine runs in worker.ts; this file talks to it with
// request/reply messages and shows its events (file progress, streamed text, training steps).
// Query: ?model=<folder URL>&config=<decode config inside it>&backend=auto|cpu|webgpu (tests point it at the fixture).
import type { Backend, DeviceInfo, ModelSource, Request, WorkerEvent } from './protocol.js';
import type { AudioInput, ModelInfo, RunResult, TrainStep } from './engine.js';
import { pickedEntries, type FileProgress } from './model-dir.js';

/** The model the page opens by default (served by `npm run web`; any static host works). */
// the demo SALMONN (checkpoints/demo) by default; ?model=/models/tiny/ is the test fixture
export const DEFAULT_MODEL = { base: '/models/demo/', config: 'decode_config.yaml' };
const PRESETS = [
  { label: 'Demo model (checkpoints/demo)', base: '/models/demo/', config: 'decode_config.yaml' },
  { label: 'Tiny test model (fixture)', base: '/models/tiny/', config: 'decode_config.yaml' },
];

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const q = new URLSearchParams(location.search);
const backend = (q.get('backend') ?? 'auto') as Backend;

// ---- worker plumbing ------------------------------------------------------------------------------------------
const worker = new Worker(new URL('./worker.js', import.meta.url), { type: 'module' });
let nextId = 1;
const pending = new Map<number, { ok: (v: unknown) => void; fail: (e: Error) => void }>();
type Req = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;
function call<T>(m: Req, transfer: Transferable[] = []): Promise<T> {
  const id = nextId++;
  return new Promise<T>((ok, fail) => {
    pending.set(id, { ok: ok as (v: unknown) => void, fail });
    worker.postMessage({ ...m, id }, transfer);
  });
}
const listeners = { text: new Map<number, (s: string) => void>(), step: new Map<number, (s: TrainStep) => void>() };
worker.onmessage = (ev: MessageEvent<WorkerEvent>) => {
  const m = ev.data;
  if (m.t === 'reply') {
    const p = pending.get(m.id);
    pending.delete(m.id);
    if (m.ok) p?.ok(m.value);
    else p?.fail(new Error(m.error));
  } else if (m.t === 'file') onFile(m.p);
  else if (m.t === 'stage') onStage(m.stage, m.done, m.total, m.overall, m.file);
  else if (m.t === 'text') listeners.text.get(m.id)?.(m.text);
  else if (m.t === 'step') listeners.step.get(m.id)?.(m.s);
};
worker.onerror = (e) => setStatus(`error: the engine worker failed (${e.message || 'see the console'})`, 'error');

// ---- status ---------------------------------------------------------------------------------------------------
let model: ModelInfo | null = null;
let busy = false;
let backendName = '';
let modelLabel = '';
function setStatus(text: string, kind: 'ready' | 'busy' | 'error' | '' = ''): void {
  const s = $('status');
  s.textContent = text;
  s.className = `status ${kind}`;
}
function readyStatus(): void {
  setStatus(model ? `ready · ${modelLabel}${model.config} · ${backendName}` : 'no model loaded', model ? 'ready' : '');
}
function setBusy(b: boolean, what = ''): void {
  busy = b;
  ($('run') as HTMLButtonElement).disabled = b || !model;
  ($('train') as HTMLButtonElement).disabled = b || !model || !model.tasks.length;
  ($('load') as HTMLButtonElement).disabled = b;
  if (b) setStatus(what, 'busy');
  else readyStatus();
}
const fmtBytes = (n: number): string => (n < 0 ? '?' : n < 1024 ? `${n} B` : n < 2 ** 20 ? `${(n / 1024).toFixed(1)} KB` : `${(n / 2 ** 20).toFixed(1)} MB`);

function showDevice(d: DeviceInfo): void {
  const el = $('device');
  if (d.backend === 'webgpu') {
    const feats = (d.features ?? []).filter((f) => ['shader-f16', 'subgroups', 'timestamp-query'].includes(f));
    el.textContent = `WebGPU · ${d.adapter} · features: ${feats.length ? feats.join(', ') : 'none of shader-f16/subgroups/timestamp-query'} · max buffer ${d.maxBufferMiB} MiB`;
    el.title = (d.features ?? []).join('\n');
  } else {
    el.textContent = 'CPU backend (no WebGPU)';
    const b = $('nogpu');
    b.hidden = false;
    b.textContent = d.message ?? 'WebGPU is not available: running on the CPU backend.';
  }
}

// ---- model loading --------------------------------------------------------------------------------------------
const files = new Map<string, HTMLTableRowElement>();
let picked: { path: string; file: File }[] = [];
function onFile(p: FileProgress): void {
  let tr = files.get(p.file);
  if (!tr) {
    tr = document.createElement('tr');
    tr.innerHTML = '<td></td><td class="mini"><div class="mbar"><div></div></div></td><td></td>';
    tr.cells[0].textContent = p.file;
    tr.cells[0].title = p.file;
    $('files').querySelector('tbody')!.append(tr);
    files.set(p.file, tr);
  }
  const frac = p.total > 0 ? p.loaded / p.total : p.done ? 1 : 0;
  (tr.cells[1].firstElementChild!.firstElementChild as HTMLElement).style.width = `${(100 * frac).toFixed(1)}%`;
  tr.cells[2].textContent = p.done ? fmtBytes(p.loaded) : `${fmtBytes(p.loaded)} / ${fmtBytes(p.total)}`;
  tr.dataset.bytes = String(p.loaded);
  let sum = 0;
  for (const r of files.values()) sum += Number(r.dataset.bytes ?? 0);
  $('files-summary').textContent = `${files.size} files · ${fmtBytes(sum)} read`;
}
function onStage(stage: string, done: number, total: number, overall?: number, file?: string): void {
  const pct = stage === 'done' ? 100 : overall !== undefined ? overall : total > 0 ? (100 * done) / total : 0;
  $('progress-bar').style.width = `${pct.toFixed(1)}%`;
  $('progress-stage').textContent = stage === 'done'
    ? `weights on the device: ${fmtBytes(done)}`
    : total > 0 ? `placing ${stage} weights on the device${file ? ` (${file})` : ''}: ${fmtBytes(done)} / ${fmtBytes(total)}` : `${stage}…`;
}

function setupSources(): void {
  const sel = $<HTMLSelectElement>('model-source');
  const qm = q.get('model');
  const opts = [...PRESETS];
  const initial = qm ? { label: `URL: ${qm}`, base: qm, config: q.get('config') ?? 'decode_config.yaml' } : DEFAULT_MODEL;
  if (qm && !PRESETS.some((p) => p.base === qm)) opts.push(initial as (typeof PRESETS)[number]);
  for (const p of opts) sel.add(new Option(p.label, p.base));
  sel.add(new Option('A folder on this computer…', 'folder'));
  sel.value = initial.base;
  $<HTMLInputElement>('config').value = initial.config;
  sel.onchange = () => {
    const folder = sel.value === 'folder';
    $('folder-label').hidden = !folder;
    const p = opts.find((o) => o.base === sel.value);
    if (p) $<HTMLInputElement>('config').value = p.config;
  };
  $<HTMLInputElement>('folder').onchange = () => {
    picked = pickedEntries($<HTMLInputElement>('folder').files!);
    const yamls = picked.map((e) => e.path).filter((p) => /\.ya?ml$/i.test(p));
    const dl = $('config-list');
    dl.replaceChildren(...yamls.map((y) => new Option(y)));
    const dc = yamls.find((y) => /(^|\/)decode_config\.ya?ml$/.test(y)) ?? yamls.find((y) => /decode/.test(y)) ?? yamls[0];
    if (dc) $<HTMLInputElement>('config').value = dc;
  };
  $('load').onclick = () => void load();
  $('clear-cache').onclick = async () => {
    const ok = await (globalThis.caches?.delete('ahamask-models') ?? Promise.resolve(false));
    $('model-summary').textContent = ok ? 'cached model files deleted: the next load downloads them again' : 'no cached model files';
  };
}

async function load(): Promise<void> {
  const sel = $<HTMLSelectElement>('model-source');
  const config = $<HTMLInputElement>('config').value.trim();
  let source: ModelSource;
  if (sel.value === 'folder') {
    if (!picked.length) {
      setStatus('pick a folder holding a SALMONN decode config and its checkpoints first', 'error');
      return;
    }
    const name = ((picked[0].file as File & { webkitRelativePath?: string }).webkitRelativePath || '').split('/')[0] || 'folder';
    source = { kind: 'files', name, entries: picked };
    modelLabel = `${name}/`;
  } else {
    source = { kind: 'url', base: sel.value, cache: q.get('cache') !== '0' };
    modelLabel = sel.value;
  }
  files.clear();
  $('files').querySelector('tbody')!.replaceChildren();
  $('progress').hidden = false;
  ($('files-box') as HTMLDetailsElement).open = true;
  onStage('configs', 0, 0);
  model = null;
  setBusy(true, `loading ${config}…`);
  try {
    const r = await call<{ info: ModelInfo; device: DeviceInfo; ms: number }>({ t: 'load', backend, source, config });
    model = r.info;
    showDevice(r.device);
    backendName = r.device.backend === 'webgpu' ? 'WebGPU' : 'CPU';
    ($('files-box') as HTMLDetailsElement).open = false;
    showModel(r.info, r.ms);
  } catch (e) {
    model = null;
    setBusy(false);
    setStatus(`error: ${(e as Error).message}`, 'error');
    return;
  }
  setBusy(false);
}

function showModel(m: ModelInfo, ms: number): void {
  $('model-summary').textContent = `${modelLabel}${m.config} · ${m.summary} · loaded in ${(ms / 1000).toFixed(1)} s`;
  $('model-summary').dataset.loadMs = ms.toFixed(1);
  const ex = $<HTMLSelectElement>('example');
  ex.replaceChildren(...m.examples.map((e) => new Option(e.label, e.path)));
  audio = m.examples.length ? { kind: 'path', path: m.examples[0].path } : null;
  $('audio-label').textContent = m.examples.length ? '' : 'no example clips in this folder: choose a file or record';
  void previewExample();
  $('prompt-list').replaceChildren(...m.prompts.map((p) => new Option(p)));
  $<HTMLInputElement>('prompt').value = m.prompt || (m.defaultMask ? '' : m.taskPrompts[0]?.prompt ?? '');
  $('chips').replaceChildren(...m.taskPrompts.map(({ task, prompt }) => {
    const b = document.createElement('button');
    b.textContent = task;
    b.title = prompt;
    b.onclick = () => {
      $<HTMLSelectElement>('mask').value = 'none';
      void onMaskSelect().then(() => ($<HTMLInputElement>('prompt').value = prompt));
    };
    return b;
  }));
  const ms_ = $<HTMLSelectElement>('mask');
  ms_.replaceChildren(new Option('none', 'none'), ...m.masks.map((k) => new Option(k.name, `model:${k.path}`)));
  maskCache.clear();
  $<HTMLInputElement>('max-tokens').value = String(m.generate.maxNewTokens);
  $<HTMLSelectElement>('decoding').value = m.generate.numBeams > 1 ? 'beam' : 'greedy';
  $<HTMLInputElement>('beams').value = String(Math.max(2, m.generate.numBeams));
  syncDecoding();
  const tt = $<HTMLSelectElement>('train-task');
  tt.replaceChildren(...m.tasks.map((t) => new Option(t, t)));
  if (!m.tasks.length) tt.add(new Option('(no training data in this folder)', ''));
  editor = { L: m.layers, H: m.heads, logits: allOn(m.layers, m.heads), name: 'none (all heads on)' };
  savedPrompt = null;
  ms_.value = m.defaultMask ? `model:${m.masks.find((k) => k.name === m.defaultMask)!.path}` : 'none';
  void onMaskSelect();
  renderHeatmap();
  trained = null;
  ($('use-trained') as HTMLButtonElement).disabled = true;
  drawChart([]);
  $('loss').textContent = '–';
  $('train-heads').textContent = '–';
  $('train-meta').textContent = '';
  $('output').textContent = '';
  $('output-meta').textContent = '';
  $<HTMLInputElement>('audio-file').value = '';
  $<HTMLInputElement>('mask-file').value = '';
}

// ---- audio ----------------------------------------------------------------------------------------------------
let audio: AudioInput | null = null;
let previewUrl = '';
function setPreview(blob: Blob | null): void {
  if (previewUrl) URL.revokeObjectURL(previewUrl);
  previewUrl = blob ? URL.createObjectURL(blob) : '';
  $<HTMLAudioElement>('player').src = previewUrl;
}
async function previewExample(): Promise<void> {
  if (audio?.kind !== 'path') return;
  const path = audio.path;
  try {
    const bytes = await call<Uint8Array>({ t: 'readFile', path });
    if (audio?.kind === 'path' && audio.path === path) setPreview(new Blob([bytes as BlobPart], { type: /\.flac$/i.test(path) ? 'audio/flac' : 'audio/wav' }));
  } catch {
    setPreview(null);
  }
}
async function useFile(f: File): Promise<void> {
  const bytes = new Uint8Array(await f.arrayBuffer());
  audio = { kind: 'bytes', name: f.name, bytes };
  $('audio-label').textContent = `using ${f.name} (${fmtBytes(f.size)})`;
  setPreview(f);
}
function setupAudio(): void {
  $<HTMLSelectElement>('example').onchange = () => {
    audio = { kind: 'path', path: $<HTMLSelectElement>('example').value };
    $('audio-label').textContent = '';
    $<HTMLInputElement>('audio-file').value = '';
    void previewExample();
  };
  $<HTMLInputElement>('audio-file').onchange = () => {
    const f = $<HTMLInputElement>('audio-file').files?.[0];
    if (f) void useFile(f);
  };
  const drop = $('drop');
  drop.ondragover = (e) => {
    e.preventDefault();
    drop.classList.add('over');
  };
  drop.ondragleave = () => drop.classList.remove('over');
  drop.ondrop = (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    const f = e.dataTransfer?.files?.[0];
    if (f) void useFile(f);
  };
  let rec: MediaRecorder | null = null;
  $('record').onclick = async () => {
    const btn = $('record');
    if (rec) {
      rec.stop();
      return;
    }
    let stream: MediaStream;
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: { channelCount: 1, echoCancellation: false, noiseSuppression: false } });
    } catch (e) {
      $('audio-label').textContent = `microphone not available: ${(e as Error).message}`;
      return;
    }
    const chunks: Blob[] = [];
    rec = new MediaRecorder(stream);
    rec.ondataavailable = (e) => chunks.push(e.data);
    const t0 = Date.now();
    const timer = setInterval(() => ($('audio-label').textContent = `recording… ${((Date.now() - t0) / 1000).toFixed(1)} s (max 30 s)`), 200);
    const auto = setTimeout(() => rec?.stop(), 30_000);
    rec.onstop = async () => {
      clearInterval(timer);
      clearTimeout(auto);
      stream.getTracks().forEach((t) => t.stop());
      rec = null;
      btn.textContent = '● Record';
      const blob = new Blob(chunks, { type: chunks[0]?.type || 'audio/webm' });
      setPreview(blob);
      // decode at the context's rate; the worker resamples to 16 kHz with the library's (torchaudio) resampler
      const ctx = new AudioContext();
      try {
        const buf = await ctx.decodeAudioData(await blob.arrayBuffer());
        audio = { kind: 'pcm', samples: buf.getChannelData(0).slice(), sampleRate: buf.sampleRate };
        $('audio-label').textContent = `using the recording (${buf.duration.toFixed(1)} s at ${buf.sampleRate} Hz, resampled to 16 kHz)`;
      } catch (e) {
        $('audio-label').textContent = `could not decode the recording: ${(e as Error).message}`;
      } finally {
        void ctx.close();
      }
    };
    rec.start();
    btn.textContent = '■ Stop';
  };
}

// ---- masks ----------------------------------------------------------------------------------------------------
interface EditorMask {
  L: number;
  H: number;
  logits: Float32Array;
  name: string;
}
let editor: EditorMask | null = null;
let trained: Float32Array | null = null;
const maskCache = new Map<string, Float32Array>();
let savedPrompt: string | null = null;
const ON = 4, OFF = -4;
function allOn(L: number, H: number): Float32Array {
  return new Float32Array(L * (H + 1)).fill(ON);
}
const isOn = (x: number): boolean => Math.fround(x) >= 0;

function addMaskOption(value: string, label: string): void {
  const sel = $<HTMLSelectElement>('mask');
  let o = Array.from(sel.options).find((x) => x.value === value);
  if (!o) {
    o = new Option(label, value);
    sel.add(o);
  }
  o.textContent = label;
  sel.value = value;
}

/** Shows the selected mask in the editor; a mask run uses the mask prompt (empty), as AHAMask does. */
async function onMaskSelect(): Promise<void> {
  if (!model || !editor) return;
  const v = $<HTMLSelectElement>('mask').value;
  const prompt = $<HTMLInputElement>('prompt');
  if (v === 'none') {
    if (savedPrompt !== null) prompt.value = savedPrompt;
    savedPrompt = null;
    editor.logits = allOn(model.layers, model.heads);
    editor.name = 'none (all heads on)';
  } else {
    if (savedPrompt === null) {
      savedPrompt = prompt.value;
      prompt.value = '';
    }
    if (v.startsWith('model:')) {
      const path = v.slice(6);
      let l = maskCache.get(path);
      if (!l) {
        try {
          l = await call<Float32Array>({ t: 'readMask', path });
        } catch (e) {
          setStatus(`error: ${(e as Error).message}`, 'error');
          return;
        }
        maskCache.set(path, l);
      }
      editor.logits = Float32Array.from(l);
      editor.name = path;
    } else if (v === 'trained' && trained) {
      editor.logits = Float32Array.from(trained);
      editor.name = 'trained in this tab';
    } else if (maskCache.has(v)) {
      editor.logits = Float32Array.from(maskCache.get(v)!);
      editor.name = v.replace(/^upload:/, 'uploaded ');
    }
  }
  renderHeatmap();
}

function renderHeatmap(): void {
  const hm = $('heatmap');
  if (!editor) {
    hm.replaceChildren();
    return;
  }
  const { L, H, logits } = editor;
  const cs = Math.max(8, Math.min(34, Math.floor(600 / H)));
  const labEvery = H > 24 ? 5 : 1;
  hm.style.setProperty('--cs', `${cs}px`);
  hm.style.gridTemplateColumns = `auto repeat(${H}, ${cs}px) auto`;
  const parts: HTMLElement[] = [];
  const div = (cls: string, text = ''): HTMLDivElement => {
    const d = document.createElement('div');
    d.className = cls;
    d.textContent = text;
    return d;
  };
  parts.push(div('axis', 'layer ↓ / head →'));
  for (let h = 0; h < H; h++) parts.push(div('collab', h % labEvery === 0 ? String(h) : ''));
  parts.push(div('axis', 'on'));
  for (let l = 0; l < L; l++) {
    const lab = div('rowlab', `L${l}`);
    lab.dataset.layer = String(l);
    lab.title = `switch layer ${l} on/off`;
    parts.push(lab);
    let n = 0;
    for (let h = 0; h < H; h++) {
      const x = logits[l * (H + 1) + h];
      const c = div('cell');
      c.dataset.layer = String(l);
      c.dataset.head = String(h);
      c.dataset.on = isOn(x) ? '1' : '0';
      c.title = `layer ${l}, head ${h}: ${isOn(x) ? 'on' : 'off'} (logit ${x.toFixed(2)})`;
      if (isOn(x)) n++;
      parts.push(c);
    }
    parts.push(div('count', `${n}/${H}`));
  }
  hm.replaceChildren(...parts);
  const on = countOn(logits, L, H);
  $('heads-on').textContent = `${on} / ${L * H} heads on`;
  $('heads-on').dataset.on = String(on);
  $('mask-name').textContent = `· ${editor.name}`;
}
function countOn(logits: Float32Array, L: number, H: number): number {
  let n = 0;
  for (let l = 0; l < L; l++) for (let h = 0; h < H; h++) if (isOn(logits[l * (H + 1) + h])) n++;
  return n;
}
function edited(): void {
  if (!editor) return;
  editor.name = 'edited';
  maskCache.set('edited', Float32Array.from(editor.logits));
  if (savedPrompt === null) {
    savedPrompt = $<HTMLInputElement>('prompt').value;
    $<HTMLInputElement>('prompt').value = '';
  }
  addMaskOption('edited', 'edited in the editor');
  renderHeatmap();
}
function setupMaskEditor(): void {
  $('heatmap').onclick = (e) => {
    if (!editor) return;
    const t = e.target as HTMLElement;
    const { L, H, logits } = editor;
    if (t.classList.contains('cell')) {
      const j = Number(t.dataset.layer) * (H + 1) + Number(t.dataset.head);
      logits[j] = isOn(logits[j]) ? OFF : ON;
      edited();
    } else if (t.classList.contains('rowlab')) {
      const l = Number(t.dataset.layer);
      let any = false;
      for (let h = 0; h < H; h++) any ||= isOn(logits[l * (H + 1) + h]);
      for (let h = 0; h < H; h++) logits[l * (H + 1) + h] = any ? OFF : ON;
      edited();
    }
    void L;
  };
  $('all-on').onclick = () => {
    if (!editor) return;
    editor.logits = allOn(editor.L, editor.H);
    edited();
  };
  $('all-off').onclick = () => {
    if (!editor) return;
    for (let l = 0; l < editor.L; l++) for (let h = 0; h < editor.H; h++) editor.logits[l * (editor.H + 1) + h] = OFF;
    edited();
  };
  $('use-edited').onclick = () => {
    edited();
    void runClip();
  };
  $<HTMLSelectElement>('mask').onchange = () => void onMaskSelect();
  $<HTMLInputElement>('mask-file').onchange = async () => {
    const f = $<HTMLInputElement>('mask-file').files?.[0];
    if (!f || !model) return;
    try {
      const l = await call<Float32Array>({ t: 'readMaskBytes', bytes: new Uint8Array(await f.arrayBuffer()), name: f.name });
      maskCache.set(`upload:${f.name}`, l);
      addMaskOption(`upload:${f.name}`, `uploaded: ${f.name}`);
      await onMaskSelect();
    } catch (e) {
      setStatus(`error: ${(e as Error).message}`, 'error');
    }
  };
  $('download-mask').onclick = async () => {
    if (!editor) return;
    const bytes = await call<Uint8Array>({ t: 'encodeMask', logits: Float32Array.from(editor.logits) });
    const a = document.createElement('a');
    a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
    a.download = 'checkpoint.pth';
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 60_000);
  };
}

// ---- run ------------------------------------------------------------------------------------------------------
function syncDecoding(): void {
  $<HTMLInputElement>('beams').disabled = $<HTMLSelectElement>('decoding').value !== 'beam';
}
async function runClip(): Promise<void> {
  if (!model || !editor || busy) return;
  if (!audio) {
    setStatus('choose an example clip, a file or a recording first', 'error');
    return;
  }
  const out = $('output');
  out.textContent = '';
  out.dataset.done = '0';
  out.classList.add('running');
  $('output-meta').textContent = '';
  const maskSel = $<HTMLSelectElement>('mask').value;
  const beam = $<HTMLSelectElement>('decoding').value === 'beam';
  const opts = {
    audio,
    prompt: $<HTMLInputElement>('prompt').value,
    mask: maskSel === 'none' ? null : Float32Array.from(editor.logits),
    numBeams: beam ? Number($<HTMLInputElement>('beams').value) || 4 : 1,
    maxNewTokens: Number($<HTMLInputElement>('max-tokens').value) || 30,
  };
  setBusy(true, 'running…');
  ($('cancel') as HTMLButtonElement).disabled = false;
  const id = nextId;
  listeners.text.set(id, (s) => (out.textContent = s));
  try {
    const r = await call<RunResult>({ t: 'run', opts });
    out.textContent = r.text;
    out.dataset.ms = r.ms.toFixed(1);
    out.dataset.tokens = String(r.tokens);
    const mask = maskSel === 'none' ? 'no mask' : `mask ${editor.name} (${countOn(editor.logits, editor.L, editor.H)} heads on)`;
    $('output-meta').textContent = `${r.cancelled ? 'cancelled · ' : ''}${r.tokens} tokens in ${(r.ms / 1000).toFixed(2)} s (${((1000 * r.tokens) / r.ms).toFixed(1)} tokens/s incl. the encoders) · ${opts.numBeams > 1 ? `beam ${opts.numBeams}` : 'greedy'} · ${mask} · stop: ${r.stopReason}`;
  } catch (e) {
    $('output-meta').textContent = `error: ${(e as Error).message}`;
  } finally {
    listeners.text.delete(id);
    out.classList.remove('running');
    out.dataset.done = '1';
    ($('cancel') as HTMLButtonElement).disabled = true;
    setBusy(false);
  }
}

// ---- training -------------------------------------------------------------------------------------------------
let history: TrainStep[] = [];
function drawChart(h: TrainStep[]): void {
  const svg = $('chart') as unknown as SVGSVGElement;
  const W = 720, Hh = 200, padL = 48, padR = 48, padT = 24, padB = 26;
  const n = Math.max(2, h.length);
  const x = (i: number): number => padL + ((W - padL - padR) * i) / (n - 1);
  const losses = h.map((s) => s.loss);
  let lo = Math.min(...losses), hi = Math.max(...losses);
  if (!h.length) lo = 0, hi = 1;
  if (hi - lo < 1e-6) (lo -= 0.5), (hi += 0.5);
  const yl = (v: number): number => padT + ((Hh - padT - padB) * (hi - v)) / (hi - lo);
  const total = h[0]?.headsTotal ?? 1;
  const yh = (v: number): number => padT + ((Hh - padT - padB) * (total - v)) / total;
  const path = (ys: number[]): string => ys.map((y, i) => `${i ? 'L' : 'M'}${x(i).toFixed(1)},${y.toFixed(1)}`).join('');
  const t = (xx: number, yy: number, s: string, anchor = 'start', color = '#667085'): string => `<text x="${xx}" y="${yy}" font-size="11" fill="${color}" text-anchor="${anchor}">${s}</text>`;
  svg.innerHTML = [
    `<line x1="${padL}" y1="${Hh - padB}" x2="${W - padR}" y2="${Hh - padB}" stroke="#d0d5dd"/>`,
    `<line x1="${padL}" y1="${padT}" x2="${padL}" y2="${Hh - padB}" stroke="#d0d5dd"/>`,
    `<line x1="${W - padR}" y1="${padT}" x2="${W - padR}" y2="${Hh - padB}" stroke="#d0d5dd"/>`,
    t(padL - 6, padT + 8, hi.toFixed(2), 'end', '#1f6feb'),
    t(padL - 6, Hh - padB, lo.toFixed(2), 'end', '#1f6feb'),
    t(W - padR + 6, padT + 8, String(total), 'start', '#0f9d8a'),
    t(W - padR + 6, Hh - padB, '0', 'start', '#0f9d8a'),
    t(padL, Hh - 8, 'step 1'),
    t(W - padR, Hh - 8, h.length ? `step ${h.length}` : 'step', 'end'),
    t(W - padR - 90, 14, '━ loss', 'end', '#1f6feb'),
    t(W - padR, 14, '━ heads on', 'end', '#0f9d8a'),
    h.length ? `<path d="${path(h.map((s) => yh(s.headsOn)))}" fill="none" stroke="#0f9d8a" stroke-width="2"/>` : '',
    h.length ? `<path d="${path(losses.map(yl))}" fill="none" stroke="#1f6feb" stroke-width="2"/>` : '',
  ].join('');
}
async function trainMask(): Promise<void> {
  if (!model || busy) return;
  const task = $<HTMLSelectElement>('train-task').value;
  const steps = Number($<HTMLInputElement>('train-steps').value) || 20;
  const lr = Number($<HTMLInputElement>('train-lr').value) || 0.5;
  history = [];
  drawChart(history);
  $('loss').textContent = '…';
  $('loss').dataset.history = '[]';
  $('train-meta').textContent = 'encoding the task\'s clips (once), then training…';
  setBusy(true, `training a mask for ${task}…`);
  ($('train-stop') as HTMLButtonElement).disabled = false;
  const id = nextId;
  const t0 = performance.now();
  listeners.step.set(id, (s) => {
    history.push(s);
    $('loss').textContent = s.loss.toFixed(4);
    $('loss').dataset.history = JSON.stringify(history.map((x) => x.loss));
    $('train-heads').textContent = `${s.headsOn} / ${s.headsTotal}`;
    $('train-meta').textContent = `step ${s.step + 1}/${steps} · lr ${s.lr.toPrecision(3)} · τ ${s.tau.toFixed(2)} · ${((performance.now() - t0) / (s.step + 1) / 1000).toFixed(2)} s/step`;
    drawChart(history);
    trained = s.logits;
    if ($<HTMLSelectElement>('mask').value === 'trained' || history.length === 1) {
      addMaskOption('trained', `trained: ${task} (${steps} steps)`);
      void onMaskSelect();
    }
  });
  try {
    trained = await call<Float32Array>({ t: 'train', opts: { task, steps, lr } });
    $('train-meta').textContent += ' · done';
    addMaskOption('trained', `trained: ${task} (${history.length} steps)`);
    await onMaskSelect();
    ($('use-trained') as HTMLButtonElement).disabled = false;
  } catch (e) {
    $('train-meta').textContent = `error: ${(e as Error).message}`;
  } finally {
    listeners.step.delete(id);
    ($('train-stop') as HTMLButtonElement).disabled = true;
    setBusy(false);
  }
}

// ---- start ----------------------------------------------------------------------------------------------------
setupSources();
setupAudio();
setupMaskEditor();
$('run').onclick = () => void runClip();
$('cancel').onclick = () => worker.postMessage({ t: 'cancel' });
$('train-stop').onclick = () => worker.postMessage({ t: 'cancel' });
$('train').onclick = () => void trainMask();
$('use-trained').onclick = () => {
  if (!trained) return;
  addMaskOption('trained', $<HTMLSelectElement>('mask').selectedOptions[0]?.textContent ?? 'trained');
  $<HTMLSelectElement>('mask').value = 'trained';
  void onMaskSelect();
};
$<HTMLSelectElement>('decoding').onchange = syncDecoding;
drawChart([]);
if (q.get('model') !== 'none') void load();
else setStatus('pick a model and press Load');
