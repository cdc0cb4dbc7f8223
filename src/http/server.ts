// The HTTP mode's server: node:http or node:https, our router, and one request pipeline:
//
//   security headers -> (draining? 503) -> Host (403) -> route (404/405/OPTIONS)
//   -> Origin (403) -> authenticate (identity-provider tokens: asynchronously) -> rate limit
//   (per identity, per IP before auth; 429) -> 401/403 if authentication failed -> handler
//   (REST or /mcp; a tools/call on /mcp costs a unit of the `call` class on top of the
//   request's `default` unit; mcpFront.ts, loaded at the first /mcp request, sends 2026-07-28
//   requests to modernMcp.ts and the rest to the 2025 sessions of mcpSessions.ts)
//
// The server bounds the time a client may take to send its headers and its whole request,
// how long an idle keep-alive connection stays open, and how many connections are open.
//
// It owns the listening server, the MCP sessions and the in-flight count; close() drains:
// stop accepting, let in-flight requests finish (bounded), close MCP sessions, then every
// connection. The Gateway itself belongs to the caller (cli/serveHttp.ts).
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Gateway } from '../gateway/gateway.js';
import { listen } from '../listen.js';
import type { Authenticator, AuthOutcome, Principal } from './auth.js';
import type { HostPolicy } from './host.js';
import { HTTP_LIMIT_DEFAULTS, type HttpConnectionLimits, DEFAULT_DRAIN_TIMEOUT_MS } from './limits.js';
import { readMcpBody } from './mcpBody.js';
import { McpFront } from './mcpFront.js';
import type { OriginPolicy } from './origin.js';
import { InFlightRequests } from './inFlight.js';
import { HttpError, rawErrorResponse, securityHeaderList, sendError, sendJsonRpcError, moveHeaderList, writeJson } from './respond.js';
import { parseRequestTarget } from './requestTarget.js';
import { IncomingRestRequest, RestApi, type RestAnswer, type RestRequest } from './rest.js';
import { Router } from './router.js';

import type { RouteClass } from './rateLimitSpec.js';

export type { RouteClass };

/**
 * What the pipeline needs of a limiter; src/http/rateLimit.ts's createRateLimiter() result
 * fits it. check() counts one request of `identityKey`
 * ("shared", "agent:<id>", "anonymous", or "ip:<address>" when not authenticated).
 */
export interface RateVerdict {
  readonly allowed: boolean;
  readonly retryAfterSeconds?: number;
}

export interface RateLimitHook {
  check(routeClass: RouteClass, identityKey: string): Promise<RateVerdict>;
  /** RateLimit-* headers (and Retry-After when refused) for a decision check() returned. */
  headers(decision: RateVerdict): Record<string, string>;
}

/** GET /metrics (auth required) renders this; src/http/metrics.ts's createMetrics() result fits it. */
export interface MetricsHook {
  render(): Promise<string>;
  readonly contentType: string;
  /** Told the open MCP and REST session counts before each render. */
  setActiveSessions?(kind: 'mcp' | 'rest', count: number): void;
  /** Told of each 429. */
  onRateLimited?(routeClass: RouteClass): void;
}

export interface HttpGatewayOptions {
  readonly gateway: Gateway;
  readonly logger: Logger;
  readonly host: string;
  readonly port: number;
  readonly tls?: { readonly cert: Buffer | string; readonly key: Buffer | string };
  readonly authenticator: Authenticator;
  readonly origins: OriginPolicy;
  /** Which Host header values are served (DNS-rebinding defence); undefined: any. */
  readonly hosts?: HostPolicy;
  readonly maxBodyBytes: number;
  readonly rateLimiter?: RateLimitHook;
  readonly metrics?: MetricsHook;
  /** How long close() lets in-flight requests finish. Default 10 s. */
  readonly drainTimeoutMs?: number;
  readonly maxMcpSessions?: number;
  /** Open MCP sessions of one identity at most (429 beyond). Default: a quarter of maxMcpSessions. */
  readonly maxMcpSessionsPerIdentity?: number;
  /** An MCP session without requests for this long is closed. Default 1 hour. */
  readonly mcpSessionIdleTimeoutMs?: number;
  /** Connection limits and timeouts; each defaults to HTTP_LIMIT_DEFAULTS'. */
  readonly limits?: Partial<HttpConnectionLimits>;
}

export interface HttpGatewayHandle {
  /** e.g. http://127.0.0.1:8080 (the real port when 0 was asked). */
  readonly url: string;
  readonly port: number;
  readonly mcpSessionCount: () => number;
  readonly inFlight: () => number;
  /** Graceful and idempotent: see the file comment. */
  close(): Promise<void>;
  /** Drops every connection at once (forced exit). */
  destroyConnections(): void;
}

