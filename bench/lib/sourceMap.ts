// Maps a position in the bundled gateway (dist/gateway.cjs, whitespace-minified: whole
// modules on a line) back to its source file with the bundle's source map, so that a CPU
// profile of the bundle still says which package or gateway folder the time went to.

import { existsSync, readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

const BASE64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
const DIGIT = new Int8Array(128).fill(-1);
for (let i = 0; i < BASE64.length; i++) DIGIT[BASE64.charCodeAt(i)] = i;

/** Per generated line: the generated columns where a mapping starts, and its source index. */
interface LineMap {
  readonly columns: number[];
  readonly sources: number[];
  readonly lines: number[];
}

export interface BundleMap {
  /** The absolute source file and 0-based line of a 0-based generated position, if mapped. */
  lookup(line: number, column: number): { readonly path: string; readonly line: number } | undefined;
}

/** The map of `bundlePath` (`<bundle>.map` beside it), or undefined when there is none. */
export function loadBundleMap(bundlePath: string): BundleMap | undefined {
  const mapPath = `${bundlePath}.map`;
  if (!existsSync(mapPath)) return undefined;
  const map = JSON.parse(readFileSync(mapPath, 'utf8')) as { sources: string[]; sourceRoot?: string; mappings: string };
  const root = resolve(dirname(bundlePath), map.sourceRoot ?? '');
  const paths = map.sources.map((s) => resolve(root, s));
  const lines: LineMap[] = [];
  let source = 0;
  let sourceLine = 0;
  let current: LineMap = { columns: [], sources: [], lines: [] };
  let column = 0;
  const text = map.mappings;
  let field = 0;
  const segment = [0, 0, 0, 0, 0];
  let value = 0;
  let shift = 0;
  const endSegment = (): void => {
    if (field >= 4) {
      column += segment[0]!;
      source += segment[1]!;
      sourceLine += segment[2]!;
      current.columns.push(column);
      current.sources.push(source);
      current.lines.push(sourceLine);
    } else if (field >= 1) column += segment[0]!;
    field = 0;
  };
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 59 /* ; */) {
      endSegment();
      lines.push(current);
      current = { columns: [], sources: [], lines: [] };
      column = 0;
      continue;
    }
    if (c === 44 /* , */) {
      endSegment();
      continue;
    }
    const digit = DIGIT[c] ?? -1;
    value += (digit & 31) << shift;
    if (digit & 32) {
      shift += 5;
      continue;
    }
    segment[field++] = value & 1 ? -(value >>> 1) : value >>> 1;
    value = 0;
    shift = 0;
  }
  endSegment();
  lines.push(current);
  return {
    lookup(line, col) {
      const m = lines[line];
      if (!m || m.columns.length === 0) return undefined;
      let lo = 0;
      let hi = m.columns.length - 1;
      if (col < m.columns[0]!) return undefined;
      while (lo < hi) {
        const mid = (lo + hi + 1) >> 1;
        if (m.columns[mid]! <= col) lo = mid;
        else hi = mid - 1;
      }
      const path = paths[m.sources[lo]!];
      return path === undefined ? undefined : { path, line: m.lines[lo]! };
    },
  };
}
