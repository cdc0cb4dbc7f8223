// How the gateway refreshes a hosted server's OAuth tokens, against a token endpoint running in
// the test: gateways sharing the token folder do not undo each other's refreshes, the server
// entry's headers never reach the authorization server, an outage of the authorization server
// keeps the login, a 401 for a token already replaced causes no new refresh, and a folder that
// cannot be written keeps the tokens in memory.
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { SdkErrorCode, SdkHttpError } from '@modelcontextprotocol/client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { ServerSpec } from '../../src/config/types.js';
import { authRequiredError } from '../../src/downstream/failureMapping.js';
import { AuthServerUnavailableError, DownstreamOAuth, LoginRequiredError } from '../../src/downstream/oauthProvider.js';
import { OAuthStore, recordUrl, type OAuthRecord } from '../../src/downstream/oauthStore.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';

const MCP_URL = 'https://mcp.example.test/mcp';
const SPEC = { name: 'hosted', transport: 'http', url: MCP_URL, headers: {} } as unknown as ServerSpec & { url: string };

/** A token endpoint with one-use refresh tokens (rotated on every refresh), or one that fails with `failWith`. */
class TokenEndpoint {
  server: Server = createServer();
  valid = 'RT1';
  issued = 1;
  refreshes = 0;
  failWith: number | undefined;
  readonly seen: IncomingHttpHeaders[] = [];
  get url(): string {
    return `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async start(): Promise<void> {
    this.server.on('request', (req, res) => {
      let body = '';
      req.on('data', (chunk: Buffer) => (body += chunk.toString()));
      req.on('end', () => {
        this.seen.push(req.headers);
        const json = (status: number, value: object): void => void res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(value));
        if (this.failWith !== undefined) return json(this.failWith, { error: 'server_error' });
        if (new URLSearchParams(body).get('refresh_token') !== this.valid) return json(400, { error: 'invalid_grant' });
        this.refreshes++;
        this.issued++;
        this.valid = `RT${this.issued}`;
        return json(200, { access_token: `AT${this.issued}`, token_type: 'Bearer', expires_in: 3600, refresh_token: this.valid });
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
  }
}

const as = new TokenEndpoint();
const now = Date.now();

beforeAll(() => as.start());
afterEach(() => {
  as.failWith = undefined;
});
afterAll(async () => {
  await new Promise<void>((resolve) => as.server.close(() => resolve()));
  cleanupTmpDirs();
});

/** A record as `login` leaves it: AT1/RT1, expiring `expiresInMs` from now. */
function loggedIn(expiresInMs: number): OAuthRecord {
  as.valid = 'RT1';
  as.issued = 1;
  return {
    server: 'hosted',
    url: recordUrl(MCP_URL),
    redirectUri: 'http://127.0.0.1:1/callback',
    client: { client_id: 'c' },
    tokens: { access_token: 'AT1', token_type: 'Bearer', refresh_token: 'RT1', expires_in: 3600 },
    obtainedAt: now - 3600_000 + expiresInMs,
    expiresAt: now + expiresInMs,
    discovery: {
      authorizationServerUrl: as.url,
      authorizationServerMetadata: {
        issuer: as.url,
        authorization_endpoint: `${as.url}/authorize`,
        token_endpoint: `${as.url}/token`,
        response_types_supported: ['code'],
      },
      resourceMetadata: { resource: MCP_URL, authorization_servers: [as.url] },
    },
  };
}

function gateway(dir: string, clock: () => number, warnings: string[] = []) {
  const oauth = new DownstreamOAuth({ store: new OAuthStore(dir), loginCommand: (s) => `agent-mcp-gateway login ${s}`, now: clock, warn: (m) => warnings.push(m) });
  const provider = oauth.authProviderFor(SPEC)!;
  return { oauth, provider, token: () => provider.token() };
}

/** What the transport hands onUnauthorized: its fetch carries the entry's headers. */
function unauthorized(headers: Record<string, string> = {}) {
  return {
    response: new Response(null, { status: 401 }),
    serverUrl: new URL(MCP_URL),
    fetchFn: (url: string | URL, init?: RequestInit) => fetch(url, { ...init, headers: { ...Object.fromEntries(new Headers(init?.headers)), ...headers } }),
  };
}

function storedTokens(dir: string): { access_token: string; refresh_token: string } | undefined {
  const file = readdirSync(dir).find((f) => f.endsWith('.json'))!;
  return (JSON.parse(readFileSync(join(dir, file), 'utf8')) as OAuthRecord).tokens as { access_token: string; refresh_token: string } | undefined;
}

describe('refreshing a hosted server token', () => {
  it('two gateways sharing the folder: the second uses what the first stored, and the file keeps the tokens', async () => {
    const dir = makeTmpDir('amg-oauth-refresh-');
    await new OAuthStore(dir).write(loggedIn(30_000));
    let clock = now - 600_000;
    const a = gateway(dir, () => clock);
    const b = gateway(dir, () => clock);
    expect(await a.token()).toBe('AT1');
    expect(await b.token()).toBe('AT1');
    clock = now; // both inside the refresh-ahead window
    expect(await a.token()).toBe('AT2');
    expect(await b.token()).toBe('AT2');
    expect(as.refreshes).toBeGreaterThan(0);
    expect(storedTokens(dir)).toMatchObject({ access_token: 'AT2', refresh_token: 'RT2' });
    expect(b.oauth.statusOf(SPEC)).toBe('logged_in');
    // Concurrently too: one refresh in all, both end on the same tokens.
    writeFileSync(
      join(
        dir,
        readdirSync(dir).find((f) => f.endsWith('.json'))!,
      ),
      JSON.stringify(loggedIn(30_000)),
    );
    const c = gateway(dir, () => now);
    const d = gateway(dir, () => now);
    const [tc, td] = await Promise.all([c.token(), d.token()]);
    expect(tc).toBe('AT2');
    expect(td).toBe('AT2');
    expect(storedTokens(dir)).toMatchObject({ access_token: 'AT2', refresh_token: 'RT2' });
  });

  it('a refused refresh drops the tokens only while the file still holds the refused refresh token', async () => {
    const dir = makeTmpDir('amg-oauth-refresh-');
    await new OAuthStore(dir).write(loggedIn(3_600_000));
    const a = gateway(dir, () => now);
    expect(await a.token()).toBe('AT1');
    as.valid = 'revoked';
    await expect(a.provider.onUnauthorized!(unauthorized())).rejects.toBeInstanceOf(LoginRequiredError);
    expect(storedTokens(dir)).toBeUndefined();
    expect(a.oauth.statusOf(SPEC)).toBe('login_required');
  });

  it('sends none of the server entry’s headers to the authorization server', async () => {
    const dir = makeTmpDir('amg-oauth-refresh-');
    await new OAuthStore(dir).write(loggedIn(3_600_000));
    const a = gateway(dir, () => now);
    await a.token();
    const before = as.seen.length;
    await a.provider.onUnauthorized!(unauthorized({ 'X-Api-Key': 'entry-secret' }));
    expect(await a.token()).toBe('AT2');
    const toTokenEndpoint = as.seen.slice(before);
    expect(toTokenEndpoint).toHaveLength(1);
    expect(toTokenEndpoint[0]!['x-api-key']).toBeUndefined();
  });

  it('a 401 for a token another request already replaced retries with the new one, without another refresh', async () => {
    const dir = makeTmpDir('amg-oauth-refresh-');
    await new OAuthStore(dir).write(loggedIn(3_600_000));
    const a = gateway(dir, () => now);
    // Two requests go out with AT1; both are answered 401.
    expect(await a.token()).toBe('AT1');
    expect(await a.token()).toBe('AT1');
    const refreshes = as.refreshes;
    await a.provider.onUnauthorized!(unauthorized());
    expect(as.refreshes).toBe(refreshes + 1);
    await a.provider.onUnauthorized!(unauthorized());
    expect(as.refreshes).toBe(refreshes + 1);
    expect(await a.token()).toBe('AT2');
    // Another gateway refreshed meanwhile: the 401 for the token this one sent needs no refresh of its own.
    const b = gateway(dir, () => now);
    await b.token();
    await b.provider.onUnauthorized!(unauthorized());
    expect(as.refreshes).toBe(refreshes + 2);
    await a.provider.onUnauthorized!(unauthorized());
    expect(as.refreshes).toBe(refreshes + 2);
    expect(await a.token()).toBe('AT3');
  });

  it('an authorization server that fails (5xx) or cannot be reached keeps the login: a valid token is used, an expired one is SERVER_UNAVAILABLE', async () => {
    const dir = makeTmpDir('amg-oauth-refresh-');
    await new OAuthStore(dir).write(loggedIn(30_000));
    const a = gateway(dir, () => now);
    as.failWith = 503;
    expect(await a.token()).toBe('AT1');
    expect(a.oauth.statusOf(SPEC)).toBe('logged_in');
    const late = gateway(dir, () => now + 60_000);
    const err = await late.token().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AuthServerUnavailableError);
    expect(authRequiredError(err, 'hosted')?.code).toBe('SERVER_UNAVAILABLE');
    expect((err as Error).message).toContain('authorization server');
    expect(storedTokens(dir)).toMatchObject({ access_token: 'AT1', refresh_token: 'RT1' });
    expect(late.oauth.statusOf(SPEC)).toBe('logged_in');

    // Unreachable: the same.
    const record = loggedIn(30_000);
    const closed = createServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((resolve) => closed.close(() => resolve()));
    await new OAuthStore(dir).write({
      ...record,
      discovery: { ...record.discovery!, authorizationServerMetadata: { ...record.discovery!.authorizationServerMetadata!, token_endpoint: `${deadUrl}/token` } },
    });
    expect(await gateway(dir, () => now).token()).toBe('AT1');
    await expect(gateway(dir, () => now + 60_000).token()).rejects.toBeInstanceOf(AuthServerUnavailableError);
  });

  it('a folder that cannot be written: a warning without the tokens, which are kept in memory', async () => {
    const dir = makeTmpDir('amg-oauth-refresh-');
    await new OAuthStore(dir).write(loggedIn(30_000));
    // A read-only mount (chmod does not stop root, who runs the tests in CI containers).
    class ReadOnlyStore extends OAuthStore {
      override write(): Promise<void> {
        return Promise.reject(Object.assign(new Error('read-only file system'), { code: 'EROFS' }));
      }
    }
    const warnings: string[] = [];
    const oauth = new DownstreamOAuth({ store: new ReadOnlyStore(dir), loginCommand: (s) => `login ${s}`, now: () => now, warn: (m) => warnings.push(m) });
    const provider = oauth.authProviderFor(SPEC)!;
    expect(await provider.token()).toBe('AT2');
    expect(warnings.join('\n')).toContain("Cannot store the OAuth tokens of server 'hosted'");
    expect(warnings.join('\n')).toContain('EROFS');
    expect(warnings.join('\n')).not.toMatch(/AT2|RT2/);
    // The refreshed tokens stay in use, and a 401 refreshes with the rotated refresh token held in memory.
    expect(await provider.token()).toBe('AT2');
    await provider.onUnauthorized!(unauthorized());
    expect(await provider.token()).toBe('AT3');
    expect(storedTokens(dir)).toMatchObject({ access_token: 'AT1' });
  });

  it('a server that refuses the token again after a refresh is AUTH_REQUIRED, naming the login command', () => {
    const err = new SdkHttpError(SdkErrorCode.ClientHttpAuthentication, 'Server returned 401 after re-authentication', { status: 401, text: '' } as never);
    const mapped = authRequiredError(err, 'hosted', 'whoami', (s) => `agent-mcp-gateway login ${s}`);
    expect(mapped?.code).toBe('AUTH_REQUIRED');
    expect(mapped?.message).toContain('`agent-mcp-gateway login hosted`');
  });
});
