// /mcp behind one door, loaded at its first request: 2026-07-28 requests go to the SDK's
// stateless handler (modernMcp.ts), the rest to the 2025 sessions (mcpSessions.ts). The SDK's
// Node HTTP transports and the web framework under them are about 8 MB of a process's
// memory, which a gateway only ever asked REST (the SignalWire drop-in) never needs.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Principal } from './auth.js';
import type { McpSessions, McpSessionsOptions } from './mcpSessions.js';
import type { ModernMcp, ModernMcpOptions } from './modernMcp.js';
import { HttpError } from './respond.js';

interface Loaded {
  readonly sessions: McpSessions;
  readonly modern: ModernMcp;
}

export class McpFront {
  readonly #sessionsOptions: McpSessionsOptions;
  readonly #modernOptions: ModernMcpOptions;
  #loading: Promise<Loaded> | undefined;
  #sessions: McpSessions | undefined;
  #closed = false;

  constructor(sessionsOptions: McpSessionsOptions, modernOptions: ModernMcpOptions) {
    this.#sessionsOptions = sessionsOptions;
    this.#modernOptions = modernOptions;
  }

  /** Open 2025 sessions. */
  get size(): number {
    return this.#sessions?.size ?? 0;
  }

  /**
   * `parsedBody`: a POST's JSON body, already read. `chargeCall` counts a tools/call against
   * the rate limit; a modern one only once the SDK found its headers agree with its body.
   */
  async handle(req: IncomingMessage, res: ServerResponse, principal: Principal, parsedBody: unknown, chargeCall?: () => Promise<void>): Promise<void> {
    if (this.#closed && this.#loading === undefined) throw new HttpError(503, 'SHUTTING_DOWN', 'The gateway is shutting down');
    const { sessions, modern } = await this.#load();
    if (modern.claims(req, parsedBody)) {
      await modern.handle(req, res, principal, parsedBody, chargeCall);
      return;
    }
    await chargeCall?.();
    await sessions.handle(req, res, principal, parsedBody);
  }

  /** Closes every session and stream; idempotent. */
  async close(): Promise<void> {
    this.#closed = true;
    if (this.#loading === undefined) return;
    const { sessions, modern } = await this.#loading;
    await Promise.all([sessions.closeAll(), modern.close()]);
  }

  #load(): Promise<Loaded> {
    this.#loading ??= Promise.all([import('./mcpSessions.js'), import('./modernMcp.js')]).then(([s, m]) => {
      const sessions = new s.McpSessions(this.#sessionsOptions);
      this.#sessions = sessions;
      return { sessions, modern: new m.ModernMcp(this.#modernOptions) };
    });
    return this.#loading;
  }
}
