// What went wrong with a downstream, in the gateway's vocabulary (see connection.ts's header
// comment): JSON-RPC errors a server answered with become GatewayErrors with a stable code,
// transport failures are told apart from bad answers, and messages never quote a URL's
// credentials.

import { InsufficientScopeError, ProtocolError, ProtocolErrorCode, SdkError, SdkErrorCode, SdkHttpError, SseError } from '@modelcontextprotocol/client';

/** MissingRequiredClientCapabilityError's code (2026-07-28). */
const MISSING_REQUIRED_CLIENT_CAPABILITY = -32021;
import type { ServerSpec } from '../config/types.js';
import { GatewayError, JSON_RPC_LEGACY_RESOURCE_NOT_FOUND } from '../errors.js';
import { redactUrl } from '../redact.js';
import { errorMessage } from '../values.js';
import type { ConnectionState } from './connectionOptions.js';
import { AuthServerUnavailableError, LoginRequiredError } from './oauthProvider.js';
import type { ExitInfo } from './processGroupTransport.js';

/**
 * An error a server answered a call with, or the SDK raised about the exchange (not a
 * ConnectionClosed, which only the connection can explain): TIMEOUT, TOOL_NOT_FOUND,
 * INVALID_ARGUMENT, else SERVER_UNAVAILABLE.
 */
export function mapMcpError(err: ProtocolError | SdkError, server: string, tool?: string): GatewayError {
  const details = tool === undefined ? { server } : { server, tool };
  if (err instanceof SdkError) {
    if (err.code === SdkErrorCode.RequestTimeout) {
      return new GatewayError('TIMEOUT', `Server '${server}' did not answer in time`, details, { cause: err });
    }
    return new GatewayError('SERVER_UNAVAILABLE', `Server '${server}' failed the request: ${err.message}`, details, { cause: err });
  }
  if (tool !== undefined && isUnknownToolError(err)) {
    return new GatewayError('TOOL_NOT_FOUND', `Tool '${tool}' not found on server '${server}'`, details, { cause: err });
  }
  if (err.code === ProtocolErrorCode.InvalidParams) {
    return new GatewayError('INVALID_ARGUMENT', `Server '${server}' rejected the arguments: ${err.message}`, details, { cause: err });
  }
  return new GatewayError('SERVER_UNAVAILABLE', `Server '${server}' returned an error: ${err.message}`, details, { cause: err });
}

/**
 * The server needs `agent-mcp-gateway login` (the message names the command), a scope the
 * stored login lacks (403 insufficient_scope; a new login with it in `oauth.scopes` gets it),
 * or refused its token again after a refresh: AUTH_REQUIRED. An authorization server that
 * could not refresh the token is SERVER_UNAVAILABLE: the login is still good.
 */
export function authRequiredError(err: unknown, server: string, tool?: string, loginCommand?: (server: string) => string): GatewayError | undefined {
  const details = tool === undefined ? { server } : { server, tool };
  if (err instanceof LoginRequiredError) return new GatewayError('AUTH_REQUIRED', err.message, details, { cause: err });
  if (err instanceof AuthServerUnavailableError) return new GatewayError('SERVER_UNAVAILABLE', err.message, details, { cause: err });
  if (isRepeated401(err)) {
    const run = loginCommand === undefined ? 'log in to it again' : `run \`${loginCommand(server)}\``;
    return new GatewayError('AUTH_REQUIRED', `Server '${server}' refused its OAuth token again after a refresh: ${run}`, details, { cause: err });
  }
  if (!(err instanceof InsufficientScopeError) || loginCommand === undefined) return undefined;
  // The scope comes from the server's header: only a bounded run of scope characters is quoted.
  const scope = /^[\w:./ -]{1,200}$/.test(err.requiredScope ?? '') ? ` ("${err.requiredScope}")` : '';
  const message = `Server '${server}' requires a scope its login did not grant${scope}: add it to "oauth.scopes" of its entry and run \`${loginCommand(server)}\``;
  return new GatewayError('AUTH_REQUIRED', message, details, { cause: err });
}

/**
 * The SDK's answer to a 401 on the retry its authProvider's refresh allowed. The same code
 * also marks a 401 to a request that had no authProvider (a static header refused): that one
 * is the server's failure, not a login to run.
 */
function isRepeated401(err: unknown): boolean {
  return err instanceof SdkHttpError && err.code === SdkErrorCode.ClientHttpAuthentication && /after re-authentication/.test(err.message);
}

