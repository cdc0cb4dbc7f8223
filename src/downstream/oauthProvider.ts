// OAuth for hosted (http/sse) downstreams inside the gateway: the transport's authProvider
// hands out the tokens `agent-mcp-gateway login` stored, refreshes them before they expire and
// when the server answers 401 (through the SDK's auth(), which persists what it gets back
// here), and never starts a browser flow. Where one would be needed (no tokens, the refresh
// refused) the request fails at once with LoginRequiredError, which names the command to run.

import {
  auth,
  extractWWWAuthenticateParams,
  type AuthProvider,
  type OAuthClientMetadata,
  type OAuthClientProvider,
  type OAuthDiscoveryState,
  type StoredOAuthClientInformation,
  type StoredOAuthTokens,
} from '@modelcontextprotocol/client';
import type { ServerSpec } from '../config/types.js';
import { recordUrl, type OAuthRecord, type OAuthStore } from './oauthStore.js';

/** A token is refreshed this long before it expires (at most half its lifetime). */
const REFRESH_AHEAD_MS = 60_000;
/** What redirectUrl says when the record has none: it is never visited from the gateway. */
const UNUSED_REDIRECT = 'http://127.0.0.1/callback';

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
  #refreshing: Promise<void> | undefined;

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
    if (!this.#expiresSoon(record) || record.tokens.refresh_token === undefined) return record.tokens.access_token;
    try {
      await this.#refresh(undefined);
    } catch (err) {
      // An early refresh that could not reach the authorization server leaves the token in
      // use while it lasts; a refused one, or one that has expired, fails the request.
      if (err instanceof LoginRequiredError || this.#now() >= (record.expiresAt ?? 0)) throw err;
    }
    return this.record?.tokens?.access_token;
  }

  async onUnauthorized(ctx: UnauthorizedContext): Promise<void> {
    // A refresh under way (another request's 401, or an early one) brings the token to retry with.
    if (this.#refreshing !== undefined) return this.#refreshing;
    const sent = this.record?.tokens?.access_token;
    // A login (or another gateway's refresh) may have stored newer tokens meanwhile.
    await this.#load();
    const stored = this.record?.tokens?.access_token;
    if (stored !== undefined && stored !== sent) return;
    await this.#refresh(ctx);
  }

  async #load(): Promise<void> {
    const record = await this.#options.store.read(this.#server, this.#url);
    this.#loaded = true;
    this.record = record;
    if (record?.tokens !== undefined) this.needsLogin = false;
  }

  #expiresSoon(record: OAuthRecord): boolean {
    if (record.expiresAt === undefined) return false;
    const lifetime = record.expiresAt - (record.obtainedAt ?? record.expiresAt);
    const ahead = Math.min(REFRESH_AHEAD_MS, Math.max(0, lifetime / 2));
    return this.#now() >= record.expiresAt - ahead;
  }

  /** One refresh at a time per server; concurrent requests wait for it. */
  #refresh(ctx: UnauthorizedContext | undefined): Promise<void> {
    this.#refreshing ??= this.#runRefresh(ctx).finally(() => {
      this.#refreshing = undefined;
    });
    return this.#refreshing;
  }

  async #runRefresh(ctx: UnauthorizedContext | undefined): Promise<void> {
    if (this.record?.tokens?.refresh_token === undefined || this.record.client === undefined) throw this.requireLogin();
    const challenge = ctx === undefined ? {} : extractWWWAuthenticateParams(ctx.response);
    // A failure to reach the authorization server is not a login problem: it fails the
    // request as the connection's other failures do.
    const result = await auth(new StoredCredentials(this), {
      serverUrl: this.#url,
      ...(challenge.resourceMetadataUrl !== undefined ? { resourceMetadataUrl: challenge.resourceMetadataUrl } : {}),
      ...(ctx !== undefined ? { fetchFn: ctx.fetchFn } : {}),
    });
    if (result !== 'AUTHORIZED') throw this.requireLogin();
  }

  /** Replaces the record in memory and in the store. */
  async save(change: (record: OAuthRecord) => OAuthRecord): Promise<void> {
    const base: OAuthRecord = this.record ?? { server: this.#server, url: recordUrl(this.#url) };
    const next = change(base);
    this.record = next;
    await this.#options.store.write(next);
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

/**
 * The stored credentials as the SDK's auth() sees them, for a refresh only: the client
 * registered at login, its tokens and discovery state. Every step that would need the user
 * (registering a client, redirecting to the authorization server) throws LoginRequiredError.
 */
class StoredCredentials implements OAuthClientProvider {
  readonly #state: ServerOAuth;

  constructor(state: ServerOAuth) {
    this.#state = state;
  }

  get redirectUrl(): string {
    return this.#state.record?.redirectUri ?? UNUSED_REDIRECT;
  }
  get clientMetadata(): OAuthClientMetadata {
    return { client_name: 'agent-mcp-gateway', redirect_uris: [this.redirectUrl] };
  }
  clientInformation(): StoredOAuthClientInformation {
    const client = this.#state.record?.client;
    if (client === undefined) throw this.#state.requireLogin();
    return client;
  }
  saveClientInformation(client: StoredOAuthClientInformation): Promise<void> {
    return this.#state.save((record) => ({ ...record, client }));
  }
  tokens(): StoredOAuthTokens | undefined {
    return this.#state.record?.tokens;
  }
  saveTokens(tokens: StoredOAuthTokens): Promise<void> {
    return this.#state.saveTokens(tokens);
  }
  discoveryState(): OAuthDiscoveryState | undefined {
    return this.#state.record?.discovery;
  }
  saveDiscoveryState(discovery: OAuthDiscoveryState): Promise<void> {
    return this.#state.save((record) => ({ ...record, discovery }));
  }
  async invalidateCredentials(scope: 'all' | 'client' | 'tokens' | 'verifier' | 'discovery'): Promise<void> {
    if (scope === 'verifier') return;
    // A refused refresh token is gone for good: the file keeps only what a new login can reuse.
    await this.#state.save((record) => {
      const { tokens: _tokens, expiresAt: _expiresAt, obtainedAt: _obtainedAt, ...withoutTokens } = record;
      const { discovery: _discovery, ...withoutDiscovery } = record;
      if (scope === 'tokens') return withoutTokens;
      if (scope === 'discovery') return withoutDiscovery;
      const { client: _client, discovery: _discovery2, ...bare } = withoutTokens;
      return bare;
    });
  }
  saveCodeVerifier(): void {}
  codeVerifier(): string {
    throw this.#state.requireLogin();
  }
  redirectToAuthorization(): void {
    throw this.#state.requireLogin();
  }
}
