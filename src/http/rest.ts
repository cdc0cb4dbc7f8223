// The REST API shaped like SignalWire's MCP gateway (GET /health, GET /services,
// GET /services/:name/tools, POST /services/:name/call, GET /sessions,
// DELETE /sessions/:id), implemented by calling the Gateway's own tools through its one call
// path: identity, policy, timeouts and the audit line are those of stdio mode.
import type { CallToolResult } from '@modelcontextprotocol/server';
import type { Caller } from '../gateway/calls/request.js';
import type { Gateway } from '../gateway/gateway.js';
import { depthProblem } from '../gateway/inputBounds.js';
import { CODE_MEANINGS, GatewayError } from '../errors.js';
import type { InstanceScope } from '../gateway/serverRequests.js';
import { isPlainObject } from '../values.js';
import { VERSION } from '../version.js';
import type { Principal } from './auth.js';
import { readJsonBody } from './body.js';
import type { RequestTarget } from './requestTarget.js';
import type { IncomingMessage } from 'node:http';
import { HttpError } from './respond.js';
import { addsNothing, RestSessionRegistry } from './restSessions.js';
import { callBody, optionalAgentId, serviceName, sessionId } from './validate.js';
import { mergedJsonBytes } from '../mergeRecord.js';

/** What a REST handler gets. */
export interface RestRequest {
  readonly principal: Principal;
  readonly params: Readonly<Record<string, string>>;
  readonly query: URLSearchParams;
  /** Aborted when the client goes away before the answer. */
  readonly signal: AbortSignal;
  /** The parsed JSON body (read lazily: only POST routes ask). */
  readonly body: () => Promise<unknown>;
}

/** A RestRequest of an HTTP request (a class: one is built on every request). */
export class IncomingRestRequest implements RestRequest {
  readonly principal: Principal;
  readonly params: Readonly<Record<string, string>>;
  readonly signal: AbortSignal;
  readonly #req: IncomingMessage;
  readonly #target: RequestTarget;
  readonly #maxBodyBytes: number;
  #body: Promise<unknown> | undefined;

  constructor(
    req: IncomingMessage,
    target: RequestTarget,
    principal: Principal,
    params: Readonly<Record<string, string>>,
    signal: AbortSignal,
    maxBodyBytes: number,
  ) {
    this.#req = req;
    this.#target = target;
    this.principal = principal;
    this.params = params;
    this.signal = signal;
    this.#maxBodyBytes = maxBodyBytes;
  }

  get query(): URLSearchParams {
    return this.#target.query;
  }

  body(): Promise<unknown> {
    return (this.#body ??= readJsonBody(this.#req, this.#maxBodyBytes));
  }
}

export interface RestAnswer {
  readonly status: number;
  readonly body: unknown;
}

export class RestApi {
  readonly #gateway: Gateway;
  readonly sessions: RestSessionRegistry;

  constructor(gateway: Gateway) {
    this.#gateway = gateway;
    this.sessions = new RestSessionRegistry({ defaultTimeoutS: gateway.sessionTimeoutS });
  }

  /** No auth needed. Counts per state always; names only for an authenticated caller (the servers it may see). */
  health(principal: Principal | undefined): RestAnswer {
    const servers = this.#gateway.serverStates();
    const counts: Record<string, number> = { total: servers.length, ready: 0, connecting: 0, idle: 0, failed: 0 };
    const states: Record<string, string> = {};
    for (const { name, state } of servers) {
      const key = state === 'closed' ? 'idle' : state;
      counts[key] = (counts[key] ?? 0) + 1;
      states[name] = state;
    }
    const body: Record<string, unknown> = {
      status: counts['failed'] ? 'degraded' : 'healthy',
      timestamp: new Date().toISOString(),
      version: VERSION,
      servers: counts,
    };
    if (principal && principal.kind !== 'anonymous') {
      const names = principal.boundAgent !== undefined ? this.#gateway.visibleServers(principal.boundAgent) : servers.map((s) => s.name);
      body['server_states'] = Object.fromEntries(names.map((n) => [n, states[n] ?? 'idle']));
    }
    return { status: 200, body };
  }

  async services(r: RestRequest): Promise<RestAnswer> {
    const agentId = optionalAgentId(r.query.get('agent_id') ?? undefined, 'agent_id');
    const { result } = await this.#invoke(r, 'list_servers', { include_metadata: true, ...agentArg(agentId) });
    const servers = (structuredOf(result)['servers'] ?? []) as { name: string; description: string | null; transport?: string }[];
    const body: Record<string, unknown> = {};
    for (const s of servers) body[s.name] = { description: s.description ?? '', enabled: true, transport: s.transport ?? null };
    return { status: 200, body };
  }

  async tools(r: RestRequest): Promise<RestAnswer> {
    const service = serviceName(r.params['name']);
    const agentId = optionalAgentId(r.query.get('agent_id') ?? undefined, 'agent_id');
    const { result } = await this.#invoke(r, 'get_server_tools', { server: service, ...agentArg(agentId) });
    return { status: 200, body: { service, tools: structuredOf(result)['tools'] ?? [] } };
  }

