// DownstreamConnection over Streamable HTTP and the older SSE transport: headers on every
// request, transparent re-initialization after a 404 (expired session), session termination
// on close, and reconnection after the server was down. The HTTP servers are real SDK
// servers on loopback; server-everything's SSE mode is a real separate process.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { SSEServerTransport } from '@modelcontextprotocol/sdk/server/sse.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { defaultSandbox } from '../../src/config/sandbox.js';
import type { ServerSpec } from '../../src/config/types.js';
import { GatewayError } from '../../src/errors.js';
import { SERVER_EVERYTHING } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { MARKER, MARKER_NAME, closeTracked, connectedAs, connection, expectNoLeftovers, recordingLogger, textOf } from '../helpers/downstream.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };
const HEADERS = { Authorization: 'Bearer test-token', 'X-Custom': 'yes' };

afterEach(closeTracked);
afterAll(expectNoLeftovers);

function remoteSpec(transport: 'http' | 'sse', url: string): ServerSpec {
  return { name: `remote-${transport}`, transport, url, args: [], env: {}, headers: HEADERS, enabled: true, isolation: 'shared', sandbox: defaultSandbox(false) };
}

function mcpServer(): McpServer {
  const server = new McpServer({ name: 'http-fixture', version: '1.0.0' });
  server.registerTool('echo', { description: 'Echo', inputSchema: { message: z.string() } }, ({ message }) => ({
    content: [{ type: 'text', text: message }],
  }));
  return server;
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  for await (const chunk of req) chunks.push(chunk as Buffer);
  const text = Buffer.concat(chunks).toString('utf8');
  return text === '' ? undefined : JSON.parse(text);
}

interface Seen {
  method: string;
  path: string;
  headers: IncomingHttpHeaders;
}

