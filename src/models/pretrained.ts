// Where `Salmonn.fromPretrained(source)` finds a model: a Directory, a browser FileList / File array, a base URL,
// a decode config's URL, or (in Node, once `ahamask/node` is imported) a folder or config path on disk. The
// decode config is read from the source and its relative paths resolve against the config's folder.
import { AhamaskError, FormatError } from '../errors.js';
import { readText, type Directory } from '../io/bytes.js';
import { parseDecodeConfig, type DecodeConfig, type Warn } from '../io/config.js';
import { BlobDirectory, UrlDirectory, type UrlDirectoryOptions } from '../io/directories.js';
import type { Target } from './weights.js';

/** Platform hooks: `ahamask/node` installs file paths and the Dawn device. */
export interface PretrainedPlatform {
  /** A local path -> its folder (and the config file name when the path is a file); null when it does not exist. */
  openPath?(path: string): Promise<{ dir: Directory; config?: string; label: string } | null>;
  /** The target used when none is given. */
  defaultTarget?(): Promise<Target>;
}

let platform: PretrainedPlatform = {};

export function setPretrainedPlatform(p: PretrainedPlatform): void {
  platform = { ...platform, ...p };
}

export function pretrainedPlatform(): PretrainedPlatform {
  return platform;
}

/** A File as browsers (and Node >= 20) have it. */
type FileItem = Blob & { readonly name: string; readonly webkitRelativePath?: string };

export type PretrainedSource = string | URL | Directory | ArrayLike<FileItem> | Iterable<FileItem>;

/** Config names tried in a folder, in order. */
export const DECODE_CONFIG_NAMES = ['decode_config.yaml', 'decode_config.yml', 'configs/decode_config.yaml', 'config.yaml'];

function isDirectory(x: unknown): x is Directory {
  return !!x && typeof x === 'object' && typeof (x as Directory).open === 'function' && typeof (x as Directory).exists === 'function';
}

const isYaml = (p: string): boolean => /\.ya?ml$/i.test(p.split(/[?#]/)[0]);

/** Finds the source's folder and decode config. */
export async function resolvePretrainedSource(source: PretrainedSource, opts: { config?: string; url?: UrlDirectoryOptions } = {}): Promise<{ dir: Directory; config: string; label: string }> {
  let dir: Directory;
  let config = opts.config;
  let label: string;
  if (isDirectory(source)) {
    dir = source;
    label = source.name;
  } else if (typeof source === 'string' || source instanceof URL) {
    const s = String(source);
    const looksUrl = source instanceof URL || /^[a-z][a-z0-9+.-]*:\/\//i.test(s) || /^(blob|data):/i.test(s);
    const local = !looksUrl && platform.openPath ? await platform.openPath(s) : null;
    if (local) {
      dir = local.dir;
      config ??= local.config;
      label = local.label;
    } else if (!looksUrl && platform.openPath) {
      throw new AhamaskError(`${s}: no such file or folder`);
    } else {
      const loc = (globalThis as { location?: { href: string } }).location?.href;
      let url: URL;
      try {
        url = new URL(s, loc);
      } catch {
        throw new AhamaskError(`${s}: not a URL${platform.openPath ? '' : " (file paths need Node and `import 'ahamask/node'`)"}`);
      }
      const href = url.href;
      if (isYaml(url.pathname)) {
        const i = href.lastIndexOf('/', href.indexOf('?') >= 0 ? href.indexOf('?') : href.length);
        dir = new UrlDirectory(href.slice(0, i + 1), opts.url);
        config ??= decodeURIComponent(href.slice(i + 1));
      } else dir = new UrlDirectory(href, opts.url);
      label = dir.name;
    }
  } else {
    dir = new BlobDirectory(source as ArrayLike<FileItem>, '<files>');
    label = dir.name;
  }
  if (!config) {
    for (const c of DECODE_CONFIG_NAMES) {
      if (await dir.exists(c)) {
        config = c;
        break;
      }
    }
    if (!config && dir.list) {
      const yaml = (await dir.list()).filter((p) => isYaml(p) && !p.includes('/'));
      if (yaml.length === 1) config = yaml[0];
    }
    if (!config) throw new FormatError(label, `no decode config found (tried ${DECODE_CONFIG_NAMES.join(', ')}); pass options.config`);
  }
  return { dir, config, label };
}

/** Reads and parses the decode config of a source; relative paths stay relative to the config's folder. */
export async function readPretrainedConfig(dir: Directory, config: string, label: string, opts: { warn?: Warn; overrides?: string[] } = {}): Promise<{ cfg: DecodeConfig; dir: Directory }> {
  const slash = config.lastIndexOf('/');
  const folder = slash >= 0 ? config.slice(0, slash) : '';
  const src = await dir.open(config);
  let text: string;
  try {
    text = await readText(src);
  } finally {
    await src.close?.();
  }
  const file = label.endsWith('/') ? label + config : `${label}/${config}`;
  const cfg = parseDecodeConfig(text, { file, cwd: '', warn: opts.warn, overrides: opts.overrides });
  return { cfg, dir: folder ? subDir(dir, folder) : dir };
}

function subDir(fs: Directory, base: string): Directory {
  const j = (rel: string): string => (/^([A-Za-z]:)?[\\/]/.test(rel) ? rel : `${base}/${rel}`);
  return { name: `${fs.name}/${base}`, open: (rel) => fs.open(j(rel)), exists: (rel) => fs.exists(j(rel)) };
}
