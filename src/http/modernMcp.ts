// /mcp for 2026-07-28 clients: stateless requests, each carrying its protocol version and
// the client's capabilities, served by the SDK's createMcpHandler (legacy: 'reject'; 2025
// traffic never reaches it, see mcpSessions.ts). The SDK checks the routing headers
// (MCP-Protocol-Version, Mcp-Method, Mcp-Name) against the body and answers a mismatch with
// 400 and the spec's error before it builds a Server, so nothing below that step (a call's
// rate-limit unit, the audit line) sees a request the SDK refuses.
//
// Each request gets its own gateway Server from createUpstreamServer, bound to the caller's
// identity (per-agent token), attached to the gateway for the request's life only.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { toNodeHandler, type NodeMcpRequestHandler } from '@modelcontextprotocol/node';
import {
  classifyInboundRequest,
  createMcpHandler,
  INVALID_PARAMS,
  SUPPORTED_PROTOCOL_VERSIONS,
  type AuthInfo,
  type McpHttpHandler,
  type McpRequestContext,
  type Server,
} from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { Gateway } from '../gateway/gateway.js';
import { isPlainObject } from '../values.js';
import type { InstanceScope } from '../gateway/serverRequests.js';
import { invalidParamsMessage } from '../gateway/invalidParams.js';
import { HEADER_MISMATCH, paramHeaderProblem } from '../gateway/paramHeaders.js';
import { createUpstreamServer, offeredTools, requestSchemas } from '../gateway/upstreamServer.js';
import type { Principal } from './auth.js';
import { IdentityBus, ModernListeners, type ListenFilter } from './modernListeners.js';
import { HttpError, sendJson } from './respond.js';

/**
 * `_meta` key a modern client may send to name its own scope for servers with isolation
 * "session" (it has no MCP session); without it the agent is the scope. Only this identity's
 * requests reach the instances of a key; they live until idle past the session timeout.
 */
/** Requests of 2025-11-25 that 2026-07-28 no longer has. */
const LEGACY_ONLY_METHODS: ReadonlySet<string> = new Set(['initialize', 'resources/subscribe', 'resources/unsubscribe', 'logging/setLevel', 'ping']);

export const ISOLATION_KEY_META = 'io.agent-mcp-gateway/isolationKey';
const ISOLATION_KEY = /^[\x21-\x7e]{1,128}$/;

/** Counts one call of the request's identity; throws HttpError 429 when refused. */
export type ChargeCall = () => Promise<void>;

/** What the SDK's factory learns of the request it builds a Server for. */
interface ModernRequest {
  readonly principal: Principal;
  readonly res: ServerResponse;
  readonly instanceScope: InstanceScope | undefined;
  readonly chargeCall: ChargeCall | undefined;
  /** Set for a subscriptions/listen request. */
  readonly listen: { readonly filter: ListenFilter | undefined } | undefined;
  /** Aborted when the response closes (a listen stream: when the client leaves). */
  readonly closed: AbortSignal;
  /** A tools/call: its id, tool and arguments, for the Mcp-Param-* header check. */
  readonly toolCall: ToolCallBody | undefined;
  refusal?: HttpError | JsonRpcRefusal;
}

interface ToolCallBody {
  readonly id: string | number;
  readonly name: string;
  readonly args: unknown;
}

/** A request refused with a JSON-RPC error and an HTTP status of its own (SEP-2243: 400). */
interface JsonRpcRefusal {
  readonly status: number;
  readonly body: { jsonrpc: '2.0'; id: string | number; error: { code: number; message: string } };
}

/** Runs `undo` once the request's response has closed (at once if it has). */
function whenClosed(request: ModernRequest, undo: () => void): void {
  if (request.closed.aborted) undo();
  else request.closed.addEventListener('abort', undo, { once: true });
}

export interface ModernMcpOptions {
  readonly gateway: Gateway;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
}

export class ModernMcp {
  readonly #options: ModernMcpOptions;
  readonly #requests = new AsyncLocalStorage<ModernRequest>();
  readonly #bus: IdentityBus;
  readonly #listeners: ModernListeners;
  readonly #handler: McpHttpHandler;
  readonly #node: NodeMcpRequestHandler;
  readonly #schemas: ReturnType<typeof requestSchemas>;

