import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { IdentitySource } from '../policy/types.js';
import { isPlainObject } from '../values.js';
import { hashArgs, isoTimestamp, type ApprovalAudit, type AuditDecision, type AuditRecord } from './record.js';

// The audit line of one finished gateway call. Every field a caller can put text into is
// clipped: a line stays small whatever the call.

/** Longest caller-supplied text copied into an audit field or log line. */
const MAX_NOTED_LENGTH = 256;
/** Most argument keys an audit line lists (the first ones), and the longest key it copies. */
const MAX_AUDITED_KEYS = 64;
const MAX_AUDITED_KEY_LENGTH = 128;

export function clip(text: string): string {
  return text.length > MAX_NOTED_LENGTH ? `${text.slice(0, MAX_NOTED_LENGTH)}…` : text;
}

function clipKey(key: string): string {
  return key.length > MAX_AUDITED_KEY_LENGTH ? `${key.slice(0, MAX_AUDITED_KEY_LENGTH)}…` : key;
}

/** What the call path knows of a finished call, as the audit line records it. */
export interface CallFacts {
  readonly operation: string;
  readonly args: Readonly<Record<string, unknown>>;
  /** False for arguments refused as too deep: walking them again could exhaust the stack. */
  readonly hashable: boolean;
  readonly agentId: string | null;
  readonly source: IdentitySource | null;
  readonly requestedAgent: string | undefined;
  readonly server: string | undefined;
  readonly tool: string | undefined;
  readonly rule: string | undefined;
  readonly latency: number;
  readonly isError: boolean;
  readonly revision: number;
  readonly code: string | undefined;
  readonly sessionId: string | undefined;
  readonly decision: AuditDecision;
  readonly approval?: ApprovalAudit | undefined;
}

export function callRecord(a: CallFacts, auditArgs: 'hash' | 'full', logger: Logger): AuditRecord {
  const base = {
    ts: isoTimestamp(),
    id: randomUUID(),
    revision: a.revision,
    agent: a.agentId,
    ...(a.requestedAgent !== undefined ? { requested_agent: clip(a.requestedAgent) } : {}),
    identity_source: a.source,
    operation: clip(a.operation),
    server: a.server === undefined ? null : clip(a.server),
    tool: a.tool === undefined ? null : clip(a.tool),
    decision: a.decision,
    code: a.code ?? null,
    rule: a.rule === undefined ? null : clip(a.rule),
    latency_ms: Math.round(a.latency * 1000) / 1000,
    isError: a.isError,
    ...(a.sessionId !== undefined ? { session_id: clip(a.sessionId) } : {}),
    ...(a.approval !== undefined ? { approval: a.approval } : {}),
  };
  try {
    // Arguments of execute_tool are the downstream arguments; for the other tools, the meta-tool arguments.
    const recorded = a.operation === 'execute_tool' ? (a.args['args'] ?? {}) : a.args;
    const keys = isPlainObject(recorded) ? Object.keys(recorded) : [];
    return {
      ...base,
      arg_keys: keys.slice(0, MAX_AUDITED_KEYS).map(clipKey),
      // Arguments refused as too deep are neither hashed nor copied: walking them could exhaust the stack.
      args_sha256: a.hashable ? hashArgs(recorded) : null,
      ...(auditArgs === 'full' && a.hashable ? { args: recorded } : {}),
    };
  } catch (err) {
    // The line is written whatever the arguments did to the hashing: without them.
    logger.error({ err, operation: clip(a.operation) }, 'could not describe the arguments in the audit line');
    return { ...base, arg_keys: [], args_sha256: null };
  }
}
