import type { Prompt, Resource, ResourceTemplateType } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { ApprovalAudit } from '../audit/record.js';
import type { RulesConfig, ServerSpec } from '../config/types.js';
import type { DownstreamConnection } from '../downstream/connection.js';
import type { InstanceRegistry } from '../downstream/instances.js';
import type { DownstreamPool } from '../downstream/pool.js';
import type { IdentitySource, Policy } from '../policy/types.js';
import type { FieldNames } from './arguments.js';
import type { ForwardedEnvelope } from './calls/envelope.js';
import type { TaskTable } from './calls/taskTable.js';
import type { CallPeer, InstanceScope } from './serverRequests.js';

/**
 * Everything a call decides with, taken once at its start. Reloads replace the whole
 * snapshot object, so a call sees the old configuration or the new one, never a mix.
 */
export interface Snapshot {
  /** 1 at start; raised by every reload that changed anything. Audit lines carry it. */
  readonly revision: number;
  readonly policy: Policy;
  /** The rules `policy` was compiled from (kept for cross-checks on the next reload). */
  readonly rules: RulesConfig;
  /** Configured (enabled) servers in file order. */
  readonly servers: ReadonlyMap<string, ServerSpec>;
  readonly serverNames: readonly string[];
}

export interface CallSettings {
  readonly defaultTimeoutMs: number;
  readonly maxTimeoutMs: number;
}

/** Facts an operation reports for the audit line. */
export interface AuditNote {
  /** The agent_id claimed by a call whose identity was refused. */
  requestedAgent?: string;
  server?: string;
  tool?: string;
  rule?: string;
  isError?: boolean;
  /** Set on a call that needed a human's approval (calls/approval.ts). */
  approval?: ApprovalAudit;
}

export interface OperationContext {
  readonly snapshot: Snapshot;
  /** The snapshot in force now: differs from `snapshot` once a reload replaced it during the call. */
  readonly currentSnapshot: () => Snapshot;
  readonly pool: DownstreamPool;
  /** Instances of servers with isolation "agent" or "session". */
  readonly instances: InstanceRegistry;
  /** The caller's session, for isolation "session"; undefined: the agent stands in. */
  readonly instanceScope: InstanceScope | undefined;
  readonly agentId: string;
  readonly identitySource: IdentitySource;
  /** Aborted when the caller cancels. */
  readonly signal: AbortSignal;
  /** What the caller's request carries on to the downstream (trace context, capabilities, a retry's answers); undefined for REST. */
  readonly forward: ForwardedEnvelope | undefined;
  /** The MCP client whose request this is, which a call needing approval asks; undefined for REST. */
  readonly peer: CallPeer | undefined;
  /** Relays a downstream's progress to the caller; undefined when the caller asked for none. */
  readonly progress: ProgressSink | undefined;
  /** What the caller calls the argument fields, for messages. */
  readonly fields: FieldNames | undefined;
  readonly settings: CallSettings;
  readonly logger: Logger;
  readonly note: AuditNote;
  /** Where a task the downstream creates for this call is recorded (tasks extension). */
  readonly tasks: TaskScope;
  /** Registers the call as in flight on a downstream server, so that server's requests (elicitation, sampling) reach this caller. */
  readonly trackCall: (server: string) => () => void;
}

/** The tasks of one caller's calls (tasks extension): the table, and who the caller is to it. */
export interface TaskScope {
  readonly table: TaskTable;
  /** TaskEntry.owner of the tasks this caller creates and may use. */
  readonly owner: string;
}

export type ProgressSink = (progress: { progress: number; total?: number; message?: string }) => void;

/** OfferLists.untrustedPrompt's answer for a prompt the server never listed: the pins never checked it. */
export const UNLISTED_PROMPT = 'unlisted';

/** The cached resource, template and prompt lists of each connection (native/catalog.ts keeps them). */
export interface OfferLists {
  resources(connection: DownstreamConnection): Promise<readonly Resource[]>;
  resourceTemplates(connection: DownstreamConnection): Promise<readonly ResourceTemplateType[]>;
  prompts(connection: DownstreamConnection): Promise<readonly Prompt[]>;
  /** Why the pins refuse the prompt `name` (withheld, or 'unlisted' when enforced pins never saw it); undefined when they do not. */
  untrustedPrompt?(connection: DownstreamConnection, name: string): Promise<string | undefined>;
}
