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

/** AuditRecord being built: fields are set in the line's order, as JSON.stringify lists them. */
type RecordDraft = { -readonly [K in keyof AuditRecord]?: AuditRecord[K] };

export function callRecord(a: CallFacts, auditArgs: 'hash' | 'full', logger: Logger): AuditRecord {
  // Assigned one field at a time rather than spread from partial objects: the spreads were most
  // of the record's cost (issue 20), and the key order (so the line) is the same.
  const record: RecordDraft = { ts: isoTimestamp(), id: randomUUID(), revision: a.revision, agent: a.agentId };
  if (a.requestedAgent !== undefined) record.requested_agent = clip(a.requestedAgent);
  record.identity_source = a.source;
  record.operation = clip(a.operation);
  record.server = a.server === undefined ? null : clip(a.server);
  record.tool = a.tool === undefined ? null : clip(a.tool);
  record.decision = a.decision;
  record.code = a.code ?? null;
  record.rule = a.rule === undefined ? null : clip(a.rule);
  record.latency_ms = Math.round(a.latency * 1000) / 1000;
  record.isError = a.isError;
  if (a.sessionId !== undefined) record.session_id = clip(a.sessionId);
  if (a.approval !== undefined) record.approval = a.approval;
  describeArgs(record, a, auditArgs, logger);
  return record as AuditRecord;
}

function describeArgs(record: RecordDraft, a: CallFacts, auditArgs: 'hash' | 'full', logger: Logger): void {
  let argKeys: readonly string[];
  let sha256: string | null;
  // Arguments of execute_tool are the downstream arguments; for the other tools, the meta-tool arguments.
  let recorded: unknown;
  try {
    recorded = a.operation === 'execute_tool' ? (a.args['args'] ?? {}) : a.args;
    argKeys = isPlainObject(recorded) ? auditedKeys(Object.keys(recorded)) : [];
    // Arguments refused as too deep are neither hashed nor copied: walking them could exhaust the stack.
    sha256 = a.hashable ? hashArgs(recorded) : null;
  } catch (err) {
    // The line is written whatever the arguments did to the hashing: without them.
    logger.error({ err, operation: clip(a.operation) }, 'could not describe the arguments in the audit line');
    record.arg_keys = [];
    record.args_sha256 = null;
    return;
  }
  record.arg_keys = argKeys;
  record.args_sha256 = sha256;
  if (auditArgs === 'full' && a.hashable) record.args = recorded;
}

/** The first keys, each clipped; the common short list of short keys is used as it is. */
function auditedKeys(keys: string[]): readonly string[] {
  if (keys.length > MAX_AUDITED_KEYS) return keys.slice(0, MAX_AUDITED_KEYS).map(clipKey);
  for (const key of keys) if (key.length > MAX_AUDITED_KEY_LENGTH) return keys.map(clipKey);
  return keys;
}
