// `agent-mcp-gateway login SERVER`: the authorization code + PKCE flow, run by the SDK's
// auth() from the server's 401 (its protected-resource metadata names the authorization
// server) to the stored tokens. This module gives auth() the storage and the redirect hook,
// receives the code on a loopback redirect, and writes what the gateway needs afterwards:
// the client registration, the tokens and the discovery state.

import { randomBytes } from 'node:crypto';
import {
  auth,
  extractWWWAuthenticateParams,
  type FetchLike,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import type { ServerSpec } from '../config/types.js';
import { listenForCallback } from './oauthCallback.js';
import { hasStaticAuthorization, oauthFetch, stampExpiry } from './oauthProvider.js';
import { recordUrl, type OAuthRecord, type OAuthStore } from './oauthStore.js';
import { httpTarget } from './httpTarget.js';

/** Why a login could not be done; the message is for the person running it. */
export class LoginError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LoginError';
  }
}

export interface LoginOptions {
  readonly spec: ServerSpec;
  readonly store: OAuthStore;
  /** Secret of a pre-registered client (`oauth.clientId`); kept in the token file, never in the config. */
  readonly clientSecret?: string | undefined;
  /** How long the whole login may take, the wait for the browser included. */
  readonly timeoutMs: number;
  /** The URL the user must open (print it, open a browser). */
  readonly onAuthorizationUrl: (url: URL) => void;
  readonly now?: () => number;
}

export type LoginOutcome =
  { readonly kind: 'logged_in'; readonly file: string; readonly scope: string | undefined } | { readonly kind: 'not_required'; readonly status: number };

export async function login(options: LoginOptions): Promise<LoginOutcome> {
  const { spec } = options;
  if (spec.transport === 'stdio' || spec.url === undefined) throw new LoginError(`Server '${spec.name}' is a stdio server: there is nothing to log in to`);
  if (hasStaticAuthorization(spec)) {
    throw new LoginError(`Server '${spec.name}' sends a static Authorization header (in "headers" or the URL), so the gateway runs no OAuth for it`);
  }
  const deadline = AbortSignal.timeout(options.timeoutMs);
  try {
    return await loginWithin(options, spec as ServerSpec & { url: string }, deadline);
  } catch (err) {
    if (deadline.aborted && !(err instanceof LoginError)) throw new LoginError(`The login did not finish within ${Math.round(options.timeoutMs / 1000)} s`);
    throw err;
  }
}

async function loginWithin(options: LoginOptions, spec: ServerSpec & { url: string }, deadline: AbortSignal): Promise<LoginOutcome> {
  const { store } = options;
  const endsAt = Date.now() + options.timeoutMs;
  // Only the probe, a request to the MCP server itself, carries the entry's headers.
  const fetchFn = oauthFetch(deadline);
  const { url, headers } = httpTarget(spec.url, spec.headers);
  const challenge = await probe(url, headers, spec.transport === 'sse' ? 'sse' : 'http', fetchFn);
  if (challenge.status !== 401) return { kind: 'not_required', status: challenge.status };

  const callback = await listenForCallback(spec.oauth?.callbackPort);
  try {
    const previous = await store.read(spec.name, spec.url);
    const provider = new LoginProvider({
      redirectUri: callback.redirectUri,
      spec,
      clientSecret: options.clientSecret,
      reusable: previous?.redirectUri === callback.redirectUri ? previous.client : undefined,
      discovery: spec.oauth?.authServerMetadataUrl === undefined ? undefined : await metadataOverride(spec.oauth.authServerMetadataUrl, fetchFn),
    });
    const common = {
      serverUrl: url,
      fetchFn,
      ...(challenge.resourceMetadataUrl !== undefined ? { resourceMetadataUrl: challenge.resourceMetadataUrl } : {}),
    };
    const scope = spec.oauth?.scopes ?? challenge.scope;
    const started = await auth(provider, { ...common, ...(scope !== undefined ? { scope } : {}) });
    if (started === 'REDIRECT') {
      const authorizationUrl = provider.authorizationUrl;
      if (authorizationUrl === undefined || !isSafeBrowserUrl(authorizationUrl)) {
        throw new LoginError(`The authorization server of '${spec.name}' gave an authorization URL that is neither https nor loopback; refused`);
      }
      options.onAuthorizationUrl(authorizationUrl);
      const params = await callback.wait(provider.expectedState, Math.max(1, endsAt - Date.now()));
      const code = params.get('code');
      if (code === null) throw new LoginError(`The authorization server sent no code back for '${spec.name}'`);
      const iss = params.get('iss');
      await auth(provider, { ...common, authorizationCode: code, ...(iss !== null ? { iss } : {}) });
    }
    const tokens = provider.savedTokens;
    if (tokens === undefined) throw new LoginError(`The authorization server of '${spec.name}' gave no tokens`);
    const record: OAuthRecord = stampExpiry(
      {
        server: spec.name,
        url: recordUrl(spec.url),
        redirectUri: callback.redirectUri,
        ...(provider.client !== undefined ? { client: provider.client } : {}),
        ...(provider.discovery !== undefined ? { discovery: provider.discovery } : {}),
      },
      tokens,
      (options.now ?? Date.now)(),
    );
    await store.write(record);
    return { kind: 'logged_in', file: store.fileOf(spec.name, spec.url), scope: tokens.scope };
  } finally {
    await callback.close();
  }
}

