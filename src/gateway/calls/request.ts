import type { ProtocolError } from '@modelcontextprotocol/server';
import type { AuditDecision } from '../../audit/record.js';
import type { GatewayError } from '../../errors.js';
import type { Args, FieldNames } from '../arguments.js';
import type { OperationContext } from '../context.js';
import type { CallPeer, InstanceScope } from '../serverRequests.js';

// The currency of the call path: every front end (meta-tools, native requests, REST) hands
// the pipeline a CallRequest and renders the CallOutcome in its own terms.

/** What an operation does once identity is settled; its value is the front end's to render. */
export type Operation<T> = (ctx: OperationContext, args: Args) => Promise<T>;

/** Who is calling, as far as identity and isolation care (an UpstreamSession is one). */
export interface Caller {
  /** Bound by the caller's credential; overrides the gateway-wide --agent. */
  readonly boundAgent?: string;
  /** A client-chosen session id (REST `session_id`) recorded in the audit line. */
  readonly auditSessionId?: string;
  /** The session servers with isolation "session" get one instance per; undefined: the agent stands in. */
  readonly instanceScope?: InstanceScope;
}

export interface CallRequest {
  /** What the audit line and the metrics name the call: a meta-tool, native_call, resources/read, ... */
  readonly operation: string;
  readonly caller: Caller;
  readonly args: unknown;
  /**
   * The arguments are the gateway's own (a meta-tool's), so `agent_id`, `server` and `tool`
   * among them are read; a native call's arguments are the downstream's.
   */
  readonly ownArgs: boolean;
  /** Aborted when the caller cancels. */
  readonly signal: AbortSignal;
  /**
   * The MCP client in flight, which receives progress and log messages and may be asked for
   * sampling, elicitation and roots. Undefined: a caller that can answer none of them (REST).
   */
  readonly peer?: CallPeer;
  /** What the caller calls the gateway's argument fields, for messages (REST: `service`, `arguments`). */
  readonly fields?: FieldNames;
  /** The call is refused with this once identity is settled, instead of running (REST's own checks). */
  readonly refusal?: GatewayError;
}

interface Settled {
  /** The agent the call acted as; null when identity was refused or never reached. */
  readonly agent: string | null;
  readonly decision: AuditDecision;
}

export type CallOutcome<T> = Settled &
  (
    | { readonly kind: 'value'; readonly value: T }
    /** A gateway-made failure with its stable code. */
    | { readonly kind: 'failed'; readonly error: GatewayError }
    /** The caller cancelled: there is nobody to answer. */
    | { readonly kind: 'cancelled'; readonly reason: unknown }
    /** A protocol error (an operation the gateway does not offer). */
    | { readonly kind: 'protocol'; readonly error: ProtocolError }
  );