type Handler = (ctx: PipelineContext) => Promise<RestAnswer | undefined>;

interface RouteDef {
  readonly handler: Handler;
  /** Whether the route needs an authenticated caller. */
  readonly auth: boolean;
  /** Rate-limit class; null: not limited (/health, so health checks never fail on a limit). */
  readonly routeClass: RouteClass | null;
  /** A long-lived stream (GET /mcp): not waited for when draining. */
  readonly stream?: boolean;
}

interface PipelineContext {
  readonly req: IncomingMessage;
  readonly res: ServerResponse;
  readonly rest: RestRequest;
  readonly auth: AuthOutcome;
  /** The answer's headers so far (name, value, ...): the security headers, then the limiter's. */
  readonly head: string[];
}

/**
 * Counts one request of `key` in `routeClass`; adds the RateLimit-* headers to `out` (a
 * header list for writeJson, or the response itself when another writer answers); throws
 * 429 when refused.
 */
type Charge = (out: ServerResponse | string[], routeClass: RouteClass, key: string) => Promise<void>;

export async function startHttpGateway(options: HttpGatewayOptions): Promise<HttpGatewayHandle> {
  const { gateway, logger } = options;
  const tls = options.tls !== undefined;
  const rest = new RestApi(gateway);
  const mcp = new McpFront(
    {
      gateway,
      logger,
      maxBodyBytes: options.maxBodyBytes,
      ...(options.maxMcpSessions !== undefined ? { maxSessions: options.maxMcpSessions } : {}),
      ...(options.maxMcpSessionsPerIdentity !== undefined ? { maxSessionsPerIdentity: options.maxMcpSessionsPerIdentity } : {}),
      ...(options.mcpSessionIdleTimeoutMs !== undefined ? { idleTimeoutMs: options.mcpSessionIdleTimeoutMs } : {}),
    },
    { gateway, logger, maxBodyBytes: options.maxBodyBytes },
  );
  const limits: HttpConnectionLimits = { ...HTTP_LIMIT_DEFAULTS, ...options.limits };
  const charge = rateCharge(options);
  const requests = new InFlightRequests();
  const handle = requestPipeline(options, routes(options, rest, mcp, charge), charge, requests);
  const security = securityHeaderList({ tls: options.tls !== undefined });
  const server = createNodeServer(options, limits, (req, res) => {
    requests.track(req, res, () => {
      if (requests.draining) server.closeIdleConnections();
    });
    // Every answer carries the security headers, whoever writes it: they lead the list each writer takes.
    const head = security.slice();
    handle(req, res, head).catch((err: unknown) => answerFailure(err, req, res, logger, head));
  });
  await listen(server, options.port, options.host);
  server.on('error', (err) => logger.error({ err }, 'HTTP server error'));
  const address = server.address() as AddressInfo;
  const hostPart = address.family === 'IPv6' ? `[${address.address}]` : address.address;
  const url = `${tls ? 'https' : 'http'}://${hostPart}:${address.port}`;

  let closing: Promise<void> | undefined;
  return {
    url,
    port: address.port,
    mcpSessionCount: () => mcp.size,
    inFlight: () => requests.count,
    destroyConnections: () => server.closeAllConnections(),
    close: () => {
      closing ??= (async () => {
        const drained = requests.drain(options.drainTimeoutMs ?? DEFAULT_DRAIN_TIMEOUT_MS);
        const closed = new Promise<void>((resolve) => server.close(() => resolve()));
        server.closeIdleConnections();
        if (requests.count > 0) {
          logger.info({ in_flight: requests.count }, 'waiting for in-flight requests');
          await drained;
          if (requests.count > 0) logger.warn({ in_flight: requests.count }, 'drain time is up; closing the remaining requests');
        }
        await mcp.close();
        rest.sessions.clear();
        server.closeAllConnections();
        await closed;
      })();
      return closing;
    },
  };
}

function rateCharge(options: HttpGatewayOptions): Charge {
  return async (out, routeClass, key) => {
    if (!options.rateLimiter) return;
    const decision = await options.rateLimiter.check(routeClass, key);
    const headers = options.rateLimiter.headers(decision);
    for (const name in headers) {
      if (Array.isArray(out)) out.push(name, headers[name]!);
      else out.setHeader(name, headers[name]!);
    }
    if (!decision.allowed) {
      options.metrics?.onRateLimited?.(routeClass);
      throw new HttpError(429, 'RATE_LIMITED', `Rate limit exceeded; retry in ${decision.retryAfterSeconds ?? 1} s`);
    }
  };
}

