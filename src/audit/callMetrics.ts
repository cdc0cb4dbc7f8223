// Per-operation latency statistics in bounded memory: a ring of the most recent samples
// (percentiles over a sliding window) plus exact running counts. The reference kept every
// latency forever; a long-lived gateway cannot.

const WINDOW = 1024;

export interface LatencySummary {
  readonly count: number;
  readonly errors: number;
  readonly error_rate: number;
  readonly avg_ms: number;
  readonly p50_ms: number;
  readonly p95_ms: number;
  readonly p99_ms: number;
}

class LatencyStats {
  readonly #ring = new Float64Array(WINDOW);
  #filled = 0;
  #next = 0;
  #count = 0;
  #errors = 0;
  #windowSum = 0;

  record(latencyMs: number, isError: boolean): void {
    this.#count++;
    if (isError) this.#errors++;
    if (this.#filled === WINDOW) this.#windowSum -= this.#ring[this.#next] ?? 0;
    else this.#filled++;
    this.#ring[this.#next] = latencyMs;
    this.#windowSum += latencyMs;
    this.#next = (this.#next + 1) % WINDOW;
  }

  summary(): LatencySummary {
    const sorted = Array.from(this.#ring.subarray(0, this.#filled)).sort((a, b) => a - b);
    return {
      count: this.#count,
      errors: this.#errors,
      error_rate: this.#count === 0 ? 0 : round(this.#errors / this.#count, 4),
      avg_ms: this.#filled === 0 ? 0 : round(this.#windowSum / this.#filled, 2),
      p50_ms: round(percentile(sorted, 50), 2),
      p95_ms: round(percentile(sorted, 95), 2),
      p99_ms: round(percentile(sorted, 99), 2),
    };
  }
}

/** Linear interpolation between closest ranks (the reference's definition). */
function percentile(sorted: readonly number[], p: number): number {
  const n = sorted.length;
  if (n === 0) return 0;
  if (n === 1) return sorted[0] ?? 0;
  const k = ((n - 1) * p) / 100;
  const f = Math.floor(k);
  const c = f + 1;
  if (c >= n) return sorted[n - 1] ?? 0;
  return (sorted[f] ?? 0) * (c - k) + (sorted[c] ?? 0) * (k - f);
}

function round(value: number, digits: number): number {
  const m = 10 ** digits;
  return Math.round(value * m) / m;
}

/** Stats per operation and per (agent, operation). */
export class CallMetrics {
  readonly #byOperation = new Map<string, LatencyStats>();
  readonly #byAgent = new Map<string, Map<string, LatencyStats>>();

  record(agent: string | null, operation: string, latencyMs: number, isError: boolean): void {
    statsFor(this.#byOperation, operation).record(latencyMs, isError);
    const agentKey = agent ?? '(unresolved)';
    let perAgent = this.#byAgent.get(agentKey);
    if (!perAgent) {
      perAgent = new Map();
      this.#byAgent.set(agentKey, perAgent);
    }
    statsFor(perAgent, operation).record(latencyMs, isError);
  }

  snapshot(): { by_operation: Record<string, LatencySummary>; by_agent: Record<string, Record<string, LatencySummary>> } {
    const byOperation: Record<string, LatencySummary> = {};
    for (const [op, s] of this.#byOperation) byOperation[op] = s.summary();
    const byAgent: Record<string, Record<string, LatencySummary>> = {};
    for (const [agent, ops] of this.#byAgent) {
      const entry: Record<string, LatencySummary> = {};
      for (const [op, s] of ops) entry[op] = s.summary();
      byAgent[agent] = entry;
    }
    return { by_operation: byOperation, by_agent: byAgent };
  }
}

function statsFor(map: Map<string, LatencyStats>, key: string): LatencyStats {
  let s = map.get(key);
  if (!s) {
    s = new LatencyStats();
    map.set(key, s);
  }
  return s;
}
