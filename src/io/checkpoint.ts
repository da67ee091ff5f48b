// One API over every checkpoint format: torch zip (.pth/.pt/.bin), safetensors, and HF sharded folders
// (model.safetensors.index.json / pytorch_model.bin.index.json). Tensors stay lazy (StoredTensor).
import { FormatError } from '../errors.js';
import { joinName, openOwned, type ByteSource, type Directory } from './bytes.js';
import { PyTuple, type PyValue } from './pickle.js';
import { openSafetensors, openShardedSafetensors, readShardIndex } from './safetensors.js';
import { isStoredTensor, openTorch, type StoredTensor } from './torch.js';

export type CheckpointFormat = 'torch' | 'safetensors' | 'torch-sharded' | 'safetensors-sharded';

export interface Checkpoint {
  /** File (or index file) name for messages. */
  readonly file: string;
  readonly format: CheckpointFormat;
  /** Flat state dict view: name -> lazy tensor. */
  readonly tensors: Map<string, StoredTensor>;
  /** The whole unpickled object of a single torch file (e.g. BEATs 'cfg', 'epoch'); undefined otherwise. */
  readonly root?: PyValue;
  /** Closes every file this checkpoint opened. */
  close(): Promise<void>;
}

export interface OpenCheckpointOptions {
  /**
   * Key path to descend into before flattening, e.g. 'model' for {'model': state_dict, 'optimizer': ...}.
   * A missing key is a FormatError. Default: the root.
   */
  select?: string | string[];
  /** When `select` names a missing key, fall back to the root instead of failing. */
  selectOptional?: boolean;
  /** For folders holding several formats (HF whisper has both): which to use. Default 'safetensors'. */
  prefer?: 'safetensors' | 'torch';
  /** For folders: open this file instead of auto-detecting. */
  file?: string;
}

export function isDirectory(x: ByteSource | Directory): x is Directory {
  return typeof (x as Directory).exists === 'function' && typeof (x as Directory).open === 'function';
}

/** Descends `root` along `path` (dict keys). */
export function selectPath(root: PyValue, path: string[], file: string): PyValue {
  let cur: PyValue = root;
  for (let i = 0; i < path.length; i++) {
    if (!(cur instanceof Map)) throw new FormatError(file, `expected a dict at '${path.slice(0, i).join('.') || '<root>'}'`);
    if (!cur.has(path[i])) {
      const keys = [...cur.keys()].slice(0, 20).map(String).join(', ');
      throw new FormatError(file, `key '${path.slice(0, i + 1).join('.')}' not found (has: ${keys})`);
    }
    cur = cur.get(path[i]) as PyValue;
  }
  return cur;
}

/**
 * Flattens nested dicts into 'a.b.c' -> tensor (non-tensor leaves are skipped). Guards against cycles and absurd
 * nesting (a crafted pickle can build both).
 */
export function flattenTensors(root: PyValue, file: string, prefix = ''): Map<string, StoredTensor> {
  const out = new Map<string, StoredTensor>();
  const seen = new Set<object>();
  const walk = (v: PyValue, name: string, depth: number): void => {
    if (isStoredTensor(v)) {
      out.set(name, v);
      return;
    }
    if (!(v instanceof Map)) return;
    if (seen.has(v)) return;
    if (depth > 64) throw new FormatError(file, `dict nesting deeper than 64 at '${name.length > 60 ? `...${name.slice(-57)}` : name}'`);
    seen.add(v);
    for (const [k, x] of v) {
      const ks = k instanceof PyTuple ? `(${k.items.map(String).join(',')})` : String(k);
      walk(x as PyValue, name ? `${name}.${ks}` : ks, depth + 1);
    }
  };
  walk(root, prefix, 0);
  return out;
}

function toPath(select: string | string[] | undefined): string[] {
  if (select === undefined) return [];
  return typeof select === 'string' ? [select] : select;
}

