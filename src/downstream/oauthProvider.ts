// OAuth for hosted (http/sse) downstreams inside the gateway: the transport's authProvider
// hands out the tokens `agent-mcp-gateway login` stored, refreshes them before they expire and
// when the server answers 401, and never starts a browser flow. Where one would be needed (no
// tokens, the refresh refused) the request fails at once with LoginRequiredError, which names
// the command to run. Gateways sharing the token folder refresh under its lock file, each
// starting from what the file holds, since the authorization server may rotate refresh tokens.

import {
  checkResourceAllowed,
  discoverOAuthServerInfo,
  extractWWWAuthenticateParams,
  OAuthError,
  OAuthErrorCode,
  refreshAuthorization,
  resourceUrlFromServerUrl,
  type AuthProvider,
  type FetchLike,
  type OAuthDiscoveryState,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import type { ServerSpec } from '../config/types.js';
import { recordUrl, type OAuthRecord, type OAuthStore } from './oauthStore.js';

/** A token is refreshed this long before it expires (at most half its lifetime). */
const REFRESH_AHEAD_MS = 60_000;
/** Each request to an authorization server (metadata, token) gets at most this long. */
export const OAUTH_REQUEST_TIMEOUT_MS = 15_000;
/** The authorization server's answers that mean the stored grant is no good: only a login helps. */
const REFUSALS: ReadonlySet<string> = new Set([OAuthErrorCode.InvalidGrant, OAuthErrorCode.InvalidClient, OAuthErrorCode.UnauthorizedClient]);

/** What the transport hands onUnauthorized (the SDK does not export its name). */
type UnauthorizedContext = Parameters<NonNullable<AuthProvider['onUnauthorized']>>[0];

/** What get_gateway_status and list_servers say about a server's login. */
export type OAuthStatus = 'login_required' | 'logged_in';

/** The server needs `agent-mcp-gateway login`: thrown instead of redirecting anyone anywhere. */
export class LoginRequiredError extends Error {
  readonly server: string;
  constructor(server: string, message: string) {
    super(message);
    this.name = 'LoginRequiredError';
    this.server = server;
  }
}

/** A static Authorization header is the server's credential: OAuth is off for it. */
export function hasStaticAuthorization(spec: ServerSpec): boolean {
  if (Object.keys(spec.headers).some((name) => name.toLowerCase() === 'authorization')) return true;
  // Credentials in the URL become an Authorization: Basic header (httpTarget.ts).
  if (spec.url === undefined || !URL.canParse(spec.url)) return false;
  const url = new URL(spec.url);
  return url.username !== '' || url.password !== '';
}

/** Whether the gateway offers OAuth to this server at all. */
export function usesOAuth(spec: ServerSpec): boolean {
  return spec.transport !== 'stdio' && spec.url !== undefined && spec.configError === undefined && !hasStaticAuthorization(spec);
}

/** The authorization server could not be reached or failed (5xx): the login is kept, the request fails for now. */
export class AuthServerUnavailableError extends Error {
  readonly server: string;
  constructor(server: string, message: string) {
    super(message);
    this.name = 'AuthServerUnavailableError';
    this.server = server;
  }
}

/**
 * The fetch of every OAuth request: the plain one, bounded in time (and by `signal`). Never the
 * transport's fetch, whose requestInit carries the server entry's `headers`: they are the
 * MCP server's, not the authorization server's.
 */
export function oauthFetch(signal?: AbortSignal): FetchLike {
  return (url, init) => {
    const signals = [AbortSignal.timeout(OAUTH_REQUEST_TIMEOUT_MS), ...(signal ? [signal] : []), ...(init?.signal ? [init.signal] : [])];
    return fetch(url, { ...init, signal: AbortSignal.any(signals) });
  };
}

/** Adds when the access token expires, from the token response's expires_in. */
export function stampExpiry(record: OAuthRecord, tokens: StoredOAuthTokens, now: number): OAuthRecord {
  const { expiresAt: _expires, obtainedAt: _obtained, ...rest } = record;
  const expiresIn = tokens.expires_in;
  return {
    ...rest,
    tokens,
    obtainedAt: now,
    ...(typeof expiresIn === 'number' && Number.isFinite(expiresIn) && expiresIn > 0 ? { expiresAt: now + expiresIn * 1000 } : {}),
  };
}

export interface DownstreamOAuthOptions {
  readonly store: OAuthStore;
  /** The exact command that logs in to `server` (with --mcp-config and --oauth-dir when they are not the defaults). */
  readonly loginCommand: (server: string) => string;
  readonly now?: () => number;
  /** Where a failure to store refreshed tokens is told (never with their content). */
  readonly warn?: (message: string) => void;
}

/**
 * The gateway's OAuth for every hosted server: one state per server name + URL, shared by
 * its connection and its isolated instances, so one refresh serves them all.
 */
export class DownstreamOAuth {
  readonly #options: DownstreamOAuthOptions;
  readonly #states = new Map<string, ServerOAuth>();

  constructor(options: DownstreamOAuthOptions) {
    this.#options = options;
  }

  /** The command that logs in to `server`, as messages name it. */
  readonly loginCommand = (server: string): string => this.#options.loginCommand(server);

  /** The transport's authProvider for `spec`, or undefined when OAuth is off for it. */
  authProviderFor(spec: ServerSpec): AuthProvider | undefined {
    if (!usesOAuth(spec)) return undefined;
    return this.#stateOf(spec as ServerSpec & { url: string });
  }

  /**
   * What is known of the server's login without asking it: login_required once it refused,
   * when its stored tokens were dropped, or when its entry has an `oauth` block and nothing is
   * stored; logged_in when tokens are stored; undefined when nothing says it uses OAuth.
   */
  statusOf(spec: ServerSpec): OAuthStatus | undefined {
    if (!usesOAuth(spec) || spec.url === undefined) return undefined;
    const state = this.#states.get(this.#key(spec.name, spec.url));
    if (state?.needsLogin === true) return 'login_required';
    if (state?.record?.tokens !== undefined) return 'logged_in';
    const stored = this.#options.store.storedSync(spec.name, spec.url);
    if (stored !== undefined) return stored === 'tokens' ? 'logged_in' : 'login_required';
    return spec.oauth !== undefined ? 'login_required' : undefined;
  }

  #key(name: string, url: string): string {
    return `${name}\n${recordUrl(url)}`;
  }

  #stateOf(spec: ServerSpec & { url: string }): ServerOAuth {
    const key = this.#key(spec.name, spec.url);
    let state = this.#states.get(key);
    if (state === undefined) {
      state = new ServerOAuth(spec.name, spec.url, this.#options);
      this.#states.set(key, state);
    }
    return state;
  }
}

