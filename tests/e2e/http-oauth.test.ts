// HTTP mode, the front door for identity providers (issue 18): the built gateway against a
// real OAuth 2.0 / OIDC server running in the test (oauth2-mock-server: real keys, discovery,
// JWKS, token endpoint). Tokens it signs are accepted for the agent the rules map them to, on
// REST and on /mcp in both eras; expired, wrong-audience, wrong-issuer, unsigned, tampered and
// algorithm-confused tokens are refused; a rotated key is picked up and a removed one refused;
// a missing scope is 403 insufficient_scope; a token mapping to no agent is refused; a client
// finds the issuer from the 401 alone. The shared secret and per-agent tokens still work.
import { createHash, createHmac, createPublicKey } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { Client as ClientV2, ClientCredentialsProvider, discoverOAuthServerInfo, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { Events, OAuth2Server } from 'oauth2-mock-server';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runGatewayExpectingFailure, startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, writeJson } from '../helpers/tmp.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const b64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const SHARED = 'shared-oauth-test-token';
const PER_AGENT = 'per-agent-oauth-test-token';
const MCP_SERVERS = { echo: { command: process.execPath, args: [fixture('echo')] } };
const AGENTS = { researcher: { allow: { servers: ['echo'] } }, ci: {}, admins: { allow: { servers: ['*'] } } };

const idp = new OAuth2Server();
const stranger = new OAuth2Server();
/** The kids the IdP's key set publishes now (the IdP signs with any key it holds). */
const published = new Set<string>();
let issuer = '';
let resource = '';
/** A configured issuer nobody listens for: its tokens must be refused (fail closed). */
let downIssuer = '';
let kid1 = '';
let gw: HttpGw;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function oauthRules(agents: unknown[] = MAPPINGS) {
  return {
    agents: AGENTS,
    credentials: { [sha256(PER_AGENT)]: 'researcher' },
    oauth: { issuers: [{ issuer, scopes: ['mcp'], jwks_cooldown_seconds: 1 }, { issuer: downIssuer }], agents },
  };
}
const MAPPINGS = [
  { agent: 'researcher', match: { sub: 'user-*' } },
  { agent: 'ci', match: { azp: 'ci-bot' } },
  { agent: 'admins', match: { groups: 'mcp-admins' } },
];

/** A token of `server` (default: the configured IdP) for `resource`, sub user-1, scope mcp; `undefined` claims are left out. */
async function token(claims: Record<string, unknown> = {}, opts: { kid?: string; server?: OAuth2Server } = {}): Promise<string> {
  const server = opts.server ?? idp;
  return server.issuer.buildToken({
    kid: opts.kid ?? (server === idp ? kid1 : undefined),
    scopesOrTransform: (_header, payload) => {
      Object.assign(payload, { aud: resource, sub: 'user-1', scope: 'mcp', ...claims });
      for (const [k, v] of Object.entries(payload)) if (v === undefined) delete payload[k];
    },
  });
}

const rest = (path: string, auth?: string, init: RequestInit = {}) =>
  fetch(`${gw.url}${path}`, { ...init, headers: { ...(auth !== undefined ? { Authorization: auth } : {}), ...(init.headers as Record<string, string>) } });
const servicesOf = async (auth: string) => {
  const res = await rest('/services', auth);
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
};
const used: string[] = [];
const bearer = (t: string) => {
  used.push(t);
  return `Bearer ${t}`;
};

beforeAll(async () => {
  kid1 = (await idp.issuer.keys.generate('RS256')).kid;
  published.add(kid1);
  idp.service.addRoute('GET', '/published-jwks', (_req, res) => {
    res.setHeader('Content-Type', 'application/json');
    res.end(JSON.stringify({ keys: idp.issuer.keys.toJSON().filter((k) => published.has(k.kid)) }));
  });
  idp.service.on(Events.BeforeWellKnownOpenIdConfiguration, (response) => {
    if (response.body !== '') response.body['jwks_uri'] = `${issuer}/published-jwks`;
  });
  await idp.start(0, '127.0.0.1');
  issuer = idp.issuer.url!;
  await stranger.issuer.keys.generate('RS256');
  await stranger.start(0, '127.0.0.1');
  downIssuer = `http://127.0.0.1:${await freePort()}`;
  const port = await freePort();
  resource = `http://127.0.0.1:${port}/mcp`;
  gw = await startHttpGateway({
    mcpServers: MCP_SERVERS,
    rules: oauthRules(),
    noDefaults: true,
    args: ['--host', '127.0.0.1', '--port', String(port), '--resource-url', resource],
    env: { GATEWAY_AUTH_TOKEN: SHARED },
  });
});
afterAll(async () => {
  if (gw) {
    await gw.stop();
    gw.kill();
  }
  await Promise.all([idp.stop(), stranger.stop()]);
  cleanupTmpDirs();
});

