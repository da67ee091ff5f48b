// Layering of src/: parses every `import ... from` / `export ... from` / `import()` of src/**/*.ts and checks
// - src/kernels imports nothing from src/ops (kernels sit below ops: their signatures live in src/kernels),
// - src/node imports nothing from src/cli (the Node adapter sits below the commands),
// - there is no import cycle. Type-only imports (`import type`, `export type`) are left out of the cycle check:
//   they vanish at runtime, so they cannot cause initialisation-order bugs (they still count for layering).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { ROOT } from '../helpers/paths.js';

const SRC = join(ROOT, 'src');

interface Edge {
  to: string;
  typeOnly: boolean;
}

function files(d: string, out: string[] = []): string[] {
  for (const f of readdirSync(d).sort()) {
    const p = join(d, f);
    if (statSync(p).isDirectory()) files(p, out);
    else if (p.endsWith('.ts') && !p.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

/** Relative imports of one file (specifiers resolved to src-relative .ts paths). */
export function importsOf(path: string, text: string): Edge[] {
  const code = text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/^\s*\/\/.*$/gm, '');
  const out: Edge[] = [];
  const add = (spec: string, typeOnly: boolean) => {
    if (!spec.startsWith('.')) return;
    const abs = resolve(dirname(path), spec.replace(/\.js$/, '.ts'));
    out.push({ to: relative(ROOT, abs), typeOnly });
  };
  // static imports and re-exports (multi-line clauses included)
  for (const m of code.matchAll(/^\s*(import|export)\s+(type\s+)?([^;'"]*?)\s*from\s*['"]([^'"]+)['"]/gm)) {
    const clause = m[3];
    // `import { type A, type B }` is type-only too
    const allTypes = !!m[2] || (/^\{[\s\S]*\}$/.test(clause) && clause.slice(1, -1).split(',').filter((s) => s.trim()).every((s) => /^\s*type\s/.test(s)));
    add(m[4], allTypes);
  }
  for (const m of code.matchAll(/^\s*import\s*['"]([^'"]+)['"]/gm)) add(m[1], false);
  for (const m of code.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) add(m[1], false);
  return out;
}

const graph = new Map<string, Edge[]>();
for (const f of files(SRC)) graph.set(relative(ROOT, f), importsOf(f, readFileSync(f, 'utf8')));

function violations(from: string, to: string): string[] {
  const bad: string[] = [];
  for (const [f, edges] of graph) {
    if (!f.startsWith(from)) continue;
    for (const e of edges) if (e.to.startsWith(to)) bad.push(`${f} -> ${e.to}${e.typeOnly ? ' (type only)' : ''}`);
  }
  return bad;
}

test('the parser sees imports, re-exports, type-only imports and dynamic imports', () => {
  const e = importsOf(join(SRC, 'x/a.ts'), `import { a } from './b.js';\nimport type { T } from '../c.js';\nexport * from './d.js';\nimport {\n  type U,\n  type V,\n} from './e.js';\nimport './f.js';\nconst m = await import('./g.js');\n// import { no } from './comment.js';`);
  assert.equal(e.map((x) => `${x.to}${x.typeOnly ? ':t' : ''}`).sort(), ['src/c.ts:t', 'src/x/b.ts', 'src/x/d.ts', 'src/x/e.ts:t', 'src/x/f.ts', 'src/x/g.ts']);
  assert.ok(graph.size > 50, `only ${graph.size} files parsed`);
  assert.ok([...graph.values()].some((es) => es.length > 0));
});

test('src/kernels imports nothing from src/ops', () => {
  assert.equal(violations('src/kernels/', 'src/ops/'), []);
});

test('src/node imports nothing from src/cli', () => {
  const bad = violations('src/node/', 'src/cli/');
  // Expected to hold once the `lib` branch (issue 13 helper) is merged: it moves nodeFileSystem and
  // loadFromConfig from src/cli/evaluate.ts into src/node/load.ts.
  assert.equal(bad, [], `src/node must sit below src/cli (move what it needs, e.g. nodeFileSystem/loadFromConfig, into src/node; the lib branch does): ${bad.join('; ')}`);
});

test('no import cycles (type-only imports excluded)', () => {
  const state = new Map<string, 1 | 2>(); // 1: on the DFS stack, 2: done
  const stack: string[] = [];
  const cycles: string[] = [];
  const visit = (f: string) => {
    state.set(f, 1);
    stack.push(f);
    for (const e of graph.get(f) ?? []) {
      if (e.typeOnly || !graph.has(e.to)) continue;
      const s = state.get(e.to);
      if (s === 1) cycles.push([...stack.slice(stack.indexOf(e.to)), e.to].join(' -> '));
      else if (s === undefined) visit(e.to);
    }
    stack.pop();
    state.set(f, 2);
  };
  for (const f of graph.keys()) if (!state.has(f)) visit(f);
  assert.equal(cycles, []);
});

test.run();