/** One server's tokens as the gateway uses them (the AuthProvider its transports get). */
class ServerOAuth implements AuthProvider {
  readonly #server: string;
  readonly #url: string;
  readonly #options: DownstreamOAuthOptions;
  record: OAuthRecord | undefined;
  /** Set when a request needed a login; the store is read again on every request until one is done. */
  needsLogin = false;
  #loaded = false;
  /** The record could not be stored (a read-only folder): the one in memory is newer than the file. */
  #unsaved = false;
  #refreshing: Promise<void> | undefined;
  /** The access token last handed to a request: a 401 refuses that one, not whatever is stored by the time it comes. */
  #sent: string | undefined;

  constructor(server: string, url: string, options: DownstreamOAuthOptions) {
    this.#server = server;
    this.#url = url;
    this.#options = options;
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }

  async token(): Promise<string | undefined> {
    if (!this.#loaded || this.needsLogin) await this.#load();
    const record = this.record;
    if (record?.tokens === undefined) return undefined;
    if (this.#expiresSoon(record) && record.tokens.refresh_token !== undefined) {
      try {
        await this.#refresh(undefined, undefined);
      } catch (err) {
        // An early refresh the authorization server could not answer leaves the token in use
        // while it lasts; a refused one, or one that has expired, fails the request.
        if (!(err instanceof AuthServerUnavailableError) || this.#now() >= (this.record?.expiresAt ?? 0)) throw err;
      }
    }
    this.#sent = this.record?.tokens?.access_token;
    return this.#sent;
  }

  async onUnauthorized(ctx: UnauthorizedContext): Promise<void> {
    const refused = this.#sent;
    await this.#refresh(refused ?? '', ctx);
  }

  async #load(): Promise<void> {
    const record = await this.#options.store.read(this.#server, this.#url);
    this.#loaded = true;
    if (this.#unsaved && this.record?.tokens !== undefined) return;
    this.record = record;
    if (record?.tokens !== undefined) this.needsLogin = false;
  }

  #expiresSoon(record: OAuthRecord): boolean {
    if (record.expiresAt === undefined) return false;
    const lifetime = record.expiresAt - (record.obtainedAt ?? record.expiresAt);
    const ahead = Math.min(REFRESH_AHEAD_MS, Math.max(0, lifetime / 2));
    return this.#now() >= record.expiresAt - ahead;
  }

  /**
   * One refresh at a time per server (concurrent requests wait for it), and one per token
   * folder: `refused` is the access token a 401 refused, undefined for an early refresh.
   */
  #refresh(refused: string | undefined, ctx: UnauthorizedContext | undefined): Promise<void> {
    this.#refreshing ??= this.#options.store
      .withLock(this.#server, this.#url, () => this.#runRefresh(refused, ctx))
      .finally(() => {
        this.#refreshing = undefined;
      });
    return this.#refreshing;
  }

  async #runRefresh(refused: string | undefined, ctx: UnauthorizedContext | undefined): Promise<void> {
    // Under the lock the file is the truth: another gateway (or a login) may have stored newer tokens.
    await this.#load();
    const record = this.record;
    const tokens = record?.tokens;
    if (record === undefined || tokens === undefined) throw this.requireLogin();
    if (refused !== undefined ? tokens.access_token !== refused : !this.#expiresSoon(record)) return;
    if (tokens.refresh_token === undefined || record.client === undefined) throw this.requireLogin();
    const discovery = await this.#discovery(record, ctx);
    const resource = discovery.resourceMetadata?.resource;
    const allowed = resource !== undefined && checkResourceAllowed({ requestedResource: resourceUrlFromServerUrl(this.#url), configuredResource: resource });
    let next: StoredOAuthTokens;
    try {
      next = await refreshAuthorization(discovery.authorizationServerUrl, {
        ...(discovery.authorizationServerMetadata !== undefined ? { metadata: discovery.authorizationServerMetadata } : {}),
        clientInformation: record.client,
        refreshToken: tokens.refresh_token,
        ...(allowed ? { resource: new URL(resource) } : {}),
        fetchFn: oauthFetch(),
      });
    } catch (err) {
      if (!(err instanceof OAuthError && REFUSALS.has(err.code))) throw this.#unavailable(err);
      if (await this.#dropTokens(tokens.refresh_token)) throw this.requireLogin();
      return;
    }
    // Stamped with their issuer as the SDK stamps those of a login (SEP-2352).
    await this.saveTokens({ ...next, issuer: discovery.authorizationServerMetadata?.issuer ?? discovery.authorizationServerUrl });
  }

  /** The authorization server as found at login; discovered again (and stored) for a record that lacks it. */
  async #discovery(record: OAuthRecord, ctx: UnauthorizedContext | undefined): Promise<OAuthDiscoveryState> {
    if (record.discovery?.authorizationServerMetadata !== undefined) return record.discovery;
    const challenge = ctx === undefined ? {} : extractWWWAuthenticateParams(ctx.response);
    let discovery: OAuthDiscoveryState;
    try {
      discovery = await discoverOAuthServerInfo(this.#url, {
        ...(challenge.resourceMetadataUrl !== undefined ? { resourceMetadataUrl: challenge.resourceMetadataUrl } : {}),
        fetchFn: oauthFetch(),
      });
    } catch (err) {
      throw this.#unavailable(err);
    }
    await this.save((current) => ({ ...current, discovery }));
    return discovery;
  }

  /**
   * Drops the refused tokens, but only while the file still holds that refresh token: a
   * gateway or a login that stored newer ones meanwhile keeps them. True when they were dropped.
   */
  async #dropTokens(refusedRefreshToken: string): Promise<boolean> {
    const stored = await this.#options.store.read(this.#server, this.#url);
    if (stored?.tokens !== undefined && stored.tokens.refresh_token !== refusedRefreshToken) {
      this.record = stored;
      return false;
    }
    await this.save(({ tokens: _tokens, expiresAt: _expiresAt, obtainedAt: _obtainedAt, ...withoutTokens }) => withoutTokens);
    return true;
  }

  /** The refresh failed for a reason a login would not fix: the message names no token, only what went wrong. */
  #unavailable(err: unknown): AuthServerUnavailableError {
    const reason =
      err instanceof OAuthError
        ? `it answered ${err.code}`
        : err instanceof Error && err.name === 'TimeoutError'
          ? `no answer within ${OAUTH_REQUEST_TIMEOUT_MS / 1000} s`
          : 'it cannot be reached';
    return new AuthServerUnavailableError(
      this.#server,
      `Server '${this.#server}': its OAuth token could not be refreshed, as the authorization server failed (${reason}); the login is kept, try again later`,
    );
  }

  /** Replaces the record in memory and in the store; one the store cannot take is kept in memory. */
  async save(change: (record: OAuthRecord) => OAuthRecord): Promise<void> {
    const base: OAuthRecord = this.record ?? { server: this.#server, url: recordUrl(this.#url) };
    const next = change(base);
    this.record = next;
    try {
      await this.#options.store.write(next);
      this.#unsaved = false;
    } catch (err) {
      this.#unsaved = true;
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      this.#options.warn?.(
        `Cannot store the OAuth tokens of server '${this.#server}' in ${this.#options.store.dir} (${code}): they are kept in memory while the gateway runs; the folder must be writable for refreshed tokens to outlive it`,
      );
    }
  }

  saveTokens(tokens: StoredOAuthTokens): Promise<void> {
    return this.save((record) => stampExpiry(record, tokens, this.#now()));
  }

  /** Marks the server login_required; the error names the command to run. */
  requireLogin(): LoginRequiredError {
    this.needsLogin = true;
    return new LoginRequiredError(
      this.#server,
      `Server '${this.#server}' requires an OAuth login: run \`${this.#options.loginCommand(this.#server)}\`, then call again`,
    );
  }
}
