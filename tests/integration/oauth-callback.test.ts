// The loopback redirect of `login`: only the callback with the login's state completes it,
// a refusal from the authorization server fails it, the wait is bounded, and close() frees
// the port.
import { createServer as createHttpServer } from 'node:http';
import { createServer, type AddressInfo } from 'node:net';
import { afterAll, describe, expect, it } from 'vitest';
import type { ServerSpec } from '../../src/config/types.js';
import { listenForCallback } from '../../src/downstream/oauthCallback.js';
import { login, LoginError } from '../../src/downstream/oauthLogin.js';
import { OAuthStore } from '../../src/downstream/oauthStore.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';

afterAll(() => cleanupTmpDirs());

async function freePort(): Promise<number> {
  const probe = createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as { port: number }).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  return port;
}

describe('login callback listener', () => {
  it('ignores a callback with another state (400), takes the one with the login state, and closes', async () => {
    const listener = await listenForCallback(undefined);
    expect(listener.redirectUri).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/callback$/);
    const waiting = listener.wait('the-state', 10_000);
    const forged = await fetch(`${listener.redirectUri}?code=evil&state=other`);
    expect(forged.status).toBe(400);
    expect((await fetch(listener.redirectUri.replace('/callback', '/favicon.ico'))).status).toBe(404);
    const good = await fetch(`${listener.redirectUri}?code=abc&state=the-state`);
    expect(good.status).toBe(200);
    expect(await good.text()).not.toContain('abc');
    expect((await waiting).get('code')).toBe('abc');
    await listener.close();
    await expect(fetch(listener.redirectUri)).rejects.toThrow();
  });

  it("fails on the authorization server's error, without showing its description", async () => {
    const listener = await listenForCallback(undefined);
    const waiting = listener.wait('s', 10_000).catch((err: unknown) => err);
    const answer = await fetch(`${listener.redirectUri}?error=access_denied&error_description=${encodeURIComponent('<script>x</script>')}&state=s`);
    expect(answer.status).toBe(400);
    expect(await answer.text()).not.toContain('script');
    expect(String(await waiting)).toContain('"access_denied"');
    await listener.close();
  });

  it('gives up after the timeout, and a configured port is used with the localhost redirect URI Claude Code registers', async () => {
    const port = await freePort();
    const listener = await listenForCallback(port);
    expect(listener.redirectUri).toBe(`http://localhost:${port}/callback`);
    await expect(listener.wait('s', 50)).rejects.toThrow('no answer from the browser');
    await listener.close();
    await listener.close();
  });

  it('with a configured port it also answers on ::1, where a browser may resolve localhost (when the host has IPv6)', async () => {
    const hasIpv6 = await new Promise<boolean>((resolve) => {
      const probe = createServer();
      probe.once('error', () => resolve(false));
      probe.listen(0, '::1', () => probe.close(() => resolve(true)));
    });
    const port = await freePort();
    const listener = await listenForCallback(port);
    const waiting = listener.wait('s', 10_000);
    const host = hasIpv6 ? '[::1]' : '127.0.0.1';
    expect((await fetch(`http://${host}:${port}/callback?code=abc&state=s`)).status).toBe(200);
    expect((await waiting).get('code')).toBe('abc');
    await listener.close();
    await expect(fetch(`http://${host}:${port}/callback`)).rejects.toThrow();
  });
});

describe('login', () => {
  it('is bounded by its timeout as a whole: an authorization server that never answers ends it', async () => {
    // The MCP server asks for a login; its protected-resource metadata never comes.
    const server = createHttpServer((req, res) => {
      if (req.url === '/mcp') {
        res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="http://127.0.0.1:${(server.address() as AddressInfo).port}/prm"` }).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`;
      const spec = { name: 'hosted', transport: 'http', url, headers: {} } as unknown as ServerSpec;
      const outcome = login({ spec, store: new OAuthStore(makeTmpDir('amg-login-')), timeoutMs: 1000, onAuthorizationUrl: () => {} });
      await expect(outcome).rejects.toBeInstanceOf(LoginError);
      await expect(outcome).rejects.toThrow('The login did not finish within 1 s');
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
