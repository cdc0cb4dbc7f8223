// What a caller's request carries to the downstream beside its arguments: W3C trace context,
// the caller's own capabilities (a 2026 downstream asks for input only of a client that can
// give it: the gateway's capabilities would be a lie), and a 2026 retry's answers and state.

import { BAGGAGE_META_KEY, CLIENT_CAPABILITIES_META_KEY, TRACEPARENT_META_KEY, TRACESTATE_META_KEY } from '@modelcontextprotocol/server';
import type { ClientCapabilities, InputRequiredResult } from '@modelcontextprotocol/server';
import { GatewayError } from '../../errors.js';
import { TASKS_EXTENSION } from '../../downstream/tasks.js';
import { callerCapabilities, type CallPeer } from '../serverRequests.js';
import { isGatewayState } from './inputBridge.js';

/** The caller's part of a downstream request. */
export interface ForwardedEnvelope {
  /** Keys for the downstream request's `_meta`: trace context and the caller's capabilities. */
  readonly meta: Readonly<Record<string, unknown>>;
  /** A 2026 retry: the caller's answers to the input the downstream asked for. */
  readonly inputResponses?: Readonly<Record<string, unknown>>;
  /** A 2026 retry: the downstream's state, untouched (the downstream checks its integrity). */
  readonly requestState?: string;
}

// W3C Trace Context: a fixed-length traceparent, at most 32 list members of tracestate
// (512 characters is the advised bound), and W3C Baggage's 8192 bytes.
const TRACEPARENT = /^[0-9a-f]{2}-[0-9a-f]{32}-[0-9a-f]{16}-[0-9a-f]{2}$/;
const TRACE_BOUNDS: readonly (readonly [string, number])[] = [
  [TRACESTATE_META_KEY, 512],
  [BAGGAGE_META_KEY, 8192],
];

/** A request of the 2026-07-28 era: it carries its own envelope, there is no session to ask. */
export function isModernRequest(peer: CallPeer): boolean {
  return peer.extra.mcpReq.envelope !== undefined;
}

/** A 2025 client cannot poll a task (its era has no tasks/get of that kind): it is never offered one. */
function withoutTasks(capabilities: ClientCapabilities): ClientCapabilities {
  const extensions = capabilities.extensions;
  if (extensions === undefined || !(TASKS_EXTENSION in extensions)) return capabilities;
  const rest = { ...extensions };
  delete rest[TASKS_EXTENSION];
  return { ...capabilities, extensions: rest };
}

export function forwardedEnvelope(peer: CallPeer): ForwardedEnvelope {
  const meta: Record<string, unknown> = {};
  const received = peer.extra.mcpReq._meta;
  const traceparent = received?.[TRACEPARENT_META_KEY];
  // Malformed trace context is dropped, not forwarded: the downstream would only reject or misread it.
  if (traceparent !== undefined) {
    if (typeof traceparent === 'string' && TRACEPARENT.test(traceparent)) {
      meta[TRACEPARENT_META_KEY] = traceparent;
      for (const [key, max] of TRACE_BOUNDS) {
        const value = received?.[key];
        if (typeof value === 'string' && value.length <= max) meta[key] = value;
      }
    }
  }
  const capabilities = callerCapabilities(peer);
  if (capabilities !== undefined) meta[CLIENT_CAPABILITIES_META_KEY] = isModernRequest(peer) ? capabilities : withoutTasks(capabilities);
  const state = peer.extra.mcpReq.requestState();
  const envelope: { meta: Record<string, unknown>; inputResponses?: Record<string, unknown>; requestState?: string } = { meta };
  // The gateway's own state (inputBridge.ts) and the answers that go with it are the
  // gateway's; anything else is the downstream's (a retry may carry answers and no state).
  if (typeof state === 'string' && isGatewayState(state)) return envelope;
  if (typeof state === 'string') envelope.requestState = state;
  if (peer.extra.mcpReq.inputResponses !== undefined) envelope.inputResponses = peer.extra.mcpReq.inputResponses;
  return envelope;
}

/** The caller's envelope as a downstream request takes it (nothing for a caller without one: REST). */
export function downstreamEnvelope(envelope: ForwardedEnvelope | undefined): {
  meta?: Record<string, unknown>;
  inputResponses?: Record<string, unknown>;
  requestState?: string;
} {
  if (envelope === undefined) return {};
  return {
    meta: { ...envelope.meta },
    ...(envelope.inputResponses !== undefined ? { inputResponses: { ...envelope.inputResponses } } : {}),
    ...(envelope.requestState !== undefined ? { requestState: envelope.requestState } : {}),
  };
}

/** A server asked for input of a caller that cannot give it (REST has no MCP peer). */
export function inputImpossible(result: InputRequiredResult, server: string, tool?: string): GatewayError {
  const methods = [...new Set(Object.values(result.inputRequests ?? {}).map((r) => r.method))].join(', ');
  return new GatewayError(
    'INPUT_REQUIRED',
    `Server '${server}' asked for input (${methods}), which this caller cannot give`,
    tool === undefined ? { server } : { server, tool },
  );
}
