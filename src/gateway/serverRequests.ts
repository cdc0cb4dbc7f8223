import { CLIENT_CAPABILITIES_META_KEY, MissingRequiredClientCapabilityError } from '@modelcontextprotocol/server';
import type { ClientCapabilities, LoggingLevel, LoggingMessageNotification, ServerRequest, ServerContext } from '@modelcontextprotocol/server';
import { CreateMessageResultSchema, ElicitResultSchema, ListRootsResultSchema } from '@modelcontextprotocol/core';
import type { Logger } from 'pino';
import { protocolError } from '../protocolError.js';
import { isPlainObject } from '../values.js';
import type { InputChannel } from './calls/inputBridge.js';
import { ProtocolErrorCode } from '@modelcontextprotocol/server';

/** What the SDK hands a request handler of a client's request. */
export type RequestExtra = ServerContext;

/** One client connected to the gateway: the stdio peer, or one HTTP session. */
export interface UpstreamSession {
  readonly id: string;
  /**
   * The agent this session is bound to (an HTTP request authenticated with a per-agent
   * credential); overrides the gateway-wide --agent. Undefined: not bound by the session.
   */
  readonly boundAgent?: string;
  /**
   * A client connected over MCP (stdio or /mcp), offered what --mode says. Absent: a REST
   * caller, which calls the meta-tools by name whatever the mode.
   */
  readonly mcp?: boolean;
  /** A client-chosen session id (REST `session_id`) recorded in the audit line. */
  readonly auditSessionId?: string;
  /**
   * The session servers with `isolation: "session"` get one instance per; undefined (stdio)
   * falls back to the agent.
   */
  readonly instanceScope?: InstanceScope;
  clientCapabilities(): ClientCapabilities | undefined;
  /** A request to this client that belongs to no call in flight (e.g. roots/list at a server's start). */
  request(request: ServerRequest, signal: AbortSignal): Promise<unknown>;
  /** Sends notifications/tools/list_changed to this client. */
  notifyToolListChanged(): Promise<void>;
  /** Sends notifications/{tools,resources,prompts}/list_changed (sessions that speak MCP; REST has none). */
  notifyListChanged?(kind: 'tools' | 'resources' | 'prompts'): Promise<void>;
  /** Sends notifications/resources/updated for a resource this client subscribed to. */
  notifyResourceUpdated?(uri: string): Promise<void>;
  /** The least severe level this client wants relayed (logging/setLevel); undefined: none relayed. */
  logLevel?: LoggingLevel;
  /** Sends notifications/message outside any call (HTTP: on the session's GET stream). */
  notifyLog?(params: LoggingMessageNotification['params']): Promise<void>;
}

export interface InstanceScope {
  /** Unique among all sessions of the gateway (REST ids are prefixed with their owner). */
  readonly key: string;
  /** How messages name it, e.g. `session "call-1"`. */
  readonly label: string;
  /** Idle timeout the current call sets, in seconds. */
  readonly timeoutS?: number;
  readonly metadata?: Readonly<Record<string, unknown>>;
  /** The HTTP identity charged for the instances of this session (the per-identity cap). */
  readonly owner?: string;
}

/** An MCP client's request in flight: the client hears the call's progress and logs, and may be asked things. */
export interface CallPeer {
  readonly session: UpstreamSession;
  readonly extra: RequestExtra;
  /** A 2026 caller, which takes no requests: the downstream's questions go back as input_required (inputBridge.ts). */
  readonly input?: InputChannel;
}

/** A call in flight on a server; no peer: a caller that can answer nothing (REST). */
export interface InFlight {
  readonly peer: CallPeer | undefined;
  /** The agent the call acts as. */
  readonly agent: string;
}

/** A human may take minutes to answer an elicitation; the downstream's own timeout bounds it. */
export const CLIENT_REQUEST_TIMEOUT_MS = 10 * 60_000;

/** The requests a downstream may make of a client, with the schema of each answer. */
export const CLIENT_RESULT_SCHEMAS = {
  'sampling/createMessage': CreateMessageResultSchema,
  'elicitation/create': ElicitResultSchema,
  'roots/list': ListRootsResultSchema,
} as const;

export type ClientRequestMethod = keyof typeof CLIENT_RESULT_SCHEMAS;

export function isClientRequestMethod(method: string): method is ClientRequestMethod {
  return Object.hasOwn(CLIENT_RESULT_SCHEMAS, method);
}

/**
 * Routes a downstream server's requests (sampling, elicitation, roots) to the client
 * whose call is in flight on that server, because that is the human or model the server
 * is asking. With no call in flight, the one connected client is asked (stdio mode).
 * A client that did not declare the capability gets a clear refusal, never a hang.
 */
export class ServerRequestRouter {
  readonly #sessions = new Set<UpstreamSession>();
  readonly #inFlight = new Map<string, InFlight[]>();
  readonly #logger: Logger;

  constructor(logger: Logger) {
    this.#logger = logger;
  }

  attach(session: UpstreamSession): () => void {
    this.#sessions.add(session);
    return () => this.#sessions.delete(session);
  }

