// A hosted MCP server that requires OAuth, and its authorization server, both real and both
// in the test process:
//   - the authorization server is oauth2-mock-server (RS256 keys, JWKS, PKCE checked, an
//     /authorize that approves at once by redirecting with a code), plus what it lacks: a
//     dynamic client registration endpoint, audience (RFC 8707 `resource`) and lifetime of
//     the tokens it signs, and refresh tokens it remembers and can revoke (invalid_grant);
//   - the MCP server (v1 SDK, Streamable HTTP on /mcp and the old HTTP+SSE on /sse)
//     publishes protected-resource metadata (RFC 9728), answers 401 with WWW-Authenticate
//     without a valid token, verifies tokens against the authorization server's JWKS (jose:
//     signature, issuer, audience, expiry), and answers 403 insufficient_scope to a call of
//     its `admin` tool without the admin scope.
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRemoteJWKSet, jwtVerify } from 'jose';
import { Events, OAuth2Server } from 'oauth2-mock-server';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';

export interface OAuthWorld {
  readonly issuer: string;
  /** The Streamable HTTP endpoint (also the protected resource's identifier). */
  readonly mcpUrl: string;
  /** The HTTP+SSE endpoint (a protected resource of its own). */
  readonly sseUrl: string;
  /** Lifetime of the access tokens issued from now on, in seconds. */
  tokenTtlS: number;
  readonly stats: {
    registrations: number;
    codeExchanges: number;
    refreshes: number;
    refusedRefreshes: number;
    unauthorized: number;
    apiKeysAtTokenEndpoint: number;
  };
  /** Every refresh token issued so far is refused from now on (invalid_grant). */
  revokeRefreshTokens(): void;
  /** The access tokens seen so far are answered 401 from now on, although still valid. */
  rejectSeenAccessTokens(): void;
  close(): Promise<void>;
}