async function openTorchFlat(source: ByteSource, opts: OpenCheckpointOptions): Promise<Checkpoint> {
  const ck = await openTorch(source); // on failure the caller closes `source`
  try {
    const path = toPath(opts.select);
    let sub: PyValue = ck.root;
    if (path.length) {
      try {
        sub = selectPath(ck.root, path, ck.file);
      } catch (e) {
        if (!opts.selectOptional) throw e;
      }
    }
    return { file: ck.file, format: 'torch', tensors: flattenTensors(sub, ck.file), root: ck.root, close: ck.close };
  } catch (e) {
    await ck.close();
    throw e;
  }
}

async function sniff(source: ByteSource): Promise<'torch' | 'safetensors'> {
  const head = await source.read(0, Math.min(9, source.size));
  if (head.length >= 4 && head[0] === 0x50 && head[1] === 0x4b && head[2] === 0x03 && head[3] === 0x04) return 'torch';
  if (head.length >= 9 && head[8] === 0x7b) return 'safetensors';
  if (head[0] === 0x80) return 'torch'; // legacy torch pickle: openTorch explains
  throw new FormatError(source.name, 'unknown checkpoint format (neither a torch zip nor safetensors)');
}

async function openShardedTorch(dir: Directory, indexName: string, opts: OpenCheckpointOptions): Promise<Checkpoint> {
  const index = await readShardIndex(dir, indexName);
  const file = joinName(dir.name, indexName);
  const shards = [...new Set(index.weightMap.values())];
  const opened: Checkpoint[] = [];
  const close = async (): Promise<void> => { for (const c of opened) await c.close(); };
  const tensors = new Map<string, StoredTensor>();
  try {
    const byShard = new Map<string, Checkpoint>();
    for (const s of shards) {
      const c = await openOwned(dir, s, (src) => openTorchFlat(src, { ...opts, selectOptional: true }));
      opened.push(c);
      byShard.set(s, c);
    }
    for (const [name, s] of index.weightMap) {
      const t = byShard.get(s)!.tensors.get(name);
      if (!t) throw new FormatError(joinName(dir.name, s), `tensor '${name}' listed in ${indexName} is not in this shard`);
      tensors.set(name, t);
    }
  } catch (e) {
    await close();
    throw e;
  }
  return { file, format: 'torch-sharded', tensors, close };
}

/**
 * Opens a checkpoint lazily from a single file (torch zip or safetensors, detected from the bytes) or a folder
 * (sharded index, model.safetensors or pytorch_model.bin). Returns a flat name -> StoredTensor view; for torch files
 * `select` picks a sub-dict first (e.g. 'model').
 */
export async function openCheckpoint(input: ByteSource | Directory, opts: OpenCheckpointOptions = {}): Promise<Checkpoint> {
  if (!isDirectory(input)) {
    if ((await sniff(input)) === 'torch') return openTorchFlat(input, opts);
    const st = await openSafetensors(input);
    return { file: st.file, format: 'safetensors', tensors: st.tensors, close: st.close };
  }
  const dir = input;
  if (opts.file) return openOwned(dir, opts.file, (src) => openCheckpoint(src, { ...opts, file: undefined }));
  const st = ['model.safetensors.index.json', 'model.safetensors'];
  const pt = ['pytorch_model.bin.index.json', 'pytorch_model.bin'];
  const order = opts.prefer === 'torch' ? [...pt, ...st] : [...st, ...pt];
  for (const name of order) {
    if (!(await dir.exists(name))) continue;
    if (name === 'model.safetensors.index.json') {
      const s = await openShardedSafetensors(dir, name);
      return { file: s.file, format: 'safetensors-sharded', tensors: s.tensors, close: s.close };
    }
    if (name === 'pytorch_model.bin.index.json') return openShardedTorch(dir, name, opts);
    return openOwned(dir, name, (src) => openCheckpoint(src, opts));
  }
  throw new FormatError(dir.name, `no checkpoint found (looked for ${order.join(', ')})`);
}