/**
 * A start the server refused for want of a login throws AUTH_REQUIRED and leaves the
 * connection idle: nothing failed, so there is no backoff, and the first call after `login`
 * connects. Any other error is left to the caller.
 */
export function throwIfLoginRequired(err: unknown, connection: { state: ConnectionState; lastError: string | undefined; readonly server: string }): void {
  const authRequired = authRequiredError(err, connection.server);
  if (authRequired?.code !== 'AUTH_REQUIRED') return;
  connection.state = 'idle';
  connection.lastError = authRequired.message;
  throw authRequired;
}

/**
 * An error that is about the caller's own request, not about the server: the caller lacks a
 * capability the server requires (-32021), or its retry's requestState failed the server's
 * integrity check. It goes back to the caller as the same JSON-RPC error.
 */
export function isCallersOwnError(err: unknown): err is ProtocolError {
  if (!(err instanceof ProtocolError)) return false;
  if (err.code === MISSING_REQUIRED_CLIENT_CAPABILITY) return true;
  const reason = (err.data as { reason?: unknown } | undefined)?.reason;
  return err.code === ProtocolErrorCode.InvalidParams && reason === 'invalid_request_state';
}

/** A server's answer to tools/call meaning it has no such tool. */
function isUnknownToolError(err: ProtocolError): boolean {
  if (err.code === ProtocolErrorCode.MethodNotFound) return true;
  return err.code === ProtocolErrorCode.InvalidParams && /unknown tool|tool .*not found|not found/i.test(err.message);
}

/**
 * A server's answer to resources/read, prompts/get or completion/complete meaning it has no
 * such thing: MCP's "resource not found", or -32602 saying so (what many servers send).
 */
export function isNotFoundAnswer(err: unknown): boolean {
  return (
    err instanceof ProtocolError &&
    (err.code === JSON_RPC_LEGACY_RESOURCE_NOT_FOUND || (err.code === ProtocolErrorCode.InvalidParams && /not found|unknown/i.test(err.message)))
  );
}

export function isTimeout(err: unknown): boolean {
  return err instanceof SdkError && err.code === SdkErrorCode.RequestTimeout;
}

/** The exchange itself failed (HTTP error, no connection), as opposed to a bad answer. */
export function isTransportFailure(err: unknown): boolean {
  if (err instanceof SdkHttpError || err instanceof SseError) return true;
  if (!(err instanceof Error)) return false;
  return (err instanceof TypeError && /fetch/i.test(err.message)) || /^Not connected/.test(err.message);
}

export function describeExitInfo(exit: ExitInfo): string {
  if (exit.error !== undefined) return `could not be started: ${exit.error}`;
  if (exit.signal) return `was killed by signal ${exit.signal}`;
  return `exited with code ${exit.code}`;
}

/** Every URL in `text` redacted, for messages that quote a transport's error. */
export function redactUrls(text: string): string {
  return text.replace(/\b[a-z][a-z0-9+.-]*:\/\/[^\s'"<>]+/gi, (url) => redactUrl(url));
}

export interface ConnectFailure {
  readonly spec: ServerSpec;
  readonly err: unknown;
  readonly timedOut: boolean;
  readonly timeoutMs: number;
  /** Set for a stdio server: how its process ended by itself, if it did. */
  readonly process?: { readonly exit: ExitInfo | undefined; readonly withStderr: (message: string) => string } | undefined;
}

/** Why a start + initialize failed, for lastError and the SERVER_UNAVAILABLE message. */
export function describeConnectFailure({ spec, err, timedOut, timeoutMs, process }: ConnectFailure): string {
  const name = spec.name;
  if (process !== undefined) {
    const { exit, withStderr } = process;
    if (exit?.error !== undefined) {
      // A missing cwd also reports as "spawn <command> ENOENT", so name both.
      const where = spec.cwd === undefined ? '' : ` in '${spec.cwd}'`;
      return withStderr(`Server '${name}' could not be started (command '${spec.command}'${where}): ${exit.error}`);
    }
    if (exit) return withStderr(`Server '${name}' ${describeExitInfo(exit)} during initialization`);
    if (timedOut) return withStderr(`Server '${name}' did not complete initialization within ${timeoutMs}ms`);
    return withStderr(`Server '${name}' failed to initialize: ${errorMessage(err)}`);
  }
  const where = spec.url === undefined ? '' : ` at ${redactUrl(spec.url)}`;
  if (timedOut) return `Server '${name}'${where} did not complete initialization within ${timeoutMs}ms`;
  return `Cannot connect to server '${name}'${where}: ${redactUrls(errorMessage(err))}`;
}
