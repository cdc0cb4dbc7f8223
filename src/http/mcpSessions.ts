// /mcp for 2025-era clients: MCP Streamable HTTP through the SDK's transport, one SDK Server
// (our createUpstreamServer) per MCP session, keyed by Mcp-Session-Id. 2026-07-28 requests
// have no session: modernMcp.ts serves them.
//
// A session belongs to the identity that initialized it: a request with another identity
// (or a per-agent token now mapped to another agent after a reload) gets 404, as an
// unknown session does, and must initialize its own. A session authenticated with a
// per-agent credential is bound to that agent for its whole life.
//
// Limits: open sessions in all (503 beyond), and per identity (429 beyond, so one token
// cannot take every slot); a session idle past the idle timeout is closed.
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { NodeStreamableHTTPServerTransport } from '@modelcontextprotocol/node';
import type { Server } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { Gateway } from '../gateway/gateway.js';
import { createUpstreamServer } from '../gateway/upstreamServer.js';
import { defaultPerIdentityCap } from '../config/sessionSettings.js';
import type { Principal } from './auth.js';
import { DEFAULT_MAX_MCP_SESSIONS, DEFAULT_MCP_IDLE_TIMEOUT_MS } from './limits.js';
import { HttpError } from './respond.js';

export interface McpSessionsOptions {
  readonly gateway: Gateway;
  readonly logger: Logger;
  readonly maxBodyBytes: number;
  /** Open sessions at most; an initialize beyond it gets 503. Default 1,000. */
  readonly maxSessions?: number;
  /** Open sessions of one identity (Principal.key) at most; its initialize beyond it gets 429. Default: a quarter of maxSessions. */
  readonly maxSessionsPerIdentity?: number;
  /** A session without any request for this long (and no open stream) is closed. Default 1 hour. */
  readonly idleTimeoutMs?: number;
}

interface Entry {
  readonly id: string;
  readonly principalKey: string;
  readonly transport: NodeStreamableHTTPServerTransport;
  readonly server: Server;
  readonly close: () => Promise<void>;
  lastUsed: number;
  /** Requests of this session being handled now (an open GET stream counts). */
  active: number;
}

export class McpSessions {
  readonly #options: McpSessionsOptions;
  readonly #sessions = new Map<string, Entry>();
  /** Sessions created whose initialize is being answered (counted against the limit). */
  #pending = 0;
  /** Open and pending sessions per identity. */
  readonly #perIdentity = new Map<string, number>();
  readonly #maxSessions: number;
  readonly #maxPerIdentity: number;
  #closed = false;
  readonly #sweeper: NodeJS.Timeout;

  constructor(options: McpSessionsOptions) {
    this.#options = options;
    this.#maxSessions = options.maxSessions ?? DEFAULT_MAX_MCP_SESSIONS;
    this.#maxPerIdentity = options.maxSessionsPerIdentity ?? defaultPerIdentityCap(this.#maxSessions);
    const idle = options.idleTimeoutMs ?? DEFAULT_MCP_IDLE_TIMEOUT_MS;
    this.#sweeper = setInterval(() => this.#sweep(idle), Math.min(idle, 60_000));
    this.#sweeper.unref();
  }

  get size(): number {
    return this.#sessions.size;
  }