  /** Every connected client, for notifications that concern them all. */
  sessions(): readonly UpstreamSession[] {
    return [...this.#sessions];
  }

  /** The calls in flight on a server (or an isolated instance's route key), oldest first. */
  callsOn(server: string): readonly InFlight[] {
    return this.#inFlight.get(server) ?? [];
  }

  track(server: string, peer: CallPeer | undefined, agent: string): () => void {
    const entry: InFlight = { peer, agent };
    let list = this.#inFlight.get(server);
    if (!list) {
      list = [];
      this.#inFlight.set(server, list);
    }
    list.push(entry);
    return () => {
      const current = this.#inFlight.get(server);
      if (!current) return;
      const i = current.indexOf(entry);
      if (i >= 0) current.splice(i, 1);
      if (current.length === 0) this.#inFlight.delete(server);
    };
  }

  async route(server: string, request: { method: string; params?: unknown }, extra: { signal: AbortSignal }): Promise<unknown> {
    const method = request.method;
    if (!isClientRequestMethod(method)) throw protocolError(ProtocolErrorCode.MethodNotFound, `The gateway does not forward ${method}`);
    const schema = CLIENT_RESULT_SCHEMAS[method];
    const calls = this.#inFlight.get(server);
    const call = calls?.[calls.length - 1];
    // Calls of several agents on one server: nothing says which of them the server asks, and
    // the question (and its answer) must not cross from one agent to another.
    if (calls !== undefined && calls.some((c) => c.agent !== call?.agent)) {
      throw protocolError(
        ProtocolErrorCode.InvalidRequest,
        `Calls of several agents are in flight on server '${server}': ${method} cannot be routed to one of them`,
      );
    }
    // A call in flight decides who answers, even one whose caller can answer nothing.
    const session = call ? call.peer?.session : this.#sessions.size === 1 ? [...this.#sessions][0] : undefined;
    if (!call && !session) throw protocolError(ProtocolErrorCode.InvalidRequest, `No client is waiting on server '${server}' to answer ${method}`);
    const missing = missingCapability(call?.peer ? callerCapabilities(call.peer) : session?.clientCapabilities(), request);
    if (missing) {
      const message = `The client connected to the gateway does not support ${missing}`;
      // A 2026 caller's call fails with the specification's error, naming what it lacks.
      call?.peer?.input?.refuse(new MissingRequiredClientCapabilityError({ requiredCapabilities: requiredCapabilities(request) }, message));
      throw protocolError(ProtocolErrorCode.InvalidRequest, message);
    }
    this.#logger.debug({ server, method }, 'forwarding downstream request to the client');
    const forwarded = request as ServerRequest;
    if (call?.peer?.input) {
      // The caller's answer goes to the downstream as its result: checked as a 2025 client's would be.
      const answer = await call.peer.input.ask(method, isPlainObject(request.params) ? request.params : undefined, extra.signal);
      const parsed = schema.safeParse(answer);
      if (!parsed.success) throw protocolError(ProtocolErrorCode.InvalidParams, `The client's answer to ${method} is not a valid result`);
      return parsed.data;
    }
    if (call?.peer) {
      // On the caller's own request stream, so an HTTP client receives it on the call it made.
      return call.peer.extra.mcpReq.send(forwarded, schema, { signal: extra.signal, timeout: CLIENT_REQUEST_TIMEOUT_MS });
    }
    return session!.request(forwarded, extra.signal);
  }
}

/** The capabilities of the client behind a request: stated in the request (2026), else at initialize (2025). */
export function callerCapabilities(peer: CallPeer): ClientCapabilities | undefined {
  // The SDK checked the envelope's shape before the handler ran; its type does not say which keys.
  const envelope = peer.extra.mcpReq.envelope as Readonly<Record<string, unknown>> | undefined;
  const stated = envelope?.[CLIENT_CAPABILITIES_META_KEY] as ClientCapabilities | undefined;
  return stated ?? peer.session.clientCapabilities();
}

/** What the client must declare to answer `request`. */
function requiredCapabilities(request: { method: string; params?: unknown }): ClientCapabilities {
  switch (request.method) {
    case 'sampling/createMessage':
      return { sampling: {} };
    case 'roots/list':
      return { roots: {} };
    default: {
      const mode = (request.params as { mode?: string } | undefined)?.mode;
      return { elicitation: mode === 'url' ? { url: {} } : { form: {} } };
    }
  }
}

function missingCapability(caps: ClientCapabilities | undefined, request: { method: string; params?: unknown }): string | undefined {
  switch (request.method) {
    case 'sampling/createMessage':
      return caps?.sampling ? undefined : 'sampling';
    case 'roots/list':
      return caps?.roots ? undefined : 'roots';
    case 'elicitation/create': {
      if (!caps?.elicitation) return 'elicitation';
      const mode = (request.params as { mode?: string } | undefined)?.mode;
      if (mode === 'url' && !(caps.elicitation as { url?: unknown }).url) return 'URL-mode elicitation';
      return undefined;
    }
    default:
      return request.method;
  }
}
