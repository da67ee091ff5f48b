// `npm run web`: bundles the page (web/main.ts and the engine worker web/worker.ts, esbuild, platform browser) into a
// static folder and serves it on 127.0.0.1 with the model folders read-only:
//   /models/demo/  -> checkpoints/demo/                    (the demo SALMONN; $AHAMASK_DEMO_DIR overrides)
//   /models/tiny/  -> test/shared/fixtures/tiny-salmonn/    (the tiny test model)
// The folder (default web/dist) can be hosted anywhere as is; put model folders next to it and pass ?model=<url>.
// Options: --out DIR, --port N (default 8080; 0 = any free port), --build-only.
import { copyFileSync, createReadStream, existsSync, mkdirSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname, extname, join, normalize, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import * as esbuild from 'esbuild';

export const WEB = dirname(fileURLToPath(import.meta.url));
export const ROOT = resolve(WEB, '..');
export const MODEL_MOUNTS: Record<string, string> = {
  '/models/demo/': resolve(process.env.AHAMASK_DEMO_DIR ?? join(ROOT, 'checkpoints/demo')),
  '/models/tiny/': join(ROOT, 'test/shared/fixtures/tiny-salmonn'),
};

/** Bundles the page into `out` (index.html, style.css, main.js, worker.js). */
export async function buildWeb(out: string, opts: { minify?: boolean; sourcemap?: boolean } = {}): Promise<void> {
  mkdirSync(out, { recursive: true });
  const r = await esbuild.build({
    entryPoints: { main: join(WEB, 'main.ts'), worker: join(WEB, 'worker.ts') },
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    outdir: out,
    minify: opts.minify ?? false,
    sourcemap: opts.sourcemap ?? true,
    logLevel: 'silent',
  });
  if (r.errors.length) throw new Error(r.errors.map((e) => e.text).join('\n'));
  for (const f of ['index.html', 'style.css']) copyFileSync(join(WEB, f), join(out, f));
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json', '.map': 'application/json', '.yaml': 'text/yaml; charset=utf-8', '.wav': 'audio/wav', '.flac': 'audio/flac',
};

/** Maps a URL path onto a file under the static folder or a model mount (null: outside every root). */
function resolveUrl(dir: string, mounts: Record<string, string>, urlPath: string): string | null {
  let p: string;
  try {
    p = decodeURIComponent(urlPath);
  } catch {
    return null;
  }
  if (p.includes('\0')) return null;
  let base = dir, rel = p;
  for (const [m, d] of Object.entries(mounts)) {
    if (p.startsWith(m)) {
      base = d;
      rel = p.slice(m.length);
      break;
    }
  }
  if (rel === '' || rel === '/') rel = 'index.html';
  const full = normalize(join(base, rel));
  return full === base || full.startsWith(base + sep) ? full : null;
}

/** Serves `dir` and the model mounts read-only (GET/HEAD) on 127.0.0.1. */
export function serveWeb(dir: string, port = 8080, mounts = MODEL_MOUNTS): Promise<{ server: Server; url: string }> {
  const server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    const file = resolveUrl(dir, mounts, new URL(req.url ?? '/', 'http://x').pathname);
    let st;
    try {
      st = file ? statSync(file) : null;
    } catch {
      st = null;
    }
    if (!file || !st || !st.isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(req.method === 'HEAD' ? undefined : 'not found\n');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream', 'content-length': st.size, 'cache-control': 'no-cache' });
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  return new Promise((ok, fail) => {
    server.once('error', fail).listen(port, '127.0.0.1', () => {
      const a = server.address() as AddressInfo;
      ok({ server, url: `http://127.0.0.1:${a.port}/` });
    });
  });
}

async function main(argv: string[]): Promise<void> {
  const arg = (k: string): string | undefined => {
    const i = argv.indexOf(k);
    return i >= 0 ? argv[i + 1] : undefined;
  };
  const out = resolve(arg('--out') ?? join(WEB, 'dist'));
  const t0 = Date.now();
  await buildWeb(out);
  console.log(`built the page into ${out} in ${Date.now() - t0} ms`);
  if (argv.includes('--build-only')) return;
  const { url } = await serveWeb(out, Number(arg('--port') ?? 8080));
  for (const [m, d] of Object.entries(MODEL_MOUNTS)) console.log(`  ${m.padEnd(14)} -> ${d}${existsSync(d) ? '' : ' (missing)'}`);
  console.log(`serving on ${url}  (tiny model: ${url}?model=/models/tiny/&config=decode_config.yaml)`);
  console.log('press Ctrl+C to stop');
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main(process.argv.slice(2)).catch((e) => {
    console.error(`ahamask web: ${e instanceof Error ? e.message : e}`);
    process.exit(1);
  });
}