/** The server's answer to a request without credentials: a 401 carries where to find its authorization server. */
async function probe(
  url: URL,
  headers: Record<string, string>,
  transport: 'http' | 'sse',
  fetchFn: FetchLike,
): Promise<{ status: number; resourceMetadataUrl?: URL; scope?: string }> {
  const init: RequestInit =
    transport === 'sse'
      ? { method: 'GET', headers: { ...headers, accept: 'text/event-stream' } }
      : {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({
            jsonrpc: '2.0',
            id: 0,
            method: 'initialize',
            params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'agent-mcp-gateway', version: 'login' } },
          }),
        };
  let response: Response;
  try {
    response = await fetchFn(url, { ...init, redirect: 'manual' });
  } catch (err) {
    throw new LoginError(`Cannot reach ${url.origin}: ${err instanceof Error ? err.message : String(err)}`);
  }
  await response.body?.cancel().catch(() => {});
  if (response.status === 401) return { status: 401, ...extractWWWAuthenticateParams(response) };
  if (response.ok) return { status: response.status };
  throw new LoginError(`${url.origin} answered HTTP ${response.status} instead of asking for a login (401)`);
}

/** `oauth.authServerMetadataUrl`: the authorization server's metadata, taken as is instead of discovered. */
async function metadataOverride(metadataUrl: string, fetchFn: FetchLike): Promise<OAuthDiscoveryState> {
  let metadata: unknown;
  try {
    const response = await fetchFn(metadataUrl);
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    metadata = await response.json();
  } catch (err) {
    throw new LoginError(`Cannot read the authorization server metadata at ${metadataUrl}: ${err instanceof Error ? err.message : String(err)}`);
  }
  const m = metadata as Record<string, unknown> | null;
  if (
    m === null ||
    typeof m !== 'object' ||
    typeof m['issuer'] !== 'string' ||
    typeof m['authorization_endpoint'] !== 'string' ||
    typeof m['token_endpoint'] !== 'string'
  ) {
    throw new LoginError(`${metadataUrl} is not authorization server metadata (issuer, authorization_endpoint and token_endpoint are required)`);
  }
  return { authorizationServerUrl: m['issuer'], authorizationServerMetadata: m as unknown as NonNullable<OAuthDiscoveryState['authorizationServerMetadata']> };
}

/** Only https, or http on a loopback host, is handed to a browser (the URL comes from the server's metadata). */
function isSafeBrowserUrl(url: URL): boolean {
  return url.protocol === 'https:' || (url.protocol === 'http:' && ['localhost', '127.0.0.1', '[::1]'].includes(url.hostname));
}

/**
 * What auth() reads and writes during one login, in memory until the login succeeds. The
 * client is, in this order: the configured `oauth.clientId` (with MCP_CLIENT_SECRET), the one
 * registered at the last login with this redirect URI, a client ID metadata document URL
 * when configured and supported, or a new dynamic registration.
 */
class LoginProvider implements OAuthClientProvider {
  readonly redirectUrl: string;
  readonly clientMetadataUrl?: string;
  readonly expectedState = randomBytes(32).toString('base64url');
  readonly #metadata: OAuthClientMetadata;
  client: StoredOAuthClientInformation | undefined;
  discovery: OAuthDiscoveryState | undefined;
  savedTokens: StoredOAuthTokens | undefined;
  authorizationUrl: URL | undefined;
  #verifier: string | undefined;

  constructor(init: {
    redirectUri: string;
    spec: ServerSpec;
    clientSecret: string | undefined;
    reusable: StoredOAuthClientInformation | undefined;
    discovery: OAuthDiscoveryState | undefined;
  }) {
    const oauth = init.spec.oauth;
    this.redirectUrl = init.redirectUri;
    if (oauth?.clientMetadataUrl !== undefined) this.clientMetadataUrl = oauth.clientMetadataUrl;
    const secret = oauth?.clientId !== undefined ? init.clientSecret : undefined;
    this.client =
      oauth?.clientId !== undefined ? { client_id: oauth.clientId, ...(secret !== undefined && secret !== '' ? { client_secret: secret } : {}) } : init.reusable;
    this.discovery = init.discovery;
    this.#metadata = {
      client_name: 'agent-mcp-gateway',
      redirect_uris: [init.redirectUri],
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
      token_endpoint_auth_method: this.client?.client_secret !== undefined ? 'client_secret_basic' : 'none',
      ...(oauth?.scopes !== undefined ? { scope: oauth.scopes } : {}),
    };
  }

  get clientMetadata(): OAuthClientMetadata {
    return this.#metadata;
  }
  state(): string {
    return this.expectedState;
  }
  clientInformation(): StoredOAuthClientInformation | undefined {
    return this.client;
  }
  saveClientInformation(client: StoredOAuthClientInformation): void {
    this.client = client;
  }
  tokens(): StoredOAuthTokens | undefined {
    return this.savedTokens;
  }
  saveTokens(tokens: StoredOAuthTokens): void {
    this.savedTokens = tokens;
  }
  redirectToAuthorization(url: URL): void {
    this.authorizationUrl = url;
  }
  saveCodeVerifier(verifier: string): void {
    this.#verifier = verifier;
  }
  codeVerifier(): string {
    if (this.#verifier === undefined) throw new LoginError('No PKCE code verifier was made for this login');
    return this.#verifier;
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.discovery;
  }
  saveDiscoveryState(state: OAuthDiscoveryState): void {
    this.discovery = state;
  }
}
