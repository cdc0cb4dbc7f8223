import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
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

describe('architecture', () => {
  it('config/ and policy/ are pure: no MCP SDK, no process, no other layer', () => {
    for (const f of files.filter((f) => /^src\/(config|policy)\//.test(f.path))) {
      const imports = importsOf(f.text);
      expect(imports.filter((i) => i.startsWith('@modelcontextprotocol')), f.path).toEqual([]);
      expect(imports.filter((i) => /\.\.\/(downstream|gateway|audit|cli|http)\//.test(i)), f.path).toEqual([]);
      expect(/\bprocess\./.test(code(f.text)), `${f.path} touches process`).toBe(false);
    }
  });

  it('downstream/ never imports gateway/, http/, policy/ or cli/', () => {
    for (const f of files.filter((f) => f.path.startsWith('src/downstream/'))) {
      expect(importsOf(f.text).filter((i) => /\.\.\/(gateway|http|policy|cli)\//.test(i)), f.path).toEqual([]);
    }
  });

  it('gateway/ never imports http/ or cli/; http/ never imports cli/', () => {
    for (const f of files.filter((f) => f.path.startsWith('src/gateway/'))) {
      expect(importsOf(f.text).filter((i) => /\.\.\/(http|cli)\//.test(i)), f.path).toEqual([]);
    }
    for (const f of files.filter((f) => f.path.startsWith('src/http/'))) {
      expect(importsOf(f.text).filter((i) => /\.\.\/cli\//.test(i)), f.path).toEqual([]);
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
});
