// What every section is given: the run's sizes, where to put rows, raw data and profiles.

import type { ProfileSummary } from './cpuprofile.js';
import type { Row } from './report.js';

export interface Sizes {
  /** Sequential latency: warm-up calls per target, measured calls per target, rounds they are split into. */
  readonly latencyWarmup: number;
  readonly latencyCalls: number;
  readonly latencyRounds: number;
  /** Throughput: calls per target per round, rounds, calls in flight. */
  readonly throughputCalls: number;
  readonly throughputRounds: number;
  readonly inFlight: number;
  /** Calls for the memory-growth run (16 in flight). */
  readonly growthCalls: number;
  /** Repetitions of every cold-start configuration. */
  readonly coldReps: number;
  /** Whether the 20-server cold starts run (20 spawns each: skipped in quick mode). */
  readonly coldTwenty: boolean;
  /** get_server_tools repetitions: end to end over stdio, and in process. */
  readonly discoveryE2e: number;
  readonly discoveryInProcess: number;
  /** Policy decisions timed (after as many again of warm-up). */
  readonly policyDecisions: number;
  /** Rules changes timed, and how long to wait for one before calling hot reload absent. */
  readonly reloadReps: number;
  readonly reloadTimeoutMs: number;
  /** Sequential calls made under --cpu-prof when a latency figure misses. */
  readonly profileCalls: number;
}

export const FULL: Sizes = {
  latencyWarmup: 500,
  latencyCalls: 3_000,
  latencyRounds: 10,
  throughputCalls: 5_000,
  throughputRounds: 3,
  inFlight: 16,
  growthCalls: 100_000,
  coldReps: 7,
  coldTwenty: true,
  discoveryE2e: 300,
  discoveryInProcess: 2_000,
  policyDecisions: 200_000,
  reloadReps: 5,
  reloadTimeoutMs: 3_000,
  profileCalls: 5_000,
};

export const QUICK: Sizes = {
  latencyWarmup: 30,
  latencyCalls: 200,
  latencyRounds: 2,
  throughputCalls: 200,
  throughputRounds: 1,
  inFlight: 16,
  growthCalls: 500,
  coldReps: 1,
  coldTwenty: false,
  discoveryE2e: 10,
  discoveryInProcess: 50,
  policyDecisions: 20_000,
  reloadReps: 1,
  reloadTimeoutMs: 1_000,
  profileCalls: 1_000,
};

export interface Context {
  readonly quick: boolean;
  readonly sizes: Sizes;
  /** --profile: always profile; --no-profile: never; default: profile what misses (full runs only). */
  readonly profile: 'always' | 'never' | 'on-miss';
  /** Profile files go here; named `<stamp>-<what>.cpuprofile`. */
  readonly profileDir: string;
  readonly stamp: string;
  readonly rows: Row[];
  /** Raw figures per section, kept whole in the JSON file. */
  readonly data: Record<string, unknown>;
  /** Method notes per section, printed under the table. */
  readonly notes: string[];
  readonly profiles: { readonly what: string; readonly summary: ProfileSummary; readonly perCallUs?: number; readonly calls?: number }[];
  /** Extra findings printed after the profiles: a title and a markdown body. */
  readonly extras: { readonly title: string; readonly markdown: string }[];
  log(message: string): void;
}

export function shouldProfile(ctx: Context, missed: boolean): boolean {
  if (ctx.profile === 'always') return true;
  if (ctx.profile === 'never') return false;
  return missed && !ctx.quick;
}