  constructor(options: ModernMcpOptions) {
    this.#options = options;
    // Only the methods of 2026-07-28: the SDK answers the others (initialize, resources/subscribe, ...) 404 / -32601.
    this.#schemas = new Map([...requestSchemas(options.gateway.mode !== 'meta')].filter(([method]) => !LEGACY_ONLY_METHODS.has(method)));
    this.#bus = new IdentityBus(options.logger);
    this.#listeners = new ModernListeners(options.gateway, this.#bus, options.logger);
    this.#handler = createMcpHandler((ctx) => this.#serverFor(ctx), {
      legacy: 'reject',
      bus: this.#bus,
      maxRequestBodySize: options.maxBodyBytes,
      onerror: (err) => options.logger.debug({ err: err.message }, 'modern /mcp request refused or failed'),
    });
    const handler = this.#handler;
    const requests = this.#requests;
    // A call refused by the rate limiter is answered as every 429 of the gateway, not as the SDK's 500.
    this.#node = toNodeHandler(
      {
        fetch: async (request, fetchOptions) => {
          const response = await handler.fetch(request, fetchOptions);
          const served = requests.getStore();
          return served?.refusal ? refusalResponse(served.refusal, served.res) : response;
        },
      },
      { maxRequestBodySize: options.maxBodyBytes },
    );
  }

  /** Whether the SDK reads this request as 2026-07-28 traffic (it then owns every answer to it, errors included). */
  claims(req: IncomingMessage, parsedBody: unknown): boolean {
    if (req.method !== 'POST') {
      // GET and DELETE belong to 2025 sessions; without one, a client naming a later
      // revision gets the SDK's answer for its era (405), not the 2025 "initialize first".
      const version = req.headers['mcp-protocol-version'];
      return req.headers['mcp-session-id'] === undefined && typeof version === 'string' && !SUPPORTED_PROTOCOL_VERSIONS.includes(version);
    }
    // What isLegacyRequest decides for a body already parsed, without copying the request into a web Request.
    return classifyInboundRequest({ httpMethod: 'POST', ...routingHeaders(req), body: parsedBody }).kind !== 'legacy';
  }

  /** `chargeCall`: set for a tools/call, counted only once the SDK accepted the request. */
  async handle(req: IncomingMessage, res: ServerResponse, principal: Principal, parsedBody: unknown, chargeCall?: ChargeCall): Promise<void> {
    const instanceScope = scopeOf(principal, parsedBody);
    if (instanceScope === 'invalid') {
      const id = (parsedBody as { id?: unknown }).id;
      sendJson(res, 400, {
        jsonrpc: '2.0',
        error: { code: INVALID_PARAMS, message: `Invalid params: _meta["${ISOLATION_KEY_META}"] must be 1 to 128 printable ASCII characters without spaces` },
        id: typeof id === 'string' || typeof id === 'number' ? id : null,
      });
      return;
    }
    const problem = this.#paramsProblem(req, parsedBody);
    if (problem !== undefined) {
      // The same words as for a 2025 request (invalidParams.ts), not the SDK's dump of zod's issues.
      sendJson(res, 200, { jsonrpc: '2.0', error: { code: INVALID_PARAMS, message: problem.message }, id: problem.id });
      return;
    }
    const closed = new AbortController();
    res.once('close', () => closed.abort());
    const request: ModernRequest = {
      principal,
      res,
      instanceScope,
      chargeCall,
      listen: listenFilter(parsedBody),
      closed: closed.signal,
      toolCall: toolCallOf(parsedBody),
    };
    (req as IncomingMessage & { auth?: AuthInfo }).auth = authInfoOf(principal);
    await this.#requests.run(request, () => this.#bus.run(principal.key, () => this.#node(req, res, parsedBody)));
  }

  /**
   * Bad params of a request the SDK would otherwise accept: its Mcp-Method header names the
   * body's method (a request whose headers disagree gets the SDK's 400 first, as the
   * specification orders).
   */
  #paramsProblem(req: IncomingMessage, body: unknown): { message: string; id: string | number } | undefined {
    if (!isPlainObject(body) || typeof body['method'] !== 'string' || req.headers['mcp-method'] !== body['method']) return undefined;
    const id = body['id'];
    if (typeof id !== 'string' && typeof id !== 'number') return undefined;
    const message = invalidParamsMessage(this.#schemas.get(body['method']), body as { method: string; params?: unknown });
    return message === undefined ? undefined : { message, id };
  }

  /** The SDK's factory: runs once per modern request, after the SDK checked its headers. */
  async #serverFor(ctx: McpRequestContext): Promise<Server> {
    const request = this.#requests.getStore();
    if (!request) throw new Error('a modern /mcp request outside its handling');
    const boundAgent = ctx.authInfo?.extra?.['boundAgent'];
    const { server, session, detach } = createUpstreamServer(this.#options.gateway, {
      era: 'modern',
      ...(typeof boundAgent === 'string' ? { boundAgent } : {}),
      ...(request.instanceScope !== undefined ? { instanceScope: request.instanceScope } : {}),
    });
    let detached = false;
    const once = (): void => {
      if (detached) return;
      detached = true;
      detach();
    };
    whenClosed(request, once);
    // The SDK closes the instance when the exchange ends, which may be before the response closes.
    server.onclose = once;
    try {
      // The Mcp-Param-* headers name arguments of the tool as this caller was offered it; checked
      // before the call counts, as the fixed routing headers are.
      const call = request.toolCall;
      const headers = ctx.requestInfo?.headers;
      if (call !== undefined && headers !== undefined) {
        const tool = (await offeredTools(this.#options.gateway, session)).find((t) => t.name === call.name);
        const problem = paramHeaderProblem(tool, call.args, headers);
        if (problem !== undefined) {
          request.refusal = {
            status: 400,
            body: { jsonrpc: '2.0', id: call.id, error: { code: HEADER_MISMATCH, message: `Bad Request: the request headers and body disagree: ${problem}` } },
          };
          throw new Error(problem);
        }
      }
      if (request.chargeCall) {
        try {
          await request.chargeCall();
        } catch (err) {
          if (err instanceof HttpError) request.refusal = err;
          throw err;
        }
      }
      if (request.listen) {
        // A listen request's instance only tells the SDK its capabilities: the listener session hears the changes.
        once();
        // Before the SDK subscribes the stream to the bus: the lists it will be told about are the ones shown now.
        whenClosed(request, await this.#listeners.open(request.principal, request.listen.filter, request.closed));
      }
    } catch (err) {
      once();
      throw err;
    }
    return server;
  }

  /** Ends every listen stream and in-flight modern exchange; idempotent. */
  async close(): Promise<void> {
    this.#listeners.closeAll();
    await this.#handler.close();
  }
}

function routingHeaders(req: IncomingMessage): { protocolVersionHeader?: string; mcpMethodHeader?: string; mcpNameHeader?: string } {
  const one = (name: string): string | undefined => {
    const value = req.headers[name];
    return Array.isArray(value) ? value.join(', ') : value;
  };
  const version = one('mcp-protocol-version');
  const method = one('mcp-method');
  const name = one('mcp-name');
  return {
    ...(version !== undefined ? { protocolVersionHeader: version } : {}),
    ...(method !== undefined ? { mcpMethodHeader: method } : {}),
    ...(name !== undefined ? { mcpNameHeader: name } : {}),
  };
}

/** Never the credential itself: the identity and the agent it binds. */
function authInfoOf(principal: Principal): AuthInfo {
  return {
    token: '',
    clientId: principal.key,
    scopes: [],
    extra: principal.boundAgent !== undefined ? { boundAgent: principal.boundAgent } : {},
  };
}

/**
 * Servers with isolation "session": the client's own key when it sends one, scoped to its
 * identity (another identity sending the same key gets another instance); else the agent.
 */
function scopeOf(principal: Principal, body: unknown): InstanceScope | undefined | 'invalid' {
  const meta = (body as { params?: { _meta?: Record<string, unknown> } } | undefined)?.params?._meta;
  const key = meta !== null && typeof meta === 'object' && Object.hasOwn(meta, ISOLATION_KEY_META) ? meta[ISOLATION_KEY_META] : undefined;
  if (key === undefined) return undefined;
  // Refused rather than ignored: falling back to the agent would share what the client meant to keep apart.
  if (typeof key !== 'string' || !ISOLATION_KEY.test(key)) return 'invalid';
  return { key: JSON.stringify(['mcp-key', principal.key, key]), label: `isolation key ${JSON.stringify(key)}`, owner: principal.key };
}

function listenFilter(body: unknown): { filter: ListenFilter | undefined } | undefined {
  const message = body as { method?: unknown; params?: { notifications?: unknown } } | undefined;
  if (message?.method !== 'subscriptions/listen') return undefined;
  const notifications = message.params?.notifications;
  return { filter: notifications !== null && typeof notifications === 'object' ? (notifications as ListenFilter) : undefined };
}

/** As sendError answers it; the limiter's RateLimit-* and Retry-After headers are already on `res`. */
function refusalResponse(err: HttpError | JsonRpcRefusal, res: ServerResponse): Response {
  const headers = new Headers({ 'Content-Type': 'application/json; charset=utf-8' });
  if (!(err instanceof HttpError)) return new Response(JSON.stringify(err.body), { status: err.status, headers });
  for (const [name, value] of Object.entries(err.headers)) headers.set(name, typeof value === 'string' ? value : value.join(', '));
  if (err.status === 429 && !headers.has('Retry-After') && !res.hasHeader('Retry-After')) headers.set('Retry-After', '5');
  return new Response(JSON.stringify({ error: err.message, code: err.code }), { status: err.status, headers });
}

function toolCallOf(body: unknown): ToolCallBody | undefined {
  if (!isPlainObject(body) || body['method'] !== 'tools/call' || !isPlainObject(body['params'])) return undefined;
  const id = body['id'];
  const name = body['params']['name'];
  if ((typeof id !== 'string' && typeof id !== 'number') || typeof name !== 'string') return undefined;
  return { id, name, args: body['params']['arguments'] };
}