describe('discovery: what a client needs to find the issuer', () => {
  it('401 -> resource_metadata -> authorization_servers[0] -> its metadata', async () => {
    const res = await rest('/mcp', undefined, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
    expect(res.status).toBe(401);
    const challenge = res.headers.get('www-authenticate') ?? '';
    expect(challenge.startsWith('Bearer ')).toBe(true);
    const metadataUrl = /resource_metadata="([^"]+)"/.exec(challenge)?.[1];
    expect(metadataUrl).toBe(`${new URL(resource).origin}/.well-known/oauth-protected-resource/mcp`);
    const metadata = (await (await fetch(metadataUrl!)).json()) as Record<string, unknown>;
    expect(metadata).toEqual({ resource, authorization_servers: [issuer, downIssuer], scopes_supported: ['mcp'], bearer_methods_supported: ['header'] });
    // The bare well-known path serves the same document.
    expect(await (await fetch(`${gw.url}/.well-known/oauth-protected-resource`)).json()).toEqual(metadata);
    // As a client would: RFC 8414 first, then OpenID Connect discovery.
    const as = (metadata['authorization_servers'] as string[])[0]!;
    expect((await fetch(`${as}/.well-known/oauth-authorization-server`)).status).toBe(404);
    const oidc = (await (await fetch(`${as}/.well-known/openid-configuration`)).json()) as Record<string, unknown>;
    expect(oidc).toMatchObject({ issuer, token_endpoint: `${issuer}/token` });
  });

  it('the v2 SDK client discovers the authorization server from our metadata', async () => {
    const info = await discoverOAuthServerInfo(resource);
    expect(info.authorizationServerUrl).toBe(issuer);
    expect(info.resourceMetadata?.resource).toBe(resource);
    expect(info.authorizationServerMetadata?.issuer).toBe(issuer);
  });

  it('a token that fails validation is answered error="invalid_token"', async () => {
    const res = await rest('/services', 'Bearer a.b.c');
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
  });
});

