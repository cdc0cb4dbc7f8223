// A readable diff of two definitions of one tool or prompt, field by field: descriptions by
// line, schemas and the rest as indented JSON with sorted keys. Pure and bounded. Every line
// is server text bound for a terminal, so nothing in it may act on the terminal (see visible).

/**
 * Controls (C0 but the line breaks a description is split on, DEL, C1: escape sequences, \r),
 * format characters (bidi overrides and isolates, zero-width characters), line and paragraph
 * separators and lone surrogates: none of them may reach the reviewer's terminal as they are.
 */
const UNSAFE = /[\p{Cc}\p{Cf}\p{Zl}\p{Zp}\p{Cs}]/gu;

/** `text` with each unsafe character written as `\u{hex}`, so the reviewer sees it instead of its effect. */
export function visible(text: string): string {
  return text.replace(UNSAFE, (c) => `\\u{${c.codePointAt(0)!.toString(16)}}`);
}

/** Fields in the order a reviewer reads them; others follow sorted. */
const FIELD_ORDER = ['title', 'description', 'arguments', 'inputSchema', 'outputSchema', 'annotations'];
/** Above this many line pairs the diff shows the old lines, then the new ones, without alignment. */
const MAX_DIFF_CELLS = 4_000_000;
/** A field renders to at most this many lines in a diff. */
const MAX_FIELD_LINES = 2_000;

/**
 * The lines of a diff from `before` (the pinned definition; undefined when none was stored) to
 * `after`: per field that differs, `field:` then `- `, `+ ` and `  ` lines.
 */
export function diffDefinitions(before: Readonly<Record<string, unknown>> | undefined, after: Readonly<Record<string, unknown>>): string[] {
  const out: string[] = [];
  const fields = [...new Set([...Object.keys(before ?? {}), ...Object.keys(after)])].sort(byFieldOrder);
  for (const field of fields) {
    const old = render(before?.[field]);
    const now = render(after[field]);
    if (old.join('\n') === now.join('\n')) continue;
    out.push(`${visible(field)}:`);
    out.push(...diffLines(old, now));
  }
  return out;
}

function byFieldOrder(a: string, b: string): number {
  const ia = FIELD_ORDER.indexOf(a);
  const ib = FIELD_ORDER.indexOf(b);
  if (ia !== -1 || ib !== -1) return (ia === -1 ? FIELD_ORDER.length : ia) - (ib === -1 ? FIELD_ORDER.length : ib);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** A field's value as visible lines: strings by line, anything else as indented JSON with sorted keys; absent is no line. */
export function render(value: unknown): string[] {
  if (value === undefined) return [];
  const text = typeof value === 'string' ? value : JSON.stringify(sorted(value, 0), null, 2);
  const lines = text.split('\n').map(visible);
  return lines.length > MAX_FIELD_LINES ? [...lines.slice(0, MAX_FIELD_LINES), `... (${lines.length - MAX_FIELD_LINES} more lines)`] : lines;
}

function sorted(value: unknown, depth: number): unknown {
  if (value === null || typeof value !== 'object' || depth > 64) return value;
  if (Array.isArray(value)) return value.map((v) => sorted(v, depth + 1));
  const out: Record<string, unknown> = {};
  for (const key of Object.keys(value).sort()) out[key] = sorted((value as Record<string, unknown>)[key], depth + 1);
  return out;
}

/** A line diff (longest common subsequence), each line prefixed `- `, `+ ` or `  `. */
export function diffLines(old: readonly string[], now: readonly string[]): string[] {
  if (old.length * now.length > MAX_DIFF_CELLS) return [...old.map((l) => `- ${l}`), ...now.map((l) => `+ ${l}`)];
  const n = old.length;
  const m = now.length;
  // common[i][j]: length of the longest common subsequence of old[i..] and now[j..].
  const common: Uint32Array[] = Array.from({ length: n + 1 }, () => new Uint32Array(m + 1));
  for (let i = n - 1; i >= 0; i--) {
    for (let j = m - 1; j >= 0; j--) {
      common[i]![j] = old[i] === now[j] ? common[i + 1]![j + 1]! + 1 : Math.max(common[i + 1]![j]!, common[i]![j + 1]!);
    }
  }
  const out: string[] = [];
  let i = 0;
  let j = 0;
  while (i < n && j < m) {
    if (old[i] === now[j]) {
      out.push(`  ${old[i]!}`);
      i++;
      j++;
    } else if (common[i + 1]![j]! >= common[i]![j + 1]!) out.push(`- ${old[i++]!}`);
    else out.push(`+ ${now[j++]!}`);
  }
  while (i < n) out.push(`- ${old[i++]!}`);
  while (j < m) out.push(`+ ${now[j++]!}`);
  return out;
}
