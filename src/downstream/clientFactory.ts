// How a connection gets its SDK client and transport: the transport from a TransportFactory
// (by default a process group for stdio, the SDK's HTTP transports otherwise; tests hand in
// an in-memory pair), the client with the gateway's capabilities and handlers wired to the
// connection.

import type { Logger } from 'pino';
import type { Client } from '@modelcontextprotocol/sdk/client/index.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ErrorCode as McpErrorCode,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
  type LoggingMessageNotification,
  type Result,
} from '@modelcontextprotocol/sdk/types.js';
import type { ServerSpec } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { protocolError } from '../protocolError.js';
import { isPlainObject } from '../values.js';
import { fetchWithSharedSignal, httpTarget } from './httpTarget.js';
import { ProcessGroupTransport } from './processGroupTransport.js';
import type { GroupRegistry } from './reaper.js';
import { prepareLaunch } from './sandbox.js';
import { loadedClientModule, loadedHttpModules } from './sdkModules.js';

/** A request a downstream server sends to its client (sampling, elicitation, roots/list). */
export interface ServerRequest {
  readonly method: string;
  readonly params?: Record<string, unknown> | undefined;
}

/**
 * Decides what to do with a server-to-client request: pass it to an upstream client that
 * declared the capability, or throw an McpError. `extra.signal` fires when the downstream
 * cancels the request or the connection goes away.
 */
export type ServerRequestHandler = (server: string, request: ServerRequest, extra: { signal: AbortSignal }) => Promise<unknown>;

/**
 * Makes the transport of one connection attempt (called once per start and restart, after
 * the SDK client module is loaded). A GatewayError it throws is the start's failure message.
 */
export type TransportFactory = (spec: ServerSpec) => Transport;

export interface TransportSettings {
  readonly logger: Logger;
  readonly parentEnv: Readonly<Record<string, string | undefined>>;
  readonly sandboxRoot: string;
  readonly reaper?: GroupRegistry | undefined;
  readonly maxResultBytes?: number | undefined;
}

/** The gateway's own transports: a process group for stdio, the SDK's clients for http and sse. */
export function defaultTransportFactory(settings: TransportSettings): TransportFactory {
  return (spec) => {
    if (spec.transport === 'stdio') {
      const launch = prepareLaunch(spec, { parentEnv: settings.parentEnv, sandboxRoot: settings.sandboxRoot });
      return new ProcessGroupTransport({
        serverName: spec.name,
        command: launch.command,
        args: launch.args,
        env: launch.env,
        cwd: launch.cwd,
        folder: launch.folder,
        logger: settings.logger,
        ...(settings.maxResultBytes !== undefined ? { maxMessageBytes: settings.maxResultBytes } : {}),
        reaper: settings.reaper,
      });
    }
    if (!spec.url) throw new GatewayError('SERVER_UNAVAILABLE', `Server '${spec.name}' has no url`, { server: spec.name });
    const { url, headers } = httpTarget(spec.url, spec.headers);
    // In SDK 1.32 requestInit.headers also go on the SSE GET, so one setting covers both.
    const requestInit: RequestInit = { headers };
    const http = loadedHttpModules()!;
    return spec.transport === 'sse'
      ? new http.sse.SSEClientTransport(url, { requestInit, fetch: fetchWithSharedSignal })
      : new http.streamable.StreamableHTTPClientTransport(url, { requestInit, fetch: fetchWithSharedSignal });
  };
}

/** What a client reports to its connection. */
export interface ClientHooks {
  readonly server: string;
  readonly logger: Logger;
  readonly onServerRequest: ServerRequestHandler | undefined;
  /** False once the client was replaced or closed: its events are ignored from then on. */
  readonly isCurrent: () => boolean;
  readonly onToolsChanged: () => void;
  readonly onLog: (params: LoggingMessageNotification['params']) => void;
  readonly onNotification: (notification: { method: string; params?: unknown }) => void;
  /** The transport closed; called before the SDK rejects the pending requests. */
  readonly onClose: () => void;
}

/** A new SDK client (the client module must be loaded). */
export function createClient(clientInfo: { name: string; version: string }, hooks: ClientHooks): Client {
  const client = new (loadedClientModule()!.Client)(
    { name: clientInfo.name, version: clientInfo.version },
    {
      // Declared so downstream servers offer their sampling/elicitation/roots tools; the
      // gateway decides per request whether an upstream client can actually answer.
      capabilities: {
        sampling: {},
        elicitation: { form: {}, url: {} },
        roots: { listChanged: true },
      },
    },
  );
  const forward =
    (method: string) =>
    async (request: { method: string; params?: unknown }, extra: { signal: AbortSignal }): Promise<Result> => {
      const handler = hooks.onServerRequest;
      if (!handler) throw protocolError(McpErrorCode.InvalidRequest, `${method} is not supported by the gateway client`);
      const params = isPlainObject(request.params) ? request.params : undefined;
      // The SDK validates sampling and elicitation results before they go downstream.
      return (await handler(hooks.server, { method: request.method, params }, { signal: extra.signal })) as Result;
    };
  client.setRequestHandler(CreateMessageRequestSchema, forward('sampling/createMessage'));
  client.setRequestHandler(ElicitRequestSchema, forward('elicitation/create'));
  client.setRequestHandler(ListRootsRequestSchema, forward('roots/list'));

  client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
    if (!hooks.isCurrent()) return;
    hooks.logger.debug('downstream tool list changed');
    hooks.onToolsChanged();
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (notification) => {
    if (hooks.isCurrent()) hooks.onLog(notification.params);
  });
  client.fallbackNotificationHandler = async (notification) => {
    if (hooks.isCurrent()) hooks.onNotification({ method: notification.method, params: notification.params });
  };
  client.onerror = (err) => {
    hooks.logger.debug({ err: err.message }, 'downstream protocol error');
  };
  client.onclose = () => {
    if (hooks.isCurrent()) hooks.onClose();
  };
  return client;
}