describe('REST with identity-provider tokens', () => {
  it("a good token acts as the mapped agent: that agent's view, bound like a per-agent token", async () => {
    expect(await servicesOf(bearer(await token()))).toMatchObject({ status: 200, body: { echo: expect.any(Object) } });
    expect(await servicesOf(bearer(await token({ sub: 'svc-1', azp: 'ci-bot' })))).toEqual({ status: 200, body: {} });
    const call = await rest('/services/echo/call', bearer(await token()), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tool: 'echo', arguments: { message: 'via oauth' }, session_id: 'oauth-1' }),
    });
    expect(call.status).toBe(200);
    expect(JSON.stringify(await call.json())).toContain('via oauth');
    const claim = await rest('/services/echo/call', bearer(await token()), {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tool: 'echo', arguments: { message: 'x' }, agent_id: 'admins', session_id: 'oauth-2' }),
    });
    expect(claim.status).toBe(403);
    expect(((await claim.json()) as { code: string }).code).toBe('AGENT_MISMATCH');
  });

  it('a group claim (array) maps by any element; scp as a list grants scopes too', async () => {
    const admin = await token({ sub: 'someone', scope: undefined, scp: ['mcp'], groups: ['staff', 'mcp-admins'] });
    expect((await servicesOf(bearer(admin))).status).toBe(200);
  });

  it.each([
    ['expired (beyond the leeway)', async () => token({ exp: Math.floor(Date.now() / 1000) - 120 })],
    ['not yet valid', async () => token({ nbf: Math.floor(Date.now() / 1000) + 600 })],
    ['wrong audience', async () => token({ aud: 'https://other.example.com/mcp' })],
    ['audience missing', async () => token({ aud: undefined })],
    ['wrong issuer (another real IdP)', async () => token({}, { server: stranger })],
    ['our issuer claimed, signed by another IdP', async () => token({ iss: issuer }, { server: stranger })],
    ['no sub', async () => token({ sub: undefined })],
    [
      'unsigned (alg none)',
      async () => {
        const [, payload] = (await token()).split('.');
        return `${b64url({ alg: 'none', typ: 'JWT' })}.${payload}.`;
      },
    ],
    [
      'tampered payload',
      async () => {
        const [header, payload, signature] = (await token()).split('.');
        const claims = JSON.parse(Buffer.from(payload!, 'base64url').toString()) as Record<string, unknown>;
        return `${header}.${b64url({ ...claims, groups: ['mcp-admins'] })}.${signature}`;
      },
    ],
    [
      'HS256 signed with the public key (algorithm confusion)',
      async () => {
        const [, payload] = (await token()).split('.');
        const jwk = idp.issuer.keys.toJSON().find((k) => k.kid === kid1)!;
        const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({ type: 'spki', format: 'pem' });
        const header = b64url({ alg: 'HS256', typ: 'JWT', kid: kid1 });
        return `${header}.${payload}.${createHmac('sha256', pem).update(`${header}.${payload}`).digest('base64url')}`;
      },
    ],
  ])('%s: 401 invalid_token', async (_name, make) => {
    const res = await rest('/services', bearer(await make()));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toMatch(/^Bearer realm="MCP Gateway", resource_metadata="[^"]+", error="invalid_token"/);
  });

  it('an issuer whose metadata cannot be fetched: refused (fail closed), logged without the token', async () => {
    const res = await rest('/services', bearer(await token({ iss: downIssuer }, { server: stranger })));
    expect(res.status).toBe(401);
    expect(res.headers.get('www-authenticate')).toContain('error="invalid_token"');
    await waitFor(() => gw.stderr().includes('identity provider metadata or keys unavailable'));
  });

  it('a required scope missing: 403 insufficient_scope naming it', async () => {
    const res = await rest('/services', bearer(await token({ scope: 'openid profile' })));
    expect(res.status).toBe(403);
    expect(res.headers.get('www-authenticate')).toBe(
      `Bearer error="insufficient_scope", scope="mcp", resource_metadata="${new URL(resource).origin}/.well-known/oauth-protected-resource/mcp"`,
    );
    expect(((await res.json()) as { code: string }).code).toBe('INSUFFICIENT_SCOPE');
  });

  it('a valid token whose claims map to no agent is refused (403), as an unknown agent', async () => {
    const res = await rest('/services', bearer(await token({ sub: 'visitor-9' })));
    expect(res.status).toBe(403);
    expect(await res.json()).toMatchObject({ code: 'INVALID_AGENT_ID', error: expect.stringContaining('maps to no agent') });
  });

  it('the shared secret and per-agent tokens keep working beside it', async () => {
    expect((await rest('/services?agent_id=admins', `Bearer ${SHARED}`)).status).toBe(200);
    expect(await servicesOf(`Bearer ${PER_AGENT}`)).toMatchObject({ status: 200, body: { echo: expect.any(Object) } });
    expect((await rest('/services')).status).toBe(401);
  });
});

