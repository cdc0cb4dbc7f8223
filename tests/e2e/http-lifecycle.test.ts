// HTTP mode, operations (issue 5): TLS from --tls-cert/--tls-key and from SignalWire's
// certs/server.pem (real HTTPS on loopback with a certificate the test makes with openssl),
// HSTS under TLS; graceful SIGTERM (stop accepting, let an in-flight call finish, close MCP
// sessions and downstreams, exit 0); the drain bound; no process left behind.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { HTTP_MARKER_VAR, startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture } from '../helpers/paths.js';
import { processesWithEnv, readJsonlSafe, waitFor } from './http-support.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';

const RULES = { agents: { alice: { allow: { servers: ['*'] } } } };
const ECHO = { echo: { command: process.execPath, args: [fixture('echo')] } };

const started: HttpGw[] = [];
afterEach(() => {
  for (const gw of started.splice(0)) gw.kill();
});
afterAll(cleanupTmpDirs);

async function start(opts: Parameters<typeof startHttpGateway>[0]): Promise<HttpGw> {
  const gw = await startHttpGateway(opts);
  started.push(gw);
  return gw;
}

function makeCert(dir: string): { cert: string; key: string } {
  const cert = join(dir, 'cert.pem');
  const key = join(dir, 'key.pem');
  execFileSync(
    'openssl',
    [
      'req',
      '-x509',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      key,
      '-out',
      cert,
      '-days',
      '2',
      '-subj',
      '/CN=localhost',
      '-addext',
      'subjectAltName=IP:127.0.0.1,DNS:localhost',
    ],
    { stdio: 'ignore' },
  );
  return { cert, key };
}

function httpsGet(url: string, ca: Buffer, path = '/health'): Promise<{ status: number; headers: Record<string, unknown>; body: string }> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const q = httpsRequest({ host: u.hostname, port: u.port, path, ca, servername: 'localhost' }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body }));
    });
    q.on('error', reject);
    q.end();
  });
}

function plainGet(url: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const u = new URL(url);
    const q = httpRequest({ host: u.hostname, port: u.port, path: '/health' }, (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    q.on('error', reject);
    q.end();
  });
}