function routes(options: HttpGatewayOptions, rest: RestApi, mcp: McpFront, charge: Charge): Router<RouteDef> {
  const mcpRoute: RouteDef = {
    auth: true,
    routeClass: 'default',
    handler: async ({ req, res, rest: r, head }) => {
      // The SDK writes these answers: what the pipeline gathered goes on the response first.
      moveHeaderList(res, head);
      let parsed: unknown;
      let isCall = false;
      if (req.method === 'POST') {
        const body = await readMcpBody(req, options.maxBodyBytes);
        if (!body.ok) {
          sendJsonRpcError(res, body.status, body.rpcCode, body.message);
          return undefined;
        }
        parsed = body.value;
        isCall = body.method === 'tools/call';
      }
      // A tool call costs what it costs on REST, whichever way it arrives.
      await mcp.handle(req, res, r.principal, parsed, isCall ? () => charge(res, 'call', r.principal.key) : undefined);
      return undefined;
    },
  };
  const metadata: RouteDef = { auth: false, routeClass: null, handler: async () => options.authenticator.protectedResourceMetadata(options.gateway.oauth()) };
  const router = new Router<RouteDef>();
  for (const path of options.authenticator.metadataPaths()) router.add('GET', path, metadata);
  return router
    .add('GET', '/health', { auth: false, routeClass: null, handler: async ({ auth }) => rest.health(auth.ok ? auth.principal : undefined) })
    .add('GET', '/services', { auth: true, routeClass: 'default', handler: ({ rest: r }) => rest.services(r) })
    .add('GET', '/services/:name/tools', { auth: true, routeClass: 'tools', handler: ({ rest: r }) => rest.tools(r) })
    .add('POST', '/services/:name/call', { auth: true, routeClass: 'call', handler: ({ rest: r }) => rest.call(r) })
    .add('GET', '/sessions', { auth: true, routeClass: 'default', handler: async ({ rest: r }) => rest.listSessions(r) })
    .add('DELETE', '/sessions/:id', { auth: true, routeClass: 'session_delete', handler: async ({ rest: r }) => rest.deleteSession(r) })
    .add('GET', '/metrics', {
      auth: true,
      routeClass: 'default',
      handler: async ({ res, head }) => {
        if (!options.metrics) throw new HttpError(404, 'NOT_FOUND', 'Metrics are not enabled on this gateway');
        options.metrics.setActiveSessions?.('mcp', mcp.size);
        options.metrics.setActiveSessions?.('rest', rest.sessions.size);
        const text = await options.metrics.render();
        moveHeaderList(res, head);
        res.statusCode = 200;
        res.setHeader('Content-Type', options.metrics.contentType);
        res.end(text);
        return undefined;
      },
    })
    .add('POST', '/mcp', mcpRoute)
    .add('GET', '/mcp', { ...mcpRoute, stream: true })
    .add('DELETE', '/mcp', mcpRoute);
}

/** The pipeline of the file comment, up to the handler's answer; a refusal is thrown as an HttpError. */
function requestPipeline(
  options: HttpGatewayOptions,
  router: Router<RouteDef>,
  charge: Charge,
  requests: InFlightRequests,
): (req: IncomingMessage, res: ServerResponse, head: string[]) => Promise<void> {
  const { gateway, logger, authenticator, origins } = options;
  return async (req, res, head) => {
    if (requests.draining) {
      head.push('Connection', 'close');
      throw new HttpError(503, 'SHUTTING_DOWN', 'The gateway is shutting down', { 'Retry-After': '5' });
    }
    if (options.hosts && !options.hosts.allows(req.headers.host)) {
      logger.warn({ event: 'host_refused', ip: req.socket.remoteAddress, method: req.method }, 'request for a foreign Host refused');
      throw new HttpError(403, 'FORBIDDEN_HOST', 'Host not allowed');
    }
    // Only origin-form targets: an absolute-form one (`GET http://other/...`) names its own
    // authority, which the Host check above did not see.
    if (!(req.url ?? '/').startsWith('/')) throw new HttpError(400, 'INVALID_ARGUMENT', 'Malformed request target: give a path');
    const url = parseRequestTarget(req.url ?? '/');
    if (url === undefined) throw new HttpError(400, 'INVALID_ARGUMENT', 'Malformed request target');
    const match = router.match(req.method ?? 'GET', url.pathname);
    if ('options' in match) {
      moveHeaderList(res, head);
      res.statusCode = 204;
      res.setHeader('Allow', match.allow);
      res.end();
      return;
    }
    const route = match.handler;
    if (route.stream && req.method === 'GET') requests.untrack(req);
    const origin = req.headers.origin;
    if (!origins.allows(origin)) {
      logger.warn({ event: 'origin_refused', ip: req.socket.remoteAddress, method: req.method, path: match.pattern }, 'request from a foreign Origin refused');
      throw new HttpError(403, 'FORBIDDEN_ORIGIN', 'Origin not allowed');
    }
    const auth = await authenticator.authenticateRequest(req.headers.authorization, gateway.credentials(), gateway.oauth());
    // Counted per authenticated identity; per IP when authentication failed.
    if (route.routeClass) await charge(head, route.routeClass, auth.ok ? auth.principal.key : `ip:${req.socket.remoteAddress ?? 'unknown'}`);
    if (route.auth && !auth.ok) {
      logger.warn({ event: 'auth_failed', ip: req.socket.remoteAddress, method: req.method, path: match.pattern, reason: auth.reason }, 'authentication failed');
      throw authenticator.refusal(auth, gateway.oauth());
    }
    const controller = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) controller.abort();
    });
    const principal: Principal = auth.ok ? auth.principal : ANONYMOUS;
    const rest = new IncomingRestRequest(req, url, principal, match.params, controller.signal, options.maxBodyBytes);
    const answer = await route.handler({ req, res, auth, rest, head });
    if (answer) writeJson(res, answer.status, answer.body, head);
  };
}