describe('/mcp with identity-provider tokens, both eras', () => {
  it('a 2025 client (v1 SDK) with a bearer header: the mapped agent is bound', async () => {
    const client = new Client({ name: 'oauth-v1', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { Authorization: bearer(await token()) } } }));
    try {
      const listed = await client.callTool({ name: 'list_servers', arguments: {} });
      expect(JSON.stringify(listed.structuredContent)).toContain('"echo"');
      const claim = await client.callTool({ name: 'execute_tool', arguments: { agent_id: 'admins', server: 'echo', tool: 'echo', args: { message: 'x' } } });
      expect(JSON.stringify(claim)).toContain('AGENT_MISMATCH');
    } finally {
      await client.close();
    }
  });

  it('a 2026-07-28 client (v2 SDK) with a bearer header', async () => {
    const client = new ClientV2({ name: 'oauth-v2', version: '2.0.0' }, { versionNegotiation: { mode: { pin: '2026-07-28' } } });
    await client.connect(
      new TransportV2(new URL(`${gw.url}/mcp`), { requestInit: { headers: { Authorization: bearer(await token({ sub: 'svc', azp: 'ci-bot' })) } } }),
    );
    try {
      expect(client.getProtocolEra()).toBe('modern');
      const listed = await client.callTool({ name: 'list_servers', arguments: {} });
      expect(listed.structuredContent).toMatchObject({ servers: [] });
    } finally {
      await client.close();
    }
  });

  it('a client with a bad token cannot connect', async () => {
    const client = new Client({ name: 'oauth-bad', version: '1.0.0' });
    const connecting = client.connect(
      new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`), { requestInit: { headers: { Authorization: bearer(await token({ aud: 'x' })) } } }),
    );
    await expect(connecting).rejects.toThrow();
    await client.close();
  });

  it('the v2 SDK client completes discovery and a client-credentials grant by itself, then connects', async () => {
    idp.service.once(Events.BeforeTokenSigning, (t, req) => {
      // RFC 8707 as a real server does it: the audience is the resource the client asked for.
      Object.assign(t.payload, { aud: (req.body as { resource?: string }).resource, sub: 'svc-ci', azp: 'ci-bot', scope: 'mcp' });
    });
    const provider = new ClientCredentialsProvider({ clientId: 'ci-bot', clientSecret: 'not-checked', scope: 'mcp', expectedIssuer: issuer });
    const client = new ClientV2({ name: 'oauth-cc', version: '2.0.0' });
    await client.connect(new TransportV2(new URL(resource), { authProvider: provider }));
    try {
      const listed = await client.callTool({ name: 'list_servers', arguments: {} });
      expect(listed.structuredContent).toMatchObject({ servers: [] });
    } finally {
      await client.close();
    }
  });
});

describe('keys and rules change while the gateway runs', () => {
  it('a new key is picked up (unknown kid refetches the key set); a removed key is refused', async () => {
    const kid2 = (await idp.issuer.keys.generate('ES256')).kid;
    published.add(kid2);
    const signedByNew = await token({}, { kid: kid2 });
    await waitFor(async () => (await rest('/services', bearer(signedByNew))).status === 200, { timeoutMs: 15_000 });
    // Rotation: kid1 leaves the set; the next unknown kid (kid3) refetches it.
    published.delete(kid1);
    const kid3 = (await idp.issuer.keys.generate('RS256')).kid;
    published.add(kid3);
    const signedByThird = await token({}, { kid: kid3 });
    await waitFor(async () => (await rest('/services', bearer(signedByThird))).status === 200, { timeoutMs: 15_000 });
    expect((await rest('/services', bearer(await token({}, { kid: kid1 })))).status).toBe(401);
    expect((await rest('/services', bearer(signedByNew))).status).toBe(200);
  });

  it('the mapping reloads with the rules file', async () => {
    const t = await token({}, { kid: [...published][0]! });
    expect((await rest('/services', bearer(t))).status).toBe(200);
    writeJson(gw.rulesPath, oauthRules(MAPPINGS.filter((m) => m.agent !== 'researcher')));
    await waitFor(async () => (await rest('/services', bearer(t))).status === 403, { timeoutMs: 15_000 });
    writeJson(gw.rulesPath, oauthRules());
    await waitFor(async () => (await rest('/services', bearer(t))).status === 200, { timeoutMs: 15_000 });
  });

  it('no token is ever logged or audited', () => {
    expect(used.length).toBeGreaterThan(10);
    const logs = gw.stderr();
    const audit = readFileSync(gw.auditPath, 'utf8');
    for (const t of used) {
      const signature = t.split('.')[2]!;
      expect(logs.includes(t) || (signature !== '' && logs.includes(signature))).toBe(false);
      expect(audit.includes(t) || (signature !== '' && audit.includes(signature))).toBe(false);
    }
  });
});

describe('start-up checks', () => {
  it('issuers without --resource-url: refused, naming the flag', async () => {
    const { code, stderr } = await runGatewayExpectingFailure({ mcpServers: MCP_SERVERS, rules: oauthRules() });
    expect(code).not.toBe(0);
    expect(stderr).toContain('--resource-url (GATEWAY_RESOURCE_URL)');
  });

  it('a resource URL that is not https off loopback is refused', async () => {
    const { stderr } = await runGatewayExpectingFailure({ mcpServers: MCP_SERVERS, rules: oauthRules(), args: ['--resource-url', 'http://mcp.example.com/mcp'] });
    expect(stderr).toContain('--resource-url: must be an https URL');
  });
});
