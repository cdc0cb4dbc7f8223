import type { LoggingLevel, LoggingMessageNotification } from '@modelcontextprotocol/server';
import { LoggingLevelSchema } from '@modelcontextprotocol/core';
import type { Logger } from 'pino';
import type { ServerRequestRouter, UpstreamSession } from './serverRequests.js';

// Downstream notifications/message to the clients that asked for logs with logging/setLevel.
//
// Who gets a message from server S:
//   - while calls are in flight on S, their callers only, each on its call's own stream
//     (relatedRequestId, as progress; over HTTP on the POST the client is reading): the message
//     most likely concerns those calls, and may say what they asked. A server's messages carry
//     no request id, so with concurrent calls on one shared server each caller hears them all;
//   - otherwise every client whose agent may use S (the policy in force), outside any call
//     (HTTP: on the session's GET stream, if it opened one);
//   - an isolated instance's message goes to callers with a call in flight on that instance
//     only: it runs for one agent or session, and no one else may see what it says.
// Each client gets only messages at or above the level it set; a client that never called
// logging/setLevel gets none (a gateway speaks for many servers: logs are opt-in).

type LogParams = LoggingMessageNotification['params'];

const SEVERITY: ReadonlyMap<string, number> = new Map(LoggingLevelSchema.options.map((level, i) => [level, i]));
/** Longest relayed `logger` part a downstream may set (the server name is put before it). */
const MAX_LOGGER_CHARS = 128;
/** Longest relayed `data`, as JSON; larger data is cut and sent as a string. */
export const MAX_LOG_DATA_CHARS = 16_384;

export interface LogRelayHost {
  readonly router: ServerRequestRouter;
  readonly logger: Logger;
  /** Whether the session's agent may use `server` under the policy in force. */
  mayUse(session: UpstreamSession, server: string): boolean;
  /** wanted() changed: downstream servers should be told the new level. */
  levelChanged(): void;
}

export class LogRelay {
  readonly #host: LogRelayHost;
  /** Sessions that called logging/setLevel. */
  readonly #listening = new Set<UpstreamSession>();
  #wanted: LoggingLevel | undefined;

  constructor(host: LogRelayHost) {
    this.#host = host;
  }

  /** The most verbose level any connected client wants; undefined while none asked. */
  wanted(): LoggingLevel | undefined {
    return this.#wanted;
  }

  setLevel(session: UpstreamSession, level: LoggingLevel): void {
    session.logLevel = level;
    this.#listening.add(session);
    this.#recompute();
  }

  forget(session: UpstreamSession): void {
    if (this.#listening.delete(session)) this.#recompute();
  }

  /** A downstream's log message; `routeKey` is set when it comes from an isolated instance. */
  relay(server: string, params: LogParams, routeKey?: string): void {
    const severity = SEVERITY.get(params.level);
    if (severity === undefined || this.#listening.size === 0) return;
    let shaped: LogParams | undefined;
    const message = (): LogParams => (shaped ??= shape(server, params));
    const reached = new Set<UpstreamSession>();
    const calls = this.#host.router.callsOn(routeKey ?? server);
    // Newest first: a client with several calls on the server hears it once, on its latest.
    for (let i = calls.length - 1; i >= 0; i--) {
      const peer = calls[i]!.peer;
      if (peer === undefined || reached.has(peer.session)) continue;
      reached.add(peer.session);
      if (!admits(peer.session, severity)) continue;
      peer.extra.mcpReq
        .notify({ method: 'notifications/message', params: message() })
        .catch((err: unknown) => this.#host.logger.debug({ err, server }, 'log relay to a caller failed'));
    }
    if (routeKey !== undefined || calls.length > 0) return;
    for (const session of this.#listening) {
      if (!admits(session, severity) || !session.notifyLog) continue;
      if (!this.#host.mayUse(session, server)) continue;
      session.notifyLog(message()).catch((err: unknown) => this.#host.logger.debug({ err, server, session: session.id }, 'log relay failed'));
    }
  }

  #recompute(): void {
    let least: number | undefined;
    for (const session of this.#listening) {
      const s = session.logLevel === undefined ? undefined : SEVERITY.get(session.logLevel);
      if (s !== undefined && (least === undefined || s < least)) least = s;
    }
    const wanted = least === undefined ? undefined : LoggingLevelSchema.options[least];
    if (wanted === this.#wanted) return;
    this.#wanted = wanted;
    // Nobody listening: servers keep the last level they were told; the relay drops everything.
    if (wanted !== undefined) this.#host.levelChanged();
  }
}

function admits(session: UpstreamSession, severity: number): boolean {
  const level = session.logLevel;
  return level !== undefined && severity >= (SEVERITY.get(level) ?? Infinity);
}

/** What the client receives: the level, `logger` naming the server first, and bounded data. */
export function shape(server: string, params: LogParams): LogParams {
  const logger =
    typeof params.logger === 'string' && params.logger !== ''
      ? `${server}/${params.logger.length > MAX_LOGGER_CHARS ? `${params.logger.slice(0, MAX_LOGGER_CHARS)}…` : params.logger}`
      : server;
  return { level: params.level, logger, data: boundData(params.data) };
}

function boundData(data: unknown): unknown {
  let json: string | undefined;
  try {
    json = JSON.stringify(data);
  } catch {
    // Nesting too deep for the stack: nothing sensible to show.
    return '[log data not serializable]';
  }
  if (json === undefined || json.length <= MAX_LOG_DATA_CHARS) return data;
  return `${json.slice(0, MAX_LOG_DATA_CHARS)}… [clipped: ${json.length} characters]`;
}
