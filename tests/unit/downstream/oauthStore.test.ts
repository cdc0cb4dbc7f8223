import { chmodSync, existsSync, mkdirSync, readdirSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import type { ServerSpec } from '../../../src/config/types.js';
import { DownstreamOAuth, LoginRequiredError } from '../../../src/downstream/oauthProvider.js';
import { defaultOAuthDir, OAuthStore, recordUrl } from '../../../src/downstream/oauthStore.js';
import { loginCommandFor } from '../../../src/cli/login.js';
import type { CliIo } from '../../../src/cli/io.js';
import { cleanupTmpDirs, makeTmpDir } from '../../helpers/tmp.js';

afterAll(() => cleanupTmpDirs());

function spec(over: Partial<ServerSpec> = {}): ServerSpec {
  return {
    name: 'hosted',
    transport: 'http',
    url: 'https://mcp.example/mcp',
    args: [],
    env: {},
    headers: {},
    enabled: true,
    isolation: 'shared',
    sandbox: { enabled: false, resourceLimits: false, restrictedEnv: false, limits: { cpuSeconds: 0, memoryMb: 0, processes: 0, fileSizeMb: 0 } },
    ...over,
  };
}

describe('OAuthStore', () => {
  it('keys a record on name and URL: a same-named server elsewhere gets another file; credentials and fragment do not count', () => {
    const store = new OAuthStore('/x');
    const a = store.fileOf('hosted', 'https://a.example/mcp');
    expect(store.fileOf('hosted', 'https://b.example/mcp')).not.toBe(a);
    expect(store.fileOf('other', 'https://a.example/mcp')).not.toBe(a);
    expect(store.fileOf('hosted', 'https://u:p@a.example/mcp#x')).toBe(a);
    expect(recordUrl('https://u:p@a.example/mcp#x')).toBe('https://a.example/mcp');
  });

  it('writes only for the user (folder 0700, file 0600), tightens a folder that was open, and leaves no temp file', async () => {
    const dir = join(makeTmpDir('amg-oauth-store-'), 'oauth');
    mkdirSync(dir, { mode: 0o755 });
    chmodSync(dir, 0o755);
    const store = new OAuthStore(dir);
    await store.write({ server: 'hosted', url: recordUrl('https://a.example/mcp'), tokens: { access_token: 'at', token_type: 'Bearer' } });
    await store.write({ server: 'hosted', url: recordUrl('https://a.example/mcp'), tokens: { access_token: 'at2', token_type: 'Bearer' } });
    expect(statSync(dir).mode & 0o777).toBe(0o700);
    const files = readdirSync(dir);
    expect(files).toHaveLength(1);
    expect(statSync(join(dir, files[0]!)).mode & 0o777).toBe(0o600);
    expect((await store.read('hosted', 'https://a.example/mcp'))?.tokens?.access_token).toBe('at2');
    expect(store.storedSync('hosted', 'https://a.example/mcp')).toBe('tokens');
    expect(store.storedSync('hosted', 'https://b.example/mcp')).toBeUndefined();
    await store.write({ server: 'hosted', url: recordUrl('https://a.example/mcp'), client: { client_id: 'c' } });
    expect(store.storedSync('hosted', 'https://a.example/mcp')).toBe('no_tokens');
  });

  it('reads nothing from a missing file, a file that is not JSON, or a record of another server', async () => {
    const dir = makeTmpDir('amg-oauth-store-');
    const store = new OAuthStore(dir);
    expect(await store.read('hosted', 'https://a.example/mcp')).toBeUndefined();
    writeFileSync(store.fileOf('hosted', 'https://a.example/mcp'), '{not json');
    expect(await store.read('hosted', 'https://a.example/mcp')).toBeUndefined();
    writeFileSync(store.fileOf('hosted', 'https://a.example/mcp'), JSON.stringify({ server: 'hosted', url: 'https://b.example/mcp' }));
    expect(await store.read('hosted', 'https://a.example/mcp')).toBeUndefined();
  });

  it('runs one locked task at a time per server, breaks a stale lock, and leaves no lock behind', async () => {
    const dir = join(makeTmpDir('amg-oauth-store-'), 'oauth');
    const store = new OAuthStore(dir);
    const lock = `${store.fileOf('hosted', 'https://a.example/mcp')}.lock`;
    const order: string[] = [];
    let release!: () => void;
    const first = store.withLock('hosted', 'https://a.example/mcp', async () => {
      order.push('first in');
      await new Promise<void>((resolve) => (release = resolve));
      order.push('first out');
    });
    await vi.waitFor(() => expect(order).toEqual(['first in']));
    const second = store.withLock('hosted', 'https://a.example/mcp', async () => {
      order.push('second');
      return 2;
    });
    expect(existsSync(lock)).toBe(true);
    release();
    expect(await second).toBe(2);
    await first;
    expect(order).toEqual(['first in', 'first out', 'second']);
    expect(existsSync(lock)).toBe(false);
    // A lock left by a gateway that died mid-refresh.
    writeFileSync(lock, 'dead');
    utimesSync(lock, new Date(Date.now() - 120_000), new Date(Date.now() - 120_000));
    expect(await store.withLock('hosted', 'https://a.example/mcp', () => Promise.resolve('ran'))).toBe('ran');
    expect(existsSync(lock)).toBe(false);
  });

  it('lives under $XDG_CONFIG_HOME, else ~/.config', () => {
    expect(defaultOAuthDir({ XDG_CONFIG_HOME: '/cfg' }, '/home/u')).toBe('/cfg/agent-mcp-gateway/oauth');
    expect(defaultOAuthDir({}, '/home/u')).toBe('/home/u/.config/agent-mcp-gateway/oauth');
    expect(defaultOAuthDir({ XDG_CONFIG_HOME: 'relative' }, '/home/u')).toBe('/home/u/.config/agent-mcp-gateway/oauth');
  });
});

describe('DownstreamOAuth', () => {
  const loginCommand = (server: string) => `agent-mcp-gateway login ${server}`;

  it('is off for stdio servers and for a static Authorization header (in headers or in the URL)', () => {
    const oauth = new DownstreamOAuth({ store: new OAuthStore(makeTmpDir('amg-oauth-')), loginCommand });
    expect(oauth.authProviderFor(spec({ transport: 'stdio', url: undefined, command: 'x' }))).toBeUndefined();
    expect(oauth.authProviderFor(spec({ headers: { authorization: 'Bearer x' } }))).toBeUndefined();
    expect(oauth.authProviderFor(spec({ url: 'https://u:p@mcp.example/mcp' }))).toBeUndefined();
    expect(oauth.statusOf(spec({ headers: { Authorization: 'Bearer x' }, oauth: {} }))).toBeUndefined();
    expect(oauth.authProviderFor(spec())).toBeDefined();
  });

  it('says login_required for a server with an oauth block and nothing stored, logged_in once a record is stored, nothing for others', async () => {
    const store = new OAuthStore(makeTmpDir('amg-oauth-'));
    const oauth = new DownstreamOAuth({ store, loginCommand });
    expect(oauth.statusOf(spec())).toBeUndefined();
    expect(oauth.statusOf(spec({ oauth: { clientId: 'c' } }))).toBe('login_required');
    await store.write({ server: 'hosted', url: recordUrl('https://mcp.example/mcp'), tokens: { access_token: 'at', token_type: 'Bearer' } });
    expect(oauth.statusOf(spec({ oauth: { clientId: 'c' } }))).toBe('logged_in');
  });

  it('without tokens sends none, and a 401 fails at once with the login command, marking the server login_required', async () => {
    const oauth = new DownstreamOAuth({ store: new OAuthStore(makeTmpDir('amg-oauth-')), loginCommand });
    const provider = oauth.authProviderFor(spec())!;
    expect(await provider.token()).toBeUndefined();
    const ctx = { response: new Response(null, { status: 401 }), serverUrl: new URL('https://mcp.example/mcp'), fetchFn: fetch };
    const failure = await provider.onUnauthorized!(ctx).catch((err: unknown) => err);
    expect(failure).toBeInstanceOf(LoginRequiredError);
    expect((failure as Error).message).toContain('run `agent-mcp-gateway login hosted`');
    expect(oauth.statusOf(spec())).toBe('login_required');
  });
});

describe('loginCommandFor', () => {
  const io = (env: Record<string, string> = {}): CliIo => ({ out: () => {}, err: () => {}, env, cwd: '/', home: '/home/u' });
  const notGiven = { path: '/home/u/.config/agent-mcp-gateway/oauth', given: false };

  it('names only the server when the files are the defaults', () => {
    expect(loginCommandFor(io(), { oauthDir: notGiven }, '/home/u/.mcp.json')('hosted')).toBe('agent-mcp-gateway login hosted');
  });

  it('adds --mcp-config and --oauth-dir when a flag or the environment chose them, quoted for a shell', () => {
    const withFlag = loginCommandFor(io(), { mcpConfigFlag: 'x', oauthDir: { path: '/my tokens', given: true } }, '/work/my dir/.mcp.json');
    expect(withFlag('hosted')).toBe("agent-mcp-gateway login hosted --mcp-config '/work/my dir/.mcp.json' --oauth-dir '/my tokens'");
    expect(loginCommandFor(io({ GATEWAY_MCP_CONFIG: '/c.json' }), { oauthDir: notGiven }, '/c.json')('hosted')).toBe(
      'agent-mcp-gateway login hosted --mcp-config /c.json',
    );
  });
});
