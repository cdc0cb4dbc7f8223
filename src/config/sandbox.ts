import * as z from 'zod';
import type { SandboxLimits, SandboxSpec } from './types.js';

// The `sandbox` block of a server, in SignalWire's keys, shared by `.mcp.json` and
// SignalWire's config.json: one schema and one set of defaults, so both origins mean the
// same thing by the same words. Only `enabled` has a per-origin default.

/** SignalWire's documented limits. */
export const DEFAULT_SANDBOX_LIMITS: SandboxLimits = Object.freeze({ cpuSeconds: 300, memoryMb: 512, processes: 10, fileSizeMb: 10 });

/** Largest value of any limit: well inside what setrlimit takes, and far above any sane use. */
const MAX_LIMIT = 1_000_000;

const limit = (unit: string) =>
  z
    .int()
    .min(1, { error: `must be at least 1 (${unit})` })
    .max(MAX_LIMIT, { error: `must be at most ${MAX_LIMIT} (${unit})` });

const SandboxLimitsSchema = z.strictObject({
  cpu_seconds: limit('seconds').optional().describe('CPU time of the child, in seconds (RLIMIT_CPU). Default 300.'),
  memory_mb: limit('MiB').optional().describe('Heap (data segment) of the child, in MiB (RLIMIT_DATA). Default 512.'),
  processes: limit('processes').optional().describe('Processes the child may add, 16 threads each (RLIMIT_NPROC). Default 10.'),
  file_size_mb: limit('MiB').optional().describe('Largest file the child may write, in MiB (RLIMIT_FSIZE). Default 10.'),
});

export const SandboxEntrySchema = z.strictObject({
  enabled: z.boolean().optional().describe('Sandbox the child. Default false in .mcp.json, true in a SignalWire config.json.'),
  resource_limits: z.boolean().optional().describe('Apply `limits` at spawn. Default true.'),
  restricted_env: z.boolean().optional().describe('Give the child only a minimal environment plus its own `env`. Default true.'),
  working_dir: z
    .string()
    .min(1, { error: '"working_dir" must not be empty' })
    .optional()
    .describe('Working directory of the child. Default: its own sandbox folder.'),
  limits: SandboxLimitsSchema.optional(),
});

export type SandboxEntry = z.infer<typeof SandboxEntrySchema>;

/** The sandbox of a server whose entry has no `sandbox` block. */
export function defaultSandbox(enabled: boolean): SandboxSpec {
  return Object.freeze({ enabled, resourceLimits: true, restrictedEnv: true, limits: DEFAULT_SANDBOX_LIMITS });
}

/** A validated `sandbox` block with its defaults applied; `enabledByDefault` is the origin's default. */
export function buildSandbox(entry: SandboxEntry | undefined, enabledByDefault: boolean): SandboxSpec {
  if (entry === undefined) return defaultSandbox(enabledByDefault);
  const l = entry.limits ?? {};
  const spec: { -readonly [K in keyof SandboxSpec]: SandboxSpec[K] } = {
    enabled: entry.enabled ?? enabledByDefault,
    resourceLimits: entry.resource_limits ?? true,
    restrictedEnv: entry.restricted_env ?? true,
    limits: Object.freeze({
      cpuSeconds: l.cpu_seconds ?? DEFAULT_SANDBOX_LIMITS.cpuSeconds,
      memoryMb: l.memory_mb ?? DEFAULT_SANDBOX_LIMITS.memoryMb,
      processes: l.processes ?? DEFAULT_SANDBOX_LIMITS.processes,
      fileSizeMb: l.file_size_mb ?? DEFAULT_SANDBOX_LIMITS.fileSizeMb,
    }),
  };
  if (entry.working_dir !== undefined) spec.workingDir = entry.working_dir;
  return Object.freeze(spec);
}
