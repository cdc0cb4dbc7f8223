// A hosted Streamable HTTP server that requires OAuth, through the built gateway (issue 18,
// the back door): AUTH_REQUIRED naming the login command before any login, then the built
// `agent-mcp-gateway login --no-browser` run as a person would (the test follows the printed
// URL; the authorization server approves at once and redirects to the loopback callback),
// then calls that work without restarting the gateway, refresh on expiry and on a 401, and
// AUTH_REQUIRED again once the refresh token is revoked. Real authorization server
// (oauth2-mock-server), real token checks in the server (jose against its JWKS).
import { spawn } from 'node:child_process';
import { createServer, type AddressInfo } from 'node:net';
import { readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { callTool, startGateway, type GatewayHandle } from '../helpers/gateway.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { startOAuthWorld, type OAuthWorld } from '../helpers/oauthWorld.js';
import { GATEWAY_MAIN } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { codeOf, errorOf, textOf } from '../helpers/results.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';

const MARKER = `oauth-downstream-${process.pid}-${Date.now()}`;
const RULES = { agents: { dev: { allow: { servers: ['*'] } } } };

let world: OAuthWorld;
const gateways: GatewayHandle[] = [];

beforeAll(async () => {
  world = await startOAuthWorld();
});
afterEach(async () => {
  await Promise.all(gateways.splice(0).map((gw) => gw.close()));
});
afterAll(async () => {
  await world.close();
  cleanupTmpDirs();
});
guardAgainstLeaks(MARKER);

async function start(oauthDir: string, hosted: object = { type: 'http', url: world.mcpUrl, description: 'a hosted server' }): Promise<GatewayHandle> {
  const gw = await startGateway({
    mcpServers: { hosted },
    rules: RULES,
    args: ['--oauth-dir', oauthDir, '--debug'],
    env: { GW_E2E_MARKER: MARKER, GATEWAY_OAUTH_DIR: '', GATEWAY_LOG_LEVEL: 'debug' },
  });
  gateways.push(gw);
  return gw;
}

const whoami = (gw: GatewayHandle) => callTool(gw.client, 'execute_tool', { agent_id: 'dev', server: 'hosted', tool: 'whoami', args: {} });

async function hostedStatus(gw: GatewayHandle): Promise<{ listed: Record<string, unknown>; status: Record<string, unknown> }> {
  const list = JSON.parse(textOf(await callTool(gw.client, 'list_servers', { agent_id: 'dev', include_metadata: true }))) as { servers: Record<string, unknown>[] };
  const status = JSON.parse(textOf(await callTool(gw.client, 'get_gateway_status', { agent_id: 'dev' }))) as { servers: Record<string, unknown>[] };
  return { listed: list.servers.find((s) => s['name'] === 'hosted')!, status: status.servers.find((s) => s['name'] === 'hosted')! };
}

function spawnLogin(mcpConfigPath: string, oauthDir: string, server = 'hosted') {
  const child = spawn(process.execPath, [GATEWAY_MAIN, 'login', server, '--mcp-config', mcpConfigPath, '--oauth-dir', oauthDir, '--no-browser', '--timeout', '60'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, GW_E2E_MARKER: MARKER },
  });
  const output = { out: '', err: '' };
  child.stdout.on('data', (chunk: Buffer) => (output.out += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (output.err += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => resolve(code)));
  return { child, output, exited };
}

/** A login that must fail before it prints a URL. */
async function failedLogin(mcpConfigPath: string, oauthDir: string, server: string): Promise<{ code: number | null; err: string }> {
  const { output, exited } = spawnLogin(mcpConfigPath, oauthDir, server);
  return { code: await exited, err: output.err };
}

/** Runs the built `login --no-browser`, follows the printed URL like a browser, and returns its exit code and output. */
async function login(mcpConfigPath: string, oauthDir: string): Promise<{ code: number | null; out: string; err: string; url: URL }> {
  const { child, output, exited } = spawnLogin(mcpConfigPath, oauthDir);
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', () => {
      const match = /^ {2}(https?:\/\/\S+)$/m.exec(output.out);
      if (match) resolve(match[1]!);
    });
    void exited.then(() => reject(new Error(`login exited before printing a URL:\n${output.out}\n${output.err}`)));
  });
  // The authorization server approves at once: its answer is the redirect to our loopback callback.
  const approval = await fetch(url, { redirect: 'manual' });
  expect(approval.status).toBe(302);
  const callback = new URL(approval.headers.get('location')!);
  // The loopback listener is on 127.0.0.1 (a configured callbackPort is named localhost).
  expect(['127.0.0.1', 'localhost']).toContain(callback.hostname);
  callback.hostname = '127.0.0.1';
  const landed = await fetch(callback);
  expect(landed.status).toBe(200);
  const code = await exited;
  return { code, ...output, url: new URL(url) };
}

