// The SDK client and the HTTP client transports are loaded on the first connection that
// needs them, not at start: a lazily started gateway answers initialize and list_servers
// without them (cold start), and a gateway with stdio servers only never loads the HTTP
// transports (memory). Until a module is loaded, no object of its classes can exist, so the
// instanceof checks below simply answer false.

import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';

type ClientModule = typeof import('@modelcontextprotocol/sdk/client/index.js');
interface HttpModules {
  readonly sse: typeof import('@modelcontextprotocol/sdk/client/sse.js');
  readonly streamable: typeof import('@modelcontextprotocol/sdk/client/streamableHttp.js');
}
type StreamableHttpError = InstanceType<HttpModules['streamable']['StreamableHTTPError']>;
type StreamableHttpTransport = InstanceType<HttpModules['streamable']['StreamableHTTPClientTransport']>;

let clientModule: ClientModule | undefined;
let httpModules: HttpModules | undefined;
let clientLoading: Promise<ClientModule> | undefined;
let httpLoading: Promise<HttpModules> | undefined;

/** The loaded SDK client module, if any connection loaded it yet. */
export function loadedClientModule(): ClientModule | undefined {
  return clientModule;
}

/** The loaded HTTP transport modules, if any connection loaded them yet. */
export function loadedHttpModules(): HttpModules | undefined {
  return httpModules;
}

/** Whether what a connection over this transport kind needs is loaded already. */
export function clientModulesLoaded(http: boolean): boolean {
  return clientModule !== undefined && (!http || httpModules !== undefined);
}

export function loadClientModules(http: boolean): Promise<unknown> {
  // A failed load (a broken install) is not remembered: the next connection tries again.
  clientLoading ??= import('@modelcontextprotocol/sdk/client/index.js').then(
    (m) => (clientModule = m),
    (err: unknown) => {
      clientLoading = undefined;
      throw err;
    },
  );
  if (!http) return clientLoading;
  httpLoading ??= Promise.all([import('@modelcontextprotocol/sdk/client/sse.js'), import('@modelcontextprotocol/sdk/client/streamableHttp.js')]).then(
    ([sse, streamable]) => (httpModules = { sse, streamable }),
    (err: unknown) => {
      httpLoading = undefined;
      throw err;
    },
  );
  return Promise.all([clientLoading, httpLoading]);
}

export function isStreamableHttpError(err: unknown): err is StreamableHttpError {
  return httpModules !== undefined && err instanceof httpModules.streamable.StreamableHTTPError;
}

export function isSseError(err: unknown): boolean {
  return httpModules !== undefined && err instanceof httpModules.sse.SseError;
}

export function isStreamableHttpTransport(transport: Transport): transport is StreamableHttpTransport {
  return httpModules !== undefined && transport instanceof httpModules.streamable.StreamableHTTPClientTransport;
}