  /** `parsedBody`: a POST's JSON body, already read and checked by the caller. */
  async handle(req: IncomingMessage, res: ServerResponse, principal: Principal, parsedBody?: unknown): Promise<void> {
    if (this.#closed) throw new HttpError(503, 'SHUTTING_DOWN', 'The gateway is shutting down');
    const header = req.headers['mcp-session-id'];
    const sid = Array.isArray(header) ? header[0] : header;
    if (sid !== undefined) {
      const entry = this.#sessions.get(sid);
      if (!entry || entry.principalKey !== principal.key) {
        throw new HttpError(404, 'SESSION_NOT_FOUND', 'Unknown or expired MCP session: initialize a new one');
      }
      entry.lastUsed = Date.now();
      entry.active++;
      res.once('close', () => {
        entry.active--;
        entry.lastUsed = Date.now();
      });
      await entry.transport.handleRequest(req, res, parsedBody);
      return;
    }
    if (req.method !== 'POST') {
      throw new HttpError(400, 'INVALID_ARGUMENT', "Missing 'Mcp-Session-Id' header: initialize a session with POST /mcp first");
    }
    const mine = this.#perIdentity.get(principal.key) ?? 0;
    if (mine >= this.#maxPerIdentity) {
      this.#options.logger.warn({ event: 'mcp_session_cap', identity: principal.key, open: mine }, 'MCP session refused: identity at its cap');
      throw new HttpError(
        429,
        'TOO_MANY_SESSIONS_FOR_IDENTITY',
        `This identity already has ${mine} open MCP sessions, its limit; close one (DELETE /mcp) or retry later`,
        { 'Retry-After': '5' },
      );
    }
    if (this.#sessions.size + this.#pending >= this.#maxSessions) {
      throw new HttpError(503, 'TOO_MANY_SESSIONS', 'Too many open MCP sessions; close one (DELETE /mcp) or retry later', { 'Retry-After': '5' });
    }
    await this.#initialize(req, res, principal, parsedBody);
  }

  #count(identity: string, delta: number): void {
    const n = (this.#perIdentity.get(identity) ?? 0) + delta;
    if (n <= 0) this.#perIdentity.delete(identity);
    else this.#perIdentity.set(identity, n);
  }

  async #initialize(req: IncomingMessage, res: ServerResponse, principal: Principal, parsedBody: unknown): Promise<void> {
    const id = randomUUID();
    // Servers with isolation "session" run one instance per MCP session, closed with it.
    const instanceScope = { key: JSON.stringify(['mcp', id]), label: `MCP session ${id}`, owner: principal.key };
    const { server, detach, connect } = createUpstreamServer(this.#options.gateway, {
      era: 'legacy',
      id,
      auditSessionId: id,
      instanceScope,
      ...(principal.boundAgent !== undefined ? { boundAgent: principal.boundAgent } : {}),
    });
    let entry: Entry | undefined;
    let closing: Promise<void> | undefined;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        detach();
        if (this.#sessions.get(id) === entry && entry) {
          this.#sessions.delete(id);
          this.#count(principal.key, -1);
        }
        await server.close().catch(() => undefined);
        await this.#options.gateway.closeScope(instanceScope.key);
      })();
      return closing;
    };
    const transport = new NodeStreamableHTTPServerTransport({
      sessionIdGenerator: () => id,
      maxRequestBodySize: this.#options.maxBodyBytes,
      onsessioninitialized: () => {
        // An initialize still running when shutdown listed the sessions: never kept, so nothing outlives closeAll().
        if (this.#closed) return;
        entry = { id, principalKey: principal.key, transport, server, close, lastUsed: Date.now(), active: 0 };
        this.#sessions.set(id, entry);
        this.#count(principal.key, 1);
        this.#options.logger.info({ mcp_session: id, identity: principal.key }, 'MCP session opened');
      },
    });
    // Set before connect (Protocol.connect chains it): DELETE, a closed transport or shutdown.
    transport.onclose = () => {
      if (entry) this.#options.logger.info({ mcp_session: id }, 'MCP session closed');
      void close();
    };
    this.#pending++;
    this.#count(principal.key, 1);
    try {
      await connect(transport);
      await transport.handleRequest(req, res, parsedBody);
    } finally {
      this.#pending--;
      this.#count(principal.key, -1);
      // Not an initialize request (the SDK answered 400), or it failed or threw: nothing to keep.
      if (!this.#sessions.has(id)) await close();
    }
  }

  #sweep(idleMs: number): void {
    const now = Date.now();
    for (const entry of this.#sessions.values()) {
      if (entry.active === 0 && now - entry.lastUsed > idleMs) {
        this.#options.logger.info({ mcp_session: entry.id }, 'MCP session idle too long; closing it');
        void entry.close();
      }
    }
  }

  /** Closes every session (their open streams end). Idempotent. */
  async closeAll(): Promise<void> {
    this.#closed = true;
    clearInterval(this.#sweeper);
    await Promise.all([...this.#sessions.values()].map((e) => e.close()));
  }
}
