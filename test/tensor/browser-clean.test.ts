import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ROOT } from '../helpers/paths.js';

// The engine must bundle for browsers: only the Node adapter (src/node) and the CLI (src/cli) may use Node.
const NODE_ONLY = ['src/node/', 'src/cli/'];

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((f) => {
    const p = join(dir, f);
    return statSync(p).isDirectory() ? files(p) : p.endsWith('.ts') ? [p] : [];
  });
}

test('src/ outside the Node adapter and CLI imports no node: module, fs, or the webgpu package', () => {
  const offenders: string[] = [];
  for (const f of files(join(ROOT, 'src'))) {
    const rel = relative(ROOT, f);
    if (NODE_ONLY.some((p) => rel.startsWith(p))) continue;
    const src = readFileSync(f, 'utf8');
    const re = /(?:import|export)[^'"]*from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)|require\(\s*['"]([^'"]+)['"]/g;
    for (const m of src.matchAll(re)) {
      const spec = m[1] ?? m[2] ?? m[3];
      if (/^node:/.test(spec) || ['fs', 'path', 'os', 'child_process', 'webgpu', 'fs/promises', 'url', 'crypto'].includes(spec)) offenders.push(`${rel}: ${spec}`);
    }
    if (/\bprocess\.(env|argv|exit|cwd)/.test(src)) offenders.push(`${rel}: uses process.*`);
  }
  assert.equal(offenders, []);
});

test.run();