  async call(r: RestRequest): Promise<RestAnswer> {
    const service = serviceName(r.params['name']);
    const call = callBody(await r.body());
    const owner = r.principal.key;
    const callArgs = { server: service, tool: call.tool, args: call.arguments, ...agentArg(call.agentId) };
    // Refusals of a call the gateway has read go through the gateway, so each is an audit line like every call.
    const existing = this.sessions.get(owner, call.sessionId);
    const refusal =
      depthProblem(call.metadata, 'metadata') ??
      metadataSizeProblem(existing?.metadata, call.metadata) ??
      (existing && existing.serviceName !== service
        ? new GatewayError('SESSION_CONFLICT', `Session ${call.sessionId} is for service '${existing.serviceName}', not '${service}'`)
        : undefined);
    if (refusal) {
      await this.#invoke(r, 'execute_tool', callArgs, { auditSessionId: call.sessionId }, refusal);
      // #invoke throws the refusal (or an earlier one); a call refused can never succeed.
      throw new HttpError(CODE_MEANINGS[refusal.code].http, refusal.code, refusal.message);
    }
    const scope: InstanceScope = {
      key: restScopeKey(owner, call.sessionId),
      label: `session ${JSON.stringify(call.sessionId)}`,
      owner,
      ...(call.timeout !== undefined ? { timeoutS: call.timeout } : {}),
      metadata: call.metadata,
    };
    let outcome: Invoked | undefined;
    try {
      outcome = await this.#invoke(r, 'execute_tool', callArgs, { auditSessionId: call.sessionId, instanceScope: scope });
    } finally {
      // A failed call still records a session whose instance runs, so it can be listed and deleted.
      const instance = this.#gateway.findInstance(service, scope.key);
      if (outcome !== undefined || instance !== undefined) {
        this.sessions.touch(owner, call.sessionId, service, call.timeout, call.metadata, outcome?.agent ?? instance?.agentId ?? null);
      }
    }
    const result = outcome.result;
    return {
      status: 200,
      body: {
        session_id: call.sessionId,
        service,
        tool: call.tool,
        result: signalWireResult(result),
        content: result.content,
        structuredContent: result.structuredContent ?? null,
        isError: result.isError === true,
      },
    };
  }

  listSessions(r: RestRequest): RestAnswer {
    const owner = r.principal.key;
    return { status: 200, body: this.sessions.list(owner, (s) => this.#gateway.findInstance(s.serviceName, restScopeKey(owner, s.id))?.pid) };
  }

  /** Forgets the session and closes its instances (their process groups are gone when this answers). */
  async deleteSession(r: RestRequest): Promise<RestAnswer> {
    const id = sessionId(r.params['id'], 'session id');
    if (!this.sessions.delete(r.principal.key, id)) throw new HttpError(404, 'SESSION_NOT_FOUND', `Session ${id} not found`);
    await this.#gateway.closeScope(restScopeKey(r.principal.key, id));
    return { status: 200, body: { message: `Session ${id} closed` } };
  }

  /** One gateway tool call for this request; a gateway-made failure becomes its HTTP error. */
  async #invoke(r: RestRequest, tool: string, args: Record<string, unknown>, caller: Caller = {}, refusal?: GatewayError): Promise<Invoked> {
    const outcome = await this.#gateway.invoke({
      operation: tool,
      caller: r.principal.boundAgent !== undefined ? { ...caller, boundAgent: r.principal.boundAgent } : caller,
      args,
      ownArgs: true,
      signal: r.signal,
      fields: REST_FIELD_NAMES,
      ...(refusal !== undefined ? { refusal } : {}),
    });
    switch (outcome.kind) {
      case 'value':
        return { result: outcome.value, agent: outcome.agent };
      case 'failed':
        throw new HttpError(CODE_MEANINGS[outcome.error.code].http, outcome.error.code, outcome.error.message);
      case 'cancelled':
        throw outcome.reason;
      case 'protocol':
        throw outcome.error;
    }
  }
}

/** A REST caller names the meta-tools' `server` and `args` after SignalWire: `service` and `arguments`. */
const REST_FIELD_NAMES = Object.freeze({ server: 'service', args: 'arguments' });

interface Invoked {
  readonly result: CallToolResult;
  readonly agent: string | null;
}

/**
 * A session keeps its metadata for its lifetime and each call merges more in: the merged
 * object is bounded, so no caller grows a session without limit one call at a time.
 */
const MAX_SESSION_METADATA_BYTES = 16 * 1024;

function metadataSizeProblem(kept: Record<string, unknown> | undefined, added: Record<string, unknown>): GatewayError | undefined {
  // What a session keeps was within the bound when it was merged.
  if (kept !== undefined && addsNothing(kept, added)) return undefined;
  const bytes = mergedJsonBytes(kept, added);
  if (bytes <= MAX_SESSION_METADATA_BYTES) return undefined;
  return new GatewayError(
    'INVALID_ARGUMENT',
    `Invalid 'metadata' parameter: a session's metadata may hold at most ${MAX_SESSION_METADATA_BYTES} bytes of JSON (this call would make ${bytes})`,
  );
}

/** REST session ids are chosen by callers: the owner is part of the key, so two identities never share an instance. */
function restScopeKey(owner: string, id: string): string {
  return JSON.stringify(['rest', owner, id]);
}

function agentArg(agentId: string | undefined): Record<string, unknown> {
  return agentId === undefined ? {} : { agent_id: agentId };
}

function firstText(result: CallToolResult): string | undefined {
  const first = result.content[0];
  return first?.type === 'text' ? first.text : undefined;
}

/** As SignalWire: the first content block's text when it is text; otherwise the whole result. */
function signalWireResult(result: CallToolResult): unknown {
  const text = firstText(result);
  if (text !== undefined) return text;
  return isPlainObject(result) ? result : null;
}

/** A meta-tool's structured result (the gateway's own tools always return an object). */
function structuredOf(result: CallToolResult): Record<string, unknown> {
  return (result.structuredContent ?? {}) as Record<string, unknown>;
}
