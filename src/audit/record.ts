import { createHash } from 'node:crypto';
import type { IdentitySource } from '../policy/types.js';

export type AuditDecision = 'ALLOW' | 'DENY' | 'ERROR' | 'TIMEOUT';

/** One line of the audit log: one gateway tool call, whatever its outcome. Field names are a contract. */
export interface AuditRecord {
  readonly ts: string;
  readonly id: string;
  readonly revision?: number;
  readonly agent: string | null;
  /** The agent_id the caller claimed, on calls refused before an identity was settled. */
  readonly requested_agent?: string;
  readonly identity_source: IdentitySource | null;
  readonly operation: string;
  readonly server: string | null;
  readonly tool: string | null;
  readonly decision: AuditDecision;
  readonly code: string | null;
  readonly rule: string | null;
  readonly latency_ms: number;
  readonly arg_keys: readonly string[];
  readonly args_sha256: string | null;
  readonly args?: unknown;
  readonly isError: boolean;
  readonly session_id?: string;
}

/** JSON with object keys sorted at every depth, so equal arguments always hash alike. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortKeys);
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) out[key] = sortKeys((value as Record<string, unknown>)[key]);
    return out;
  }
  return value;
}

export function hashArgs(args: unknown): string {
  return createHash('sha256').update(canonicalJson(args ?? {})).digest('hex');
}
