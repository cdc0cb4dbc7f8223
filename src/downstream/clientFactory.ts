// How a connection gets its SDK client and transport: the transport from a TransportFactory
// (by default a process group for stdio, the SDK's HTTP transports otherwise; tests hand in
// an in-memory pair), the client with the gateway's capabilities and handlers wired to the
// connection.

import type { Logger } from 'pino';
import {
  SSEClientTransport,
  StreamableHTTPClientTransport,
  type Transport,
  type LoggingMessageNotification,
  type Result,
  type CreateMessageResult,
  type ElicitResult,
  type ListRootsResult,
  type VersionNegotiationOptions,
} from '@modelcontextprotocol/client';
import type { ServerSpec } from '../config/types.js';
import { GatewayError } from '../errors.js';
import { protocolError } from '../protocolError.js';
import { isPlainObject } from '../values.js';
import { stripEnvelope } from './envelope.js';
import { fetchWithSharedSignal, httpTarget } from './httpTarget.js';
import type { DownstreamOAuth } from './oauthProvider.js';
import { ProcessGroupTransport } from './processGroupTransport.js';
import type { GroupRegistry } from './reaper.js';
import { prepareLaunch } from './sandbox.js';
import { GatewayClient } from './gatewayClient.js';
import { ProtocolErrorCode } from '@modelcontextprotocol/client';

/** A request a downstream server sends to its client (sampling, elicitation, roots/list). */
export interface ServerRequest {
  readonly method: string;
  readonly params?: Record<string, unknown> | undefined;
}

/**
 * Decides what to do with a server-to-client request: pass it to an upstream client that
 * declared the capability, or throw a JSON-RPC error. `extra.signal` fires when the downstream
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
  /** Tokens for hosted servers that require OAuth; without it only static headers authenticate. */
  readonly oauth?: DownstreamOAuth | undefined;
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
    const authProvider = settings.oauth?.authProviderFor(spec);
    const options = { requestInit: { headers } satisfies RequestInit, fetch: fetchWithSharedSignal, ...(authProvider ? { authProvider } : {}) };
    return spec.transport === 'sse' ? new SSEClientTransport(url, options) : new StreamableHTTPClientTransport(url, options);
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

/** A new SDK client; `negotiation` says which protocol eras it may find (negotiation.ts). */
export function createClient(clientInfo: { name: string; version: string }, hooks: ClientHooks, negotiation: VersionNegotiationOptions): GatewayClient {
  const client = new GatewayClient(
    { name: clientInfo.name, version: clientInfo.version },
    {
      // Declared so downstream servers offer their sampling/elicitation/roots tools; the
      // gateway decides per request whether an upstream client can actually answer.
      capabilities: {
        sampling: {},
        elicitation: { form: {}, url: {} },
        roots: { listChanged: true },
      },
      versionNegotiation: negotiation,
      // An input_required result goes back to the calling client, which has the answers;
      // the gateway's own client has none to give.
      inputRequired: { autoFulfill: false },
    },
  );
  const forward =
    <R extends Result>(method: string) =>
    async (request: { method: string; params?: unknown }, ctx: { mcpReq: { signal: AbortSignal } }): Promise<R> => {
      const handler = hooks.onServerRequest;
      if (!handler) throw protocolError(ProtocolErrorCode.InvalidRequest, `${method} is not supported by the gateway client`);
      const params = isPlainObject(request.params) ? request.params : undefined;
      // The SDK validates sampling and elicitation results before they go downstream.
      return (await handler(hooks.server, { method: request.method, params }, { signal: ctx.mcpReq.signal })) as R;
    };
  client.setRequestHandler('sampling/createMessage', forward<CreateMessageResult>('sampling/createMessage'));
  client.setRequestHandler('elicitation/create', forward<ElicitResult>('elicitation/create'));
  client.setRequestHandler('roots/list', forward<ListRootsResult>('roots/list'));

  client.setNotificationHandler('notifications/tools/list_changed', () => {
    if (!hooks.isCurrent()) return;
    hooks.logger.debug('downstream tool list changed');
    hooks.onToolsChanged();
  });
  client.setNotificationHandler('notifications/message', (notification) => {
    if (hooks.isCurrent()) hooks.onLog(notification.params);
  });
  client.fallbackNotificationHandler = async (notification) => {
    // A 2026 server's notifications name the listen stream they came on: ours, not the gateway clients'.
    if (hooks.isCurrent()) hooks.onNotification({ method: notification.method, params: stripEnvelope(notification.params) });
  };
  client.onerror = (err) => {
    hooks.logger.debug({ err: err.message }, 'downstream protocol error');
  };
  client.onclose = () => {
    if (hooks.isCurrent()) hooks.onClose();
  };
  return client;
}