describe('TLS', () => {
  it('--tls-cert/--tls-key serve HTTPS with HSTS; plain HTTP on that port fails', async () => {
    const dir = makeTmpDir('amg-tls-');
    const { cert, key } = makeCert(dir);
    const gw = await start({ mcpServers: ECHO, rules: RULES, args: ['--tls-cert', cert, '--tls-key', key] });
    expect(gw.url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const res = await httpsGet(gw.url, readFileSync(cert));
    expect(res.status).toBe(200);
    expect(JSON.parse(res.body)).toMatchObject({ status: 'healthy' });
    expect(res.headers['strict-transport-security']).toBe('max-age=31536000; includeSubDomains');
    expect(res.headers['x-content-type-options']).toBe('nosniff');
    await expect(plainGet(gw.url.replace('https:', 'http:'))).rejects.toThrow();
    // A client that does not trust the certificate is refused by TLS itself.
    await expect(httpsGet(gw.url, Buffer.from(''))).rejects.toThrow();
    expect(await gw.stop()).toBe(0);
  });

  it("SignalWire's certs/server.pem (certificate and key in one file) in the working directory", async () => {
    const dir = makeTmpDir('amg-pem-');
    const { cert, key } = makeCert(dir);
    mkdirSync(join(dir, 'certs'));
    writeFileSync(join(dir, 'certs', 'server.pem'), readFileSync(cert, 'utf8') + readFileSync(key, 'utf8'));
    const gw = await start({ mcpServers: ECHO, rules: RULES, cwd: dir });
    expect(gw.url).toMatch(/^https:/);
    expect(gw.stderr()).toContain(join(dir, 'certs', 'server.pem'));
    expect((await httpsGet(gw.url, readFileSync(cert))).status).toBe(200);
    expect(await gw.stop()).toBe(0);
  });
});

describe('graceful shutdown', () => {
  it('SIGTERM: stops accepting, the in-flight call finishes with 200, MCP sessions close, exit 0, no process left', async () => {
    const dir = makeTmpDir('amg-drain-');
    const callLog = join(dir, 'calls.jsonl');
    const gw = await start({
      mcpServers: ECHO,
      rules: RULES,
      args: ['--drain-timeout-ms', '60000'],
      env: { FIXTURE_CALL_LOG: callLog },
    });
    // An MCP client with its standing GET stream open must not hold the shutdown up.
    const client = new Client({ name: 'drain-test', version: '1.0.0' });
    await client.connect(new StreamableHTTPClientTransport(new URL(`${gw.url}/mcp`)));
    const inFlight = fetch(`${gw.url}/services/echo/call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tool: 'slow', arguments: { ms: 3000 }, session_id: 'drain-1', agent_id: 'alice' }),
    });
    // The downstream has the call: now the gateway is asked to stop.
    await waitFor(() => readJsonlSafe(callLog).some((l) => l['tool'] === 'slow'), { message: 'the slow call never reached the server' });
    const children = processesWithEnv(HTTP_MARKER_VAR, gw.marker).filter((p) => p.pid !== gw.pid);
    expect(children.length).toBeGreaterThan(0);
    gw.child.kill('SIGTERM');
    // New connections are refused while the call is still running...
    await waitFor(
      () =>
        fetch(`${gw.url}/health`).then(
          () => false,
          () => true,
        ),
      { message: 'the gateway kept accepting connections after SIGTERM' },
    );
    // ...and the call in flight still gets its answer.
    const res = await inFlight;
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ result: 'slept 3000', isError: false });
    expect(await gw.exited).toBe(0);
    await client.close().catch(() => undefined);
    expect(gw.stderr()).toContain('waiting for in-flight requests');
    await waitFor(() => processesWithEnv(HTTP_MARKER_VAR, gw.marker).length === 0, { message: 'a process outlived the gateway' });
  });

  it('the drain is bounded: a call still running at the bound is cut, the gateway exits 0, no process left', async () => {
    const dir = makeTmpDir('amg-bound-');
    const callLog = join(dir, 'calls.jsonl');
    const gw = await start({ mcpServers: ECHO, rules: RULES, args: ['--drain-timeout-ms', '200'], env: { FIXTURE_CALL_LOG: callLog } });
    const inFlight = fetch(`${gw.url}/services/echo/call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tool: 'slow', arguments: { ms: 600_000 }, session_id: 'cut-1', agent_id: 'alice' }),
    }).then(
      (r) => r.status,
      () => 'connection closed',
    );
    await waitFor(() => readJsonlSafe(callLog).some((l) => l['tool'] === 'slow'), { message: 'the slow call never reached the server' });
    gw.child.kill('SIGTERM');
    expect(await gw.exited).toBe(0);
    expect(await inFlight).toBe('connection closed');
    expect(gw.stderr()).toContain('drain time is up');
    await waitFor(() => processesWithEnv(HTTP_MARKER_VAR, gw.marker).length === 0, { message: 'a process outlived the gateway' });
  });

  it('SIGINT works the same way; the audit log is flushed', async () => {
    const gw = await start({ mcpServers: ECHO, rules: RULES });
    const r = await fetch(`${gw.url}/services/echo/call`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify({ tool: 'echo', arguments: { message: 'bye' }, session_id: 'int-1', agent_id: 'alice' }),
    });
    expect(r.status).toBe(200);
    expect(await gw.stop('SIGINT')).toBe(0);
    expect(readJsonlSafe(gw.auditPath).some((l) => l['session_id'] === 'int-1')).toBe(true);
    await waitFor(() => processesWithEnv(HTTP_MARKER_VAR, gw.marker).length === 0, { message: 'a process outlived the gateway' });
  });
});
