// The report: one row per figure (direct, via gateway, difference, ratio, budget, check),
// rendered as a markdown table and kept whole in the JSON file.

/** `score`: a quality figure between 0 and 1 (recall, MRR), shown bare; `tokens`: chars / 4. */
export type Unit = 'ms' | 'µs' | 'calls/s' | 'MB' | 'tokens' | 'score';

export interface Row {
  readonly section: string;
  readonly metric: string;
  readonly unit: Unit;
  /** The same thing without the gateway, measured in the same run; absent when there is none. */
  readonly direct?: number;
  /** The gateway's figure; absent when the row is not applicable (see `text`). */
  readonly gateway?: number;
  /** Shown instead of figures when the row could not be measured (e.g. "n/a (HTTP mode not present yet)"). */
  readonly text?: string;
  /** The budget in words, e.g. "diff ≤ 0.3 ms". */
  readonly budget?: string;
  /** undefined: no budget on this row (or not measured). */
  readonly met?: boolean;
  /**
   * Where the time goes when the row misses: the profile (its `what`, e.g. "execute_tool")
   * and the reference rows or tables that bound the figure, in words.
   */
  readonly explainedBy?: { readonly profile?: string; readonly text: string };
}

/** gateway − direct and gateway / direct, when both exist. */
export function diffOf(row: Row): { diff?: number; ratio?: number } {
  if (row.direct === undefined || row.gateway === undefined) return {};
  const diff = row.gateway - row.direct;
  return row.direct === 0 ? { diff } : { diff, ratio: row.gateway / row.direct };
}

export function fmt(value: number | undefined, unit: Unit): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  const abs = Math.abs(value);
  let s: string;
  if (unit === 'score') return value.toFixed(3);
  if (unit === 'calls/s' || unit === 'tokens') s = Math.round(value).toLocaleString('en-US');
  else if (unit === 'MB') s = value.toFixed(1);
  else if (abs >= 100) s = value.toFixed(0);
  else if (abs >= 10) s = value.toFixed(1);
  else if (abs >= 1) s = value.toFixed(2);
  else s = value.toFixed(3);
  return `${s} ${unit}`;
}

function signed(value: number | undefined, unit: Unit): string {
  if (value === undefined || Number.isNaN(value)) return '—';
  return (value > 0 ? '+' : value < 0 ? '−' : '') + fmt(Math.abs(value), unit);
}

export function checkText(row: Row): string {
  if (row.budget === undefined) return '—';
  if (row.met === undefined) return 'n/a';
  return row.met ? 'met' : '**MISSED**';
}

export function markdownTable(rows: readonly Row[]): string {
  const head = ['Section', 'Figure', 'Direct', 'Via gateway', 'Difference', 'Ratio', 'Budget', 'Check'];
  const lines = [`| ${head.join(' | ')} |`, `|${head.map((_, i) => (i >= 2 && i <= 5 ? '---:' : '---')).join('|')}|`];
  for (const row of rows) {
    const { diff, ratio } = diffOf(row);
    const cells =
      row.text !== undefined
        ? [row.section, row.metric, '—', row.text, '—', '—', row.budget ?? '—', checkText(row)]
        : [
            row.section,
            row.metric,
            fmt(row.direct, row.unit),
            fmt(row.gateway, row.unit),
            signed(diff, row.unit),
            ratio === undefined ? '—' : `${ratio.toFixed(2)}×`,
            row.budget ?? '—',
            checkText(row),
          ];
    lines.push(`| ${cells.map((c) => c.replace(/\|/g, '\\|')).join(' | ')} |`);
  }
  return lines.join('\n');
}

/** A small markdown table from a header and rows of cells. */
export function simpleTable(head: readonly string[], rows: readonly (readonly string[])[]): string {
  return [`| ${head.join(' | ')} |`, `|${head.map(() => '---').join('|')}|`, ...rows.map((r) => `| ${r.join(' | ')} |`)].join('\n');
}
