// The gateway's own metric families and their Prometheus text exposition (format 0.0.4,
// written as prom-client writes it). Kept here rather than in prom-client so that a call
// costs a map lookup and an add, and so that an HTTP gateway that is never scraped never
// loads prom-client at all (docs/performance.md, "Third round: idle RSS").

export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

type Labels<L extends string> = Readonly<Record<L, string>>;

interface Series<L extends string> {
  readonly labels: Labels<L>;
  value: number;
}

/** Collision-free: each value is prefixed with its length. */
function seriesKey<L extends string>(names: readonly L[], labels: Labels<L>): string {
  let key = '';
  for (const name of names) {
    const v = labels[name];
    key += `${v.length}:${v}`;
  }
  return key;
}

abstract class Family<L extends string> {
  constructor(
    readonly name: string,
    readonly help: string,
    readonly type: 'counter' | 'gauge' | 'histogram',
    protected readonly labelNames: readonly L[],
  ) {}

  abstract lines(): string[];

  render(): string {
    return [`# HELP ${this.name} ${escapeHelp(this.help)}`, `# TYPE ${this.name} ${this.type}`, ...this.lines()].join('\n');
  }
}

/** A counter or a gauge: one number per label set. */
export class ValueFamily<L extends string> extends Family<L> {
  readonly #series = new Map<string, Series<L>>();

  constructor(name: string, help: string, type: 'counter' | 'gauge', labelNames: readonly L[]) {
    super(name, help, type, labelNames);
  }

  #entry(labels: Labels<L>): Series<L> {
    const key = seriesKey(this.labelNames, labels);
    let entry = this.#series.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, value: 0 };
      this.#series.set(key, entry);
    }
    return entry;
  }

  inc(labels: Labels<L>, by = 1): void {
    this.#entry(labels).value += by;
  }

  set(labels: Labels<L>, value: number): void {
    this.#entry(labels).value = value;
  }

  reset(): void {
    this.#series.clear();
  }

  lines(): string[] {
    return [...this.#series.values()].map((s) => `${this.name}${formatLabels(s.labels)} ${formatValue(s.value)}`);
  }
}

interface HistogramSeries<L extends string> {
  readonly labels: Labels<L>;
  /** Observations per bucket (not cumulative); above the last bound they count only in `count`. */
  readonly buckets: number[];
  sum: number;
  count: number;
}

export class HistogramFamily<L extends string> extends Family<L> {
  readonly #series = new Map<string, HistogramSeries<L>>();
  readonly #bounds: readonly number[];

  constructor(name: string, help: string, labelNames: readonly L[], bounds: readonly number[]) {
    super(name, help, 'histogram', labelNames);
    this.#bounds = bounds;
  }

  observe(labels: Labels<L>, value: number): void {
    const key = seriesKey(this.labelNames, labels);
    let entry = this.#series.get(key);
    if (entry === undefined) {
      entry = { labels: { ...labels }, buckets: this.#bounds.map(() => 0), sum: 0, count: 0 };
      this.#series.set(key, entry);
    }
    const i = this.#bounds.findIndex((bound) => value <= bound);
    if (i >= 0) entry.buckets[i]! += 1;
    entry.sum += value;
    entry.count += 1;
  }

  lines(): string[] {
    const out: string[] = [];
    for (const s of this.#series.values()) {
      let cumulative = 0;
      this.#bounds.forEach((bound, i) => {
        cumulative += s.buckets[i]!;
        out.push(`${this.name}_bucket${formatLabels({ le: String(bound), ...s.labels })} ${formatValue(cumulative)}`);
      });
      out.push(`${this.name}_bucket${formatLabels({ le: '+Inf', ...s.labels })} ${formatValue(s.count)}`);
      out.push(`${this.name}_sum${formatLabels(s.labels)} ${formatValue(s.sum)}`);
      out.push(`${this.name}_count${formatLabels(s.labels)} ${formatValue(s.count)}`);
    }
    return out;
  }
}

function formatLabels(labels: Readonly<Record<string, string>>): string {
  const parts = Object.entries(labels).map(([name, value]) => `${name}="${escapeLabelValue(value)}"`);
  return parts.length > 0 ? `{${parts.join(',')}}` : '';
}

function formatValue(value: number): string {
  if (Number.isNaN(value)) return 'Nan';
  if (value === Infinity) return '+Inf';
  if (value === -Infinity) return '-Inf';
  return String(value);
}

function escapeHelp(text: string): string {
  return text.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

function escapeLabelValue(value: string): string {
  return escapeHelp(value).replace(/"/g, '\\"');
}