/** A stateful Streamable HTTP MCP server on loopback that records every request. */
async function startHttpServer(port = 0) {
  const seen: Seen[] = [];
  const sessions = new Map<string, StreamableHTTPServerTransport>();
  let initializations = 0;
  const http: Server = createServer((req, res) => {
    void (async () => {
      seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
      const body = req.method === 'POST' ? await readJson(req) : undefined;
      const sid = req.headers['mcp-session-id'];
      let transport = typeof sid === 'string' ? sessions.get(sid) : undefined;
      if (!transport) {
        if (sid !== undefined) {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end(JSON.stringify({ jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null }));
          return;
        }
        if (req.method !== 'POST' || !isInitializeRequest(body)) {
          res.writeHead(400).end();
          return;
        }
        initializations++;
        const created: StreamableHTTPServerTransport = new StreamableHTTPServerTransport({
          sessionIdGenerator: () => randomUUID(),
          onsessioninitialized: (id) => {
            sessions.set(id, created);
          },
          onsessionclosed: (id) => {
            sessions.delete(id);
          },
        });
        await mcpServer().connect(created);
        transport = created;
      }
      await transport.handleRequest(req, res, body);
    })().catch((err: unknown) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(String(err));
    });
  });
  await new Promise<void>((resolve) => http.listen(port, '127.0.0.1', resolve));
  const bound = (http.address() as AddressInfo).port;
  return {
    port: bound,
    url: `http://127.0.0.1:${bound}/mcp`,
    seen,
    sessions,
    get initializations() {
      return initializations;
    },
    /** The server forgets every session, as after a restart or an idle expiry. */
    async expireSessions() {
      const all = [...sessions.values()];
      sessions.clear();
      await Promise.all(all.map((t) => t.close()));
    },
    async stop() {
      await Promise.all([...sessions.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    },
  };
}

describe('Streamable HTTP', () => {
  const servers: { stop(): Promise<void> }[] = [];
  afterEach(async () => {
    await closeTracked();
    await Promise.all(servers.splice(0).map((s) => s.stop()));
  });

  it('sends the configured headers on every request and terminates the session on close', async () => {
    const server = await startHttpServer();
    servers.push(server);
    const c = connection(remoteSpec('http', server.url));
    expect(textOf(await c.callTool('echo', { message: 'over http' }, CALL))).toBe('over http');
    expect((await c.listTools()).map((t) => t.name)).toEqual(['echo']);
    expect(c.pid).toBeUndefined();
    expect(c.stderrTail()).toBe('');
    await c.close();

    expect(server.seen.length).toBeGreaterThanOrEqual(4);
    for (const request of server.seen) {
      expect(request.headers.authorization).toBe('Bearer test-token');
      expect(request.headers['x-custom']).toBe('yes');
    }
    expect(server.seen.some((r) => r.method === 'DELETE')).toBe(true);
    expect(server.sessions.size).toBe(0);
  });

  it('many calls over one connection raise no MaxListenersExceededWarning (undici keeps a listener per request until GC)', async () => {
    const server = await startHttpServer();
    servers.push(server);
    const warnings: Error[] = [];
    const onWarning = (w: Error): void => {
      if (w.name === 'MaxListenersExceededWarning') warnings.push(w);
    };
    process.on('warning', onWarning);
    try {
      const c = connection(remoteSpec('http', server.url));
      let left = 2_000;
      await Promise.all(
        Array.from({ length: 16 }, async () => {
          while (left-- > 0) expect(textOf(await c.callTool('echo', { message: 'm' }, CALL))).toBe('m');
        }),
      );
      await c.close();
      // Warnings are emitted on the next tick.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      process.off('warning', onWarning);
    }
    expect(warnings.map((w) => w.message)).toEqual([]);
  });

  it('turns credentials in the URL into an Authorization: Basic header (fetch refuses such URLs)', async () => {
    const server = await startHttpServer();
    servers.push(server);
    const url = server.url.replace('http://', 'http://al%40ice:p%3Ass@');
    const c = connection({ ...remoteSpec('http', url), headers: { 'X-Custom': 'yes' } });
    expect(textOf(await c.callTool('echo', { message: 'basic' }, CALL))).toBe('basic');
    await c.close();
    const expected = `Basic ${Buffer.from('al@ice:p:ss').toString('base64')}`;
    for (const request of server.seen) expect(request.headers.authorization).toBe(expected);

    // An explicit Authorization header wins over the URL's credentials.
    const explicit = connection({ ...remoteSpec('http', url), name: 'explicit' });
    expect(textOf(await explicit.callTool('echo', { message: 'bearer' }, CALL))).toBe('bearer');
    expect(server.seen.at(-1)?.headers.authorization).toBe('Bearer test-token');
  });

  it('re-initializes once, transparently, when the server answers 404 for the session', async () => {
    const server = await startHttpServer();
    servers.push(server);
    const c = connection(remoteSpec('http', server.url));
    expect(textOf(await c.callTool('echo', { message: 'one' }, CALL))).toBe('one');
    expect(server.initializations).toBe(1);

    await server.expireSessions();
    // Two calls at once share the one re-initialization.
    const [a, b] = await Promise.all([c.callTool('echo', { message: 'two' }, CALL), c.callTool('echo', { message: 'three' }, CALL)]);
    expect([textOf(a), textOf(b)]).toEqual(['two', 'three']);
    expect(server.initializations).toBe(2);
    expect(c.state).toBe('ready');
    expect(c.restarts).toBe(0);

    await server.expireSessions();
    expect((await c.listTools()).map((t) => t.name)).toEqual(['echo']);
    expect(server.initializations).toBe(3);
  });

  it('fails with SERVER_UNAVAILABLE while the server is down and reconnects once it is back', async () => {
    const server = await startHttpServer();
    const url = server.url;
    const c = connection(remoteSpec('http', url));
    await c.connect();
    await server.stop();

    const err = await c.callTool('echo', { message: 'x' }, CALL).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(GatewayError);
    expect((err as GatewayError).code).toBe('SERVER_UNAVAILABLE');
    expect(c.state).toBe('failed');
    expect(c.lastError).toContain("Server 'remote-http'");

    const connectErr = await c.connect().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect((connectErr as GatewayError).message).toContain(`Cannot connect to server 'remote-http' at ${url}`);

    const back = await startHttpServer(server.port);
    servers.push(back);
    expect(textOf(await c.callTool('echo', { message: 'back' }, CALL))).toBe('back');
    expect(c.state).toBe('ready');
    expect(c.restarts).toBe(2);
    // Credentials in a URL never reach a message.
    // (Port 1 on loopback refuses the connection.)
    const secret = connection({ ...remoteSpec('http', 'http://user:pw@127.0.0.1:1/mcp?token=abc'), name: 's' });
    const secretErr = (await secret.connect().catch((e: unknown) => e)) as GatewayError;
    expect(secretErr.message).not.toContain('pw');
    expect(secretErr.message).not.toContain('abc');
  });
});

describe('SSE', () => {
  it('talks to a server over the SSE transport, with the headers on the GET and the POSTs', async () => {
    const seen: Seen[] = [];
    const transports = new Map<string, SSEServerTransport>();
    const http = createServer((req, res) => {
      void (async () => {
        seen.push({ method: req.method ?? '', path: req.url ?? '', headers: req.headers });
        if (req.method === 'GET' && req.url === '/sse') {
          const transport = new SSEServerTransport('/messages', res);
          transports.set(transport.sessionId, transport);
          await mcpServer().connect(transport);
          return;
        }
        const sessionId = new URL(req.url ?? '', 'http://x').searchParams.get('sessionId') ?? '';
        const transport = transports.get(sessionId);
        if (!transport) {
          res.writeHead(404).end();
          return;
        }
        await transport.handlePostMessage(req, res);
      })().catch(() => res.end());
    });
    await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
    try {
      const port = (http.address() as AddressInfo).port;
      const c = connection(remoteSpec('sse', `http://127.0.0.1:${port}/sse`));
      expect(textOf(await c.callTool('echo', { message: 'over sse' }, CALL))).toBe('over sse');
      // SSE is 2025-only: no probe, straight to initialize.
      expect(c.era).toBe('legacy');
      await c.close();
      expect(seen.some((r) => r.method === 'GET')).toBe(true);
      expect(seen.some((r) => r.method === 'POST')).toBe(true);
      for (const request of seen) expect(request.headers.authorization).toBe('Bearer test-token');
    } finally {
      await Promise.all([...transports.values()].map((t) => t.close()));
      http.closeAllConnections();
      await new Promise<void>((resolve) => http.close(() => resolve()));
    }
  });

  it("works with server-everything's SSE mode", async () => {
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const port = (probe.address() as AddressInfo).port;
    await new Promise<void>((resolve) => probe.close(() => resolve()));

    let stderr = '';
    const child: ChildProcess = spawn(process.execPath, [SERVER_EVERYTHING, 'sse'], {
      env: { ...process.env, PORT: String(port), [MARKER_NAME]: MARKER },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    child.stderr?.on('data', (b: Buffer) => (stderr += b.toString()));
    try {
      await waitFor(() => stderr.includes(String(port)), { timeoutMs: 10_000, message: 'server-everything sse did not start' });
      const { logger, records } = recordingLogger();
      const c = connection(remoteSpec('sse', `http://127.0.0.1:${port}/sse`), { logger });
      expect(textOf(await c.callTool('echo', { message: 'hi' }, CALL))).toBe('Echo: hi');
      expect(connectedAs(records, c.name)).toBe('mcp-servers/everything');
      await c.close();
    } finally {
      child.kill('SIGKILL');
      await waitFor(() => child.exitCode !== null || child.signalCode !== null);
    }
  });
});
