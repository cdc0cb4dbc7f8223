// What a DownstreamConnection is given (the pool and the instance registry pass the same to
// each of theirs).

import type { Logger } from 'pino';
import type { LoggingLevel, LoggingMessageNotification } from '@modelcontextprotocol/client';
import type { ServerRequestHandler, TransportFactory } from './clientFactory.js';
import type { Clock } from './clock.js';
import type { DownstreamOAuth } from './oauthProvider.js';
import type { GroupRegistry } from './reaper.js';
import type { BackoffPolicy } from './supervision.js';
import type { ToolVetter } from './toolList.js';

export type ConnectionState = 'idle' | 'connecting' | 'ready' | 'failed' | 'closed';

export interface ConnectionOptions {
  readonly logger: Logger;
  /** Restart backoff; fields left out take DEFAULT_BACKOFF's values. */
  readonly backoff?: Partial<BackoffPolicy>;
  readonly clientInfo: { name: string; version: string };
  /** Bound on start + initialize. Default 30 000. */
  readonly connectTimeoutMs?: number;
  /** Bound on one tools/list page. Default 30 000. */
  readonly listTimeoutMs?: number;
  readonly onServerRequest?: ServerRequestHandler;
  /** Every tool list fetched passes through it before it is cached or seen (the gateway's pins). */
  readonly vetTools?: ToolVetter;
  /** The downstream said its tool list changed; the cache is already dropped. */
  readonly onToolsChanged?: (server: string) => void;
  /** The connection became ready (its first start or a restart); what the server offers may differ. */
  readonly onReady?: (server: string) => void;
  /** Every other downstream notification (resource updates, ...). Progress is routed per call, logging to onLog. */
  readonly onNotification?: (server: string, notification: { method: string; params?: unknown }) => void;
  /**
   * A notifications/message from the server (already checked against the SDK's schema).
   * `routeKey`: set by InstanceRegistry for an isolated instance (its requests' route key).
   */
  readonly onLog?: (server: string, params: LoggingMessageNotification['params'], routeKey?: string) => void;
  /**
   * The level the gateway wants servers that declare `logging` to log at, read when one
   * becomes ready and on syncLogLevel(); undefined: no client asked, the server's default stays.
   */
  readonly logLevel?: () => LoggingLevel | undefined;
  /** The environment stdio children inherit (minus secrets), normally process.env. */
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
  /** Absolute folder under which each sandboxed process gets its own folder. */
  readonly sandboxRoot: string;
  /** Ends the stdio process groups if the gateway dies without closing them. */
  readonly reaper?: GroupRegistry;
  /**
   * An isolated instance holds state that a restart would silently lose: once it has been up
   * and broke, it is never started again (calls fail with SERVER_UNAVAILABLE).
   */
  readonly singleLife?: boolean;
  /** Longest message line a stdio server may write; a longer one is RESULT_TOO_LARGE. Default 64 MiB. */
  readonly maxResultBytes?: number;
  /** OAuth tokens of hosted servers (`agent-mcp-gateway login`). Default: none, only static headers. */
  readonly oauth?: DownstreamOAuth;
  /** Makes each attempt's transport. Default: defaultTransportFactory of these options. */
  readonly transportFactory?: TransportFactory;
  /** Time for supervision, backoff, bounds and the instance sweep. Default realClock. */
  readonly clock?: Clock;
}
