import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

// The layering rules of the design, checked on the source text so a violation fails CI
// instead of waiting for a reviewer.

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir)) {
    const path = join(dir, entry);
    if (statSync(path).isDirectory()) out.push(...sourceFiles(path));
    else if (path.endsWith('.ts')) out.push(path);
  }
  return out;
}

const SRC = join(REPO_ROOT, 'src');
const files = sourceFiles(SRC).map((path) => ({ path: relative(REPO_ROOT, path), text: readFileSync(path, 'utf8') }));
const code = (text: string): string => text.replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
const importsOf = (text: string): string[] => [...text.matchAll(/from\s+'([^']+)'/g)].map((m) => m[1] ?? '');

// Relative imports only, type-only ones included (a cycle of types is still a cycle in the
// design): `import ... from`, `export ... from`, `import '...'` and `import('...')`.
const RELATIVE_IMPORT = /(?:import|export)\s[^'"]*?from\s*['"](\.[^'"]+)['"]|import\s*['"](\.[^'"]+)['"]|import\(\s*['"](\.[^'"]+)['"]\s*\)/g;

function relativeImports(file: { path: string; text: string }, known: ReadonlySet<string>): string[] {
  const out = new Set<string>();
  for (const m of file.text.matchAll(RELATIVE_IMPORT)) {
    const target = join(dirname(file.path), m[1] ?? m[2] ?? m[3] ?? '').replace(/\.js$/, '.ts');
    if (known.has(target)) out.add(target);
  }
  return [...out];
}

/** The strongly connected components of more than one node, or of one that imports itself (Tarjan). */
function cyclesOf(graph: ReadonlyMap<string, readonly string[]>): string[][] {
  let next = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const onStack = new Set<string>();
  const found: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, next);
    low.set(v, next);
    next++;
    stack.push(v);
    onStack.add(v);
    for (const w of graph.get(v) ?? []) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v) ?? 0, low.get(w) ?? 0));
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v) ?? 0, index.get(w) ?? 0));
      }
    }
    if (low.get(v) !== index.get(v)) return;
    const component: string[] = [];
    let w: string | undefined;
    do {
      w = stack.pop();
      if (w === undefined) break;
      onStack.delete(w);
      component.push(w);
    } while (w !== v);
    if (component.length > 1 || (graph.get(v) ?? []).includes(v)) found.push(component.sort());
  };
  for (const v of [...graph.keys()].sort()) if (!index.has(v)) visit(v);
  return found;
}

/** Cycles among the files of src/, then among its folders (a folder and its own subfolders never count). */
function importCycles(sources: readonly { path: string; text: string }[]): string[] {
  const root = 'src';
  const known = new Set(sources.map((f) => f.path));
  const fileGraph = new Map(sources.map((f) => [f.path, relativeImports(f, known)]));
  const folderOf = (path: string): string => relative(root, dirname(path)) || '.';
  const nested = (a: string, b: string): boolean => a === b || b.startsWith(`${a}/`) || a.startsWith(`${b}/`);
  const folderGraph = new Map<string, string[]>();
  for (const [from, targets] of fileGraph) {
    const a = folderOf(from);
    const edges = folderGraph.get(a) ?? [];
    folderGraph.set(a, edges);
    for (const to of targets) {
      const b = folderOf(to);
      if (!nested(a, b) && !edges.includes(b)) edges.push(b);
    }
  }
  const name = (component: string[], strip: (p: string) => string): string => component.map(strip).join(' <-> ');
  return [
    ...cyclesOf(fileGraph).map((c) => `files: ${name(c, (p) => relative(root, p))}`),
    ...cyclesOf(folderGraph).map((c) => `folders: ${name(c, (p) => p)}`),
  ].sort();
}

describe('architecture', () => {
  it('config/ and policy/ are pure: no MCP SDK, no process, no other layer', () => {
    for (const f of files.filter((f) => /^src\/(config|policy)\//.test(f.path))) {
      const imports = importsOf(f.text);
      expect(
        imports.filter((i) => i.startsWith('@modelcontextprotocol')),
        f.path,
      ).toEqual([]);
      expect(
        imports.filter((i) => /\.\.\/(downstream|gateway|audit|cli|http)\//.test(i)),
        f.path,
      ).toEqual([]);
      expect(/\bprocess\./.test(code(f.text)), `${f.path} touches process`).toBe(false);
    }
  });

  it('policy/ may import config/, never the reverse', () => {
    for (const f of files.filter((f) => f.path.startsWith('src/config/'))) {
      expect(
        importsOf(f.text).filter((i) => /\.\.\/policy\//.test(i)),
        f.path,
      ).toEqual([]);
    }
  });

  it('downstream/ never imports gateway/, http/, policy/ or cli/', () => {
    for (const f of files.filter((f) => f.path.startsWith('src/downstream/'))) {
      expect(
        importsOf(f.text).filter((i) => /\.\.\/(gateway|http|policy|cli)\//.test(i)),
        f.path,
      ).toEqual([]);
    }
  });

  it('gateway/ never imports http/ or cli/; http/ never imports cli/', () => {
    for (const f of files.filter((f) => f.path.startsWith('src/gateway/'))) {
      expect(
        importsOf(f.text).filter((i) => /\.\.\/(http|cli)\//.test(i)),
        f.path,
      ).toEqual([]);
    }
    for (const f of files.filter((f) => f.path.startsWith('src/http/'))) {
      expect(
        importsOf(f.text).filter((i) => /\.\.\/cli\//.test(i)),
        f.path,
      ).toEqual([]);
    }
  });

  it('only main.ts exits the process, reads argv or installs signal handlers', () => {
    // src/demo/ holds a separate program (the example notes server), its own composition root.
    for (const f of files.filter((f) => !f.path.startsWith('src/demo/'))) {
      const text = code(f.text);
      expect(/process\.(exit|argv|exitCode|on\(|once\()/.test(text), `${f.path} owns process state`).toBe(false);
    }
  });

  it('nothing in src/ writes to stdout or console (stdout belongs to the protocol)', () => {
    for (const f of files) {
      const text = code(f.text);
      expect(/console\.|process\.stdout/.test(text), `${f.path} writes to stdout/console`).toBe(false);
    }
  });

  it('imports form no cycle, between files or between folders of src/', () => {
    const sources = files.filter((f) => !f.path.endsWith('.d.ts'));
    expect(importCycles(sources)).toEqual([]);
  });
});