export async function startOAuthWorld(): Promise<OAuthWorld> {
  const as = new OAuth2Server();
  await as.issuer.keys.generate('RS256');
  await as.start(0, '127.0.0.1');
  const issuer = as.issuer.url!;
  const stats = { registrations: 0, codeExchanges: 0, refreshes: 0, refusedRefreshes: 0, unauthorized: 0, apiKeysAtTokenEndpoint: 0 };
  const liveRefreshTokens = new Set<string>();
  const seenAccessTokens = new Set<string>();
  const rejectedAccessTokens = new Set<string>();

  as.service.on(Events.BeforeWellKnownOpenIdConfiguration, (response: { body: Record<string, unknown> }) => {
    response.body['registration_endpoint'] = `${issuer}/register`;
  });
  as.service.addRoute('POST', '/register', (req: IncomingMessage & { body?: unknown }, res: ServerResponse) => {
    stats.registrations++;
    const metadata = (req.body ?? {}) as Record<string, unknown>;
    res.writeHead(201, { 'content-type': 'application/json' });
    res.end(JSON.stringify({ ...metadata, client_id: randomUUID(), client_id_issued_at: Math.floor(Date.now() / 1000), token_endpoint_auth_method: 'none' }));
  });
  let ttl = 3600;
  as.service.on(Events.BeforeTokenSigning, (token: { payload: Record<string, unknown> }, req: { body?: Record<string, unknown> }) => {
    const resource = req.body?.['resource'];
    if (typeof resource === 'string') token.payload['aud'] = resource;
    token.payload['exp'] = Math.floor(Date.now() / 1000) + ttl;
    // RS256 signatures are deterministic: without a jti, two tokens of the same second would be one.
    token.payload['jti'] = randomUUID();
  });
  as.service.on(
    Events.BeforeResponse,
    (response: { body: Record<string, unknown>; statusCode: number }, req: IncomingMessage & { body?: Record<string, unknown> }) => {
      // A server entry's static headers are the MCP server's: the authorization server must never get them.
      if (req.headers['x-api-key'] !== undefined) stats.apiKeysAtTokenEndpoint++;
      const grant = req.body?.['grant_type'];
      if (grant === 'refresh_token') {
        const presented = req.body?.['refresh_token'];
        if (typeof presented !== 'string' || !liveRefreshTokens.delete(presented)) {
          stats.refusedRefreshes++;
          response.statusCode = 400;
          response.body = { error: 'invalid_grant', error_description: 'refresh token revoked' };
          return;
        }
        stats.refreshes++;
      } else if (grant === 'authorization_code') {
        stats.codeExchanges++;
      }
      response.body['expires_in'] = ttl;
      if (typeof response.body['refresh_token'] === 'string') liveRefreshTokens.add(response.body['refresh_token']);
    },
  );

  const jwks = createRemoteJWKSet(new URL(`${issuer}/jwks`));
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  const sseSessions = new Map<string, SSEServerTransport>();
  let origin = '';

  const authorized = async (req: IncomingMessage): Promise<{ sub: string; scope: string } | undefined> => {
    const match = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '');
    if (!match) return undefined;
    const token = match[1]!;
    if (rejectedAccessTokens.has(token)) return undefined;
    try {
      const { payload } = await jwtVerify(token, jwks, { issuer, audience: [`${origin}/mcp`, `${origin}/sse`] });
      seenAccessTokens.add(token);
      return { sub: String(payload.sub), scope: String(payload['scope'] ?? '') };
    } catch {
      return undefined;
    }
  };

  const buildServer = (who: { sub: string; scope: string }): McpServer => {
    const server = new McpServer({ name: 'hosted', version: '1.0.0' });
    server.registerTool('admin', { description: 'Needs the admin scope (403 insufficient_scope without it)' }, async () => ({
      content: [{ type: 'text', text: 'admin' }],
    }));
    server.registerTool('whoami', { description: 'Who the token says the caller is' }, async () => ({ content: [{ type: 'text', text: JSON.stringify(who) }] }));
    return server;
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    const metadata = /^\/\.well-known\/oauth-protected-resource(\/mcp|\/sse)?$/.exec(path);
    if (metadata) {
      res.writeHead(200, { 'content-type': 'application/json' });
      const resource = `${origin}${metadata[1] ?? '/mcp'}`;
      res.end(JSON.stringify({ resource, authorization_servers: [issuer], scopes_supported: ['mcp:tools'], bearer_methods_supported: ['header'] }));
      return;
    }
    const endpoint = path === '/messages' ? '/sse' : path;
    if (endpoint !== '/mcp' && endpoint !== '/sse') return void res.writeHead(404).end();
    const who = await authorized(req);
    if (who === undefined) {
      stats.unauthorized++;
      const error = req.headers.authorization ? ', error="invalid_token"' : '';
      const metadataUrl = `${origin}/.well-known/oauth-protected-resource${endpoint}`;
      res.writeHead(401, { 'www-authenticate': `Bearer resource_metadata="${metadataUrl}", scope="mcp:tools"${error}`, 'content-type': 'application/json' });
      res.end(JSON.stringify({ error: 'invalid_token' }));
      return;
    }
    if (path === '/sse') {
      const transport = new SSEServerTransport('/messages', res);
      sseSessions.set(transport.sessionId, transport);
      transport.onclose = () => void sseSessions.delete(transport.sessionId);
      await buildServer(who).connect(transport);
      return;
    }
    if (path === '/messages') {
      const transport = sseSessions.get(new URL(req.url ?? '/', 'http://x').searchParams.get('sessionId') ?? '');
      if (transport === undefined) return void res.writeHead(404).end();
      return transport.handlePostMessage(req, res);
    }
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    const body: unknown = raw === '' ? undefined : JSON.parse(raw);
    const call = body as { method?: string; params?: { name?: string } } | undefined;
    if (call?.method === 'tools/call' && call.params?.name === 'admin' && !who.scope.split(' ').includes('admin')) {
      const metadataUrl = `${origin}/.well-known/oauth-protected-resource/mcp`;
      res.writeHead(403, { 'www-authenticate': `Bearer error="insufficient_scope", scope="mcp:tools admin", resource_metadata="${metadataUrl}"` });
      res.end();
      return;
    }
    const sid = req.headers['mcp-session-id'];
    const existing = typeof sid === 'string' ? sessions.get(sid) : undefined;
    if (existing) return existing.handleRequest(req, res, body);
    if (sid !== undefined) return void res.writeHead(404).end();
    const transport = new StreamableHTTPServerTransport({
      sessionIdGenerator: () => randomUUID(),
      onsessioninitialized: (id) => void sessions.set(id, transport),
    });
    transport.onclose = () => void (transport.sessionId && sessions.delete(transport.sessionId));
    await buildServer(who).connect(transport);
    return transport.handleRequest(req, res, body);
  };
  const http = createServer((req, res) => {
    route(req, res).catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500).end(String(err));
    });
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const port = (http.address() as AddressInfo).port;
  origin = `http://127.0.0.1:${port}`;

  return {
    issuer,
    mcpUrl: `${origin}/mcp`,
    sseUrl: `${origin}/sse`,
    get tokenTtlS() {
      return ttl;
    },
    set tokenTtlS(value: number) {
      ttl = value;
    },
    stats,
    revokeRefreshTokens: () => liveRefreshTokens.clear(),
    rejectSeenAccessTokens: () => {
      for (const token of seenAccessTokens) rejectedAccessTokens.add(token);
    },
    async close() {
      await Promise.allSettled([...sessions.values(), ...sseSessions.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
      await as.stop();
    },
  };
}