const ANONYMOUS: Principal = Object.freeze({ kind: 'anonymous', key: 'anonymous' });

/** What a request that threw is answered, if anyone is still there to hear it. */
function answerFailure(err: unknown, req: IncomingMessage, res: ServerResponse, logger: Logger, head: readonly string[]): void {
  if (err instanceof HttpError) {
    sendError(res, err, head);
    return;
  }
  // A stack overflow on a request is a body too deep for some code on its path: the
  // client's fault, answered as such (bodies are depth-checked; this is the backstop).
  if (err instanceof RangeError && err.message.includes('call stack') && !res.headersSent && !res.destroyed) {
    logger.warn({ err: err.message, method: req.method }, 'request refused: too deeply nested to process');
    sendError(res, new HttpError(400, 'INVALID_ARGUMENT', 'The request is nested too deeply to process'), head);
    return;
  }
  if (res.destroyed || res.writableEnded || req.socket.destroyed || req.socket.writableEnded) {
    // The client went away (a cancelled call ends this way): nobody to answer.
    logger.debug({ err, method: req.method }, 'request ended after its client left');
    return;
  }
  logger.error({ err, method: req.method }, 'unexpected error in an HTTP request');
  if (!res.headersSent) sendError(res, new HttpError(500, 'INTERNAL_ERROR', 'Internal gateway error'), head);
  else res.end();
}

/** node:http or node:https with the connection limits, and an answer for requests Node cannot parse. */
function createNodeServer(options: HttpGatewayOptions, limits: HttpConnectionLimits, listener: (req: IncomingMessage, res: ServerResponse) => void): Server {
  const { logger } = options;
  // Answers may take as long as the tool call does: only receiving the request is timed.
  const serverOptions = {
    headersTimeout: limits.headersTimeoutMs,
    requestTimeout: limits.requestTimeoutMs,
    keepAliveTimeout: limits.keepAliveTimeoutMs,
    // How often Node looks for requests past those timeouts (its default, 30 s, would let a short timeout run long).
    connectionsCheckingInterval: Math.max(100, Math.min(30_000, Math.floor(Math.min(limits.headersTimeoutMs, limits.requestTimeoutMs) / 4))),
  };
  const server: Server = options.tls
    ? createHttpsServer({ ...serverOptions, cert: options.tls.cert, key: options.tls.key }, listener)
    : createHttpServer(serverOptions, listener);
  server.maxConnections = limits.maxConnections;
  server.on('drop', (data?: { remoteAddress?: string }) => {
    logger.warn({ event: 'connection_refused', ip: data?.remoteAddress, max_connections: limits.maxConnections }, 'connection refused: too many open connections');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    // Only a socket nothing was written to can still carry an answer.
    if (socket.writable && socket.bytesWritten === 0 && err.code !== 'ECONNRESET') {
      const [status, code, message] =
        err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? (['408 Request Timeout', 'REQUEST_TIMEOUT', 'Request not received in time'] as const)
          : err.code === 'HPE_HEADER_OVERFLOW'
            ? (['431 Request Header Fields Too Large', 'HEADERS_TOO_LARGE', 'Request headers too large'] as const)
            : (['400 Bad Request', 'INVALID_ARGUMENT', 'Malformed HTTP request'] as const);
      socket.end(rawErrorResponse(status, code, message, { tls: options.tls !== undefined }));
    } else {
      socket.destroy();
    }
  });
  return server;
}