function tokenFile(oauthDir: string): string {
  const files = readdirSync(oauthDir).filter((f) => f.endsWith('.json'));
  expect(files).toHaveLength(1);
  return join(oauthDir, files[0]!);
}

describe('a hosted server that requires OAuth', () => {
  it('is AUTH_REQUIRED before login; after `login` the same gateway reaches it, and nothing leaks the tokens', async () => {
    const oauthDir = join(makeTmpDir('amg-oauth-'), 'tokens');
    const gw = await start(oauthDir);

    const before = await whoami(gw);
    expect(codeOf(before)).toBe('AUTH_REQUIRED');
    const message = errorOf(before)!.message;
    expect(message).toContain(`agent-mcp-gateway login hosted --mcp-config ${gw.mcpConfigPath} --oauth-dir ${oauthDir}`);
    const needed = await hostedStatus(gw);
    expect(needed.listed['auth']).toBe('login_required');
    expect(needed.status['auth']).toBe('login_required');
    // At once: the gateway neither registered a client nor started an authorization.
    expect(world.stats.registrations).toBe(0);
    // A second call is refused the same way, with no backoff in between.
    expect(codeOf(await whoami(gw))).toBe('AUTH_REQUIRED');

    const done = await login(gw.mcpConfigPath, oauthDir);
    expect(done.code, done.err).toBe(0);
    expect(done.out).toContain("Logged in to 'hosted'");
    const file = tokenFile(oauthDir);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(statSync(oauthDir).mode & 0o777).toBe(0o700);
    const stored = JSON.parse(readFileSync(file, 'utf8')) as { tokens: { access_token: string; refresh_token: string }; client: { client_id: string } };
    expect(world.stats.registrations).toBe(1);
    expect(world.stats.codeExchanges).toBe(1);

    // No restart: the next call reads the stored tokens.
    const after = await whoami(gw);
    expect(after.isError ?? false, textOf(after)).toBe(false);
    expect(JSON.parse(textOf(after))).toMatchObject({ sub: 'johndoe' });
    // A tool that needs a scope the login did not get: AUTH_REQUIRED saying how to get it.
    const stepUp = await callTool(gw.client, 'execute_tool', { agent_id: 'dev', server: 'hosted', tool: 'admin', args: {} });
    expect(codeOf(stepUp), textOf(stepUp)).toBe('AUTH_REQUIRED');
    expect(errorOf(stepUp)!.message).toContain('("mcp:tools admin")');
    expect(errorOf(stepUp)!.message).toContain('"oauth.scopes"');
    expect(errorOf(stepUp)!.message).toContain('agent-mcp-gateway login hosted');
    const loggedIn = await hostedStatus(gw);
    expect(loggedIn.listed['auth']).toBe('logged_in');
    expect(loggedIn.status['auth']).toBe('logged_in');

    for (const secret of [stored.tokens.access_token, stored.tokens.refresh_token]) {
      expect(gw.stderr()).not.toContain(secret);
      expect(readFileSync(gw.auditPath, 'utf8')).not.toContain(secret);
      expect(done.out + done.err).not.toContain(secret);
    }
  });

  it('refreshes a token that expired and one the server refused (401); a revoked refresh token means AUTH_REQUIRED again', async () => {
    const oauthDir = join(makeTmpDir('amg-oauth-'), 'tokens');
    const gw = await start(oauthDir);
    world.tokenTtlS = 3;
    try {
      expect((await login(gw.mcpConfigPath, oauthDir)).code).toBe(0);
      const file = tokenFile(oauthDir);
      expect((await whoami(gw)).isError ?? false).toBe(false);
      // Read after the call: on a slow machine that call may already have refreshed early.
      const first = JSON.parse(readFileSync(file, 'utf8')) as { expiresAt: number; tokens: { access_token: string } };
      expect(first.expiresAt - Date.now()).toBeLessThanOrEqual(3000);

      // Expiry: once the stored token has expired, the call still works, on a refreshed one.
      world.tokenTtlS = 3600;
      const refreshesBefore = world.stats.refreshes;
      await waitFor(() => Date.now() > first.expiresAt + 50, { timeoutMs: 10_000 });
      const afterExpiry = await whoami(gw);
      expect(afterExpiry.isError ?? false, textOf(afterExpiry)).toBe(false);
      expect(world.stats.refreshes).toBeGreaterThan(refreshesBefore);
      const refreshesAfterExpiry = world.stats.refreshes;
      const second = JSON.parse(readFileSync(file, 'utf8')) as { tokens: { access_token: string } };
      expect(second.tokens.access_token).not.toBe(first.tokens.access_token);
      expect(statSync(file).mode & 0o777).toBe(0o600);

      // A 401 on a token that has not expired: one refresh, and the request is retried.
      world.rejectSeenAccessTokens();
      const unauthorizedBefore = world.stats.unauthorized;
      const afterReject = await whoami(gw);
      expect(afterReject.isError ?? false, textOf(afterReject)).toBe(false);
      expect(world.stats.unauthorized).toBeGreaterThan(unauthorizedBefore);
      expect(world.stats.refreshes).toBeGreaterThan(refreshesAfterExpiry);

      // Revoked: the refresh is refused (invalid_grant), so the call needs a login again.
      world.revokeRefreshTokens();
      world.rejectSeenAccessTokens();
      const revoked = await whoami(gw);
      expect(codeOf(revoked), textOf(revoked)).toBe('AUTH_REQUIRED');
      expect(errorOf(revoked)!.message).toContain('agent-mcp-gateway login hosted');
      expect(world.stats.refusedRefreshes).toBeGreaterThan(0);
      expect((await hostedStatus(gw)).status['auth']).toBe('login_required');

      // And a new login brings it back, still without a restart.
      expect((await login(gw.mcpConfigPath, oauthDir)).code).toBe(0);
      const back = await whoami(gw);
      expect(back.isError ?? false, textOf(back)).toBe(false);
    } finally {
      world.tokenTtlS = 3600;
    }
  });

  it("sends a server entry's static headers to the MCP server only, never to the authorization server", async () => {
    const oauthDir = join(makeTmpDir('amg-oauth-'), 'tokens');
    const gw = await start(oauthDir, { type: 'http', url: world.mcpUrl, headers: { 'X-Api-Key': 'entry-key' } });
    expect((await login(gw.mcpConfigPath, oauthDir)).code).toBe(0);
    expect((await whoami(gw)).isError ?? false).toBe(false);
    const refreshes = world.stats.refreshes;
    world.rejectSeenAccessTokens();
    const afterReject = await whoami(gw);
    expect(afterReject.isError ?? false, textOf(afterReject)).toBe(false);
    expect(world.stats.refreshes).toBeGreaterThan(refreshes);
    expect(world.stats.apiKeysAtTokenEndpoint).toBe(0);
  });

  it('works the same over HTTP+SSE', async () => {
    const oauthDir = join(makeTmpDir('amg-oauth-'), 'tokens');
    const gw = await start(oauthDir, { type: 'sse', url: world.sseUrl });
    expect(codeOf(await whoami(gw))).toBe('AUTH_REQUIRED');
    expect((await hostedStatus(gw)).status['auth']).toBe('login_required');
    const done = await login(gw.mcpConfigPath, oauthDir);
    expect(done.code, done.err).toBe(0);
    const after = await whoami(gw);
    expect(after.isError ?? false, textOf(after)).toBe(false);
    expect(JSON.parse(textOf(after))).toMatchObject({ sub: 'johndoe' });
  });

  it('a static Authorization header turns OAuth off: no login is asked for, and `login` refuses', async () => {
    const oauthDir = join(makeTmpDir('amg-oauth-'), 'tokens');
    const gw = await start(oauthDir, { type: 'http', url: world.mcpUrl, headers: { Authorization: 'Bearer not-a-valid-token' } });
    const refused = await whoami(gw);
    // The server refuses the configured header: a server failure, not a login to run.
    expect(codeOf(refused)).toBe('SERVER_UNAVAILABLE');
    expect((await hostedStatus(gw)).status['auth']).toBeUndefined();
    const cli = await failedLogin(gw.mcpConfigPath, oauthDir, 'hosted');
    expect(cli.code).toBe(1);
    expect(cli.err).toContain('static Authorization header');
  });

  it('`login` names what is wrong: an unknown server, a stdio server', async () => {
    const dir = makeTmpDir('amg-oauth-');
    const config = join(dir, '.mcp.json');
    writeFileSync(config, JSON.stringify({ mcpServers: { hosted: { type: 'http', url: world.mcpUrl }, local: { command: 'node' } } }));
    const unknown = await failedLogin(config, join(dir, 'tokens'), 'hostd');
    expect(unknown.code).toBe(1);
    expect(unknown.err).toContain("no server 'hostd'");
    expect(unknown.err).toContain("did you mean 'hosted'");
    const local = await failedLogin(config, join(dir, 'tokens'), 'local');
    expect(local.code).toBe(1);
    expect(local.err).toContain('stdio server');
  });

  it("honours Claude Code's oauth keys: a pre-registered clientId (no registration), callbackPort, authServerMetadataUrl and scopes", async () => {
    const oauthDir = join(makeTmpDir('amg-oauth-'), 'tokens');
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const callbackPort = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));
    const gw = await start(oauthDir, {
      type: 'http',
      url: world.mcpUrl,
      oauth: { clientId: 'pre-registered', callbackPort, authServerMetadataUrl: `${world.issuer}/.well-known/openid-configuration`, scopes: 'mcp:tools extra' },
    });
    // An entry with an oauth block is known to need a login before it is ever called.
    expect((await hostedStatus(gw)).status['auth']).toBe('login_required');
    const registrations = world.stats.registrations;
    const done = await login(gw.mcpConfigPath, oauthDir);
    expect(done.code, done.err).toBe(0);
    expect(world.stats.registrations).toBe(registrations);
    expect(done.url.searchParams.get('client_id')).toBe('pre-registered');
    expect(done.url.searchParams.get('redirect_uri')).toBe(`http://localhost:${callbackPort}/callback`);
    expect(done.url.searchParams.get('scope')).toBe('mcp:tools extra');
    expect(done.url.searchParams.get('code_challenge_method')).toBe('S256');
    expect(done.url.searchParams.get('resource')).toBe(world.mcpUrl);
    expect((JSON.parse(readFileSync(tokenFile(oauthDir), 'utf8')) as { client: { client_id: string } }).client.client_id).toBe('pre-registered');
    const after = await whoami(gw);
    expect(after.isError ?? false, textOf(after)).toBe(false);
  });
});
