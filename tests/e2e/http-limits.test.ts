// HTTP mode, protection and operations (issue 5), end to end on the built gateway: 429 with
// Retry-After and RateLimit-* headers, per authenticated identity and per IP before
// authentication; /health never limited; Redis-backed limits shared by two gateway
// instances (a real redis-server started here); GET /metrics (auth) parsed.
import { createHash } from 'node:crypto';
import { afterAll, describe, expect, it } from 'vitest';
import { startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture } from '../helpers/paths.js';
import { needsRedis, startRedis, stopAllRedis } from '../helpers/redis.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const BOB_TOKEN = 'bob-limits-token';
const ECHO = { echo: { command: process.execPath, args: [fixture('echo')] } };
const RULES = {
  agents: { alice: { allow: { servers: ['echo'] } }, bob: { allow: { servers: ['echo'] } } },
  credentials: { [sha256(BOB_TOKEN)]: 'bob' },
};
const T = 'Bearer tok-123';

const started: HttpGw[] = [];
async function start(args: string[], env: Record<string, string> = {}): Promise<HttpGw> {
  const gw = await startHttpGateway({ mcpServers: ECHO, rules: RULES, args, env: { GATEWAY_AUTH_TOKEN: 'tok-123', ...env } });
  started.push(gw);
  return gw;
}
afterAll(async () => {
  await Promise.all(started.map((g) => g.stop()));
  for (const g of started) g.kill();
  await stopAllRedis();
  cleanupTmpDirs();
});

const call = (gw: HttpGw, auth: string, sessionId: string) =>
  fetch(`${gw.url}/services/echo/call`, {
    method: 'POST',
    headers: { Authorization: auth, 'Content-Type': 'application/json' },
    body: JSON.stringify({ tool: 'echo', arguments: { message: 'x' }, session_id: sessionId, agent_id: auth === T ? 'alice' : undefined }),
  });

/** Prometheus text -> sample lines `name{labels} value`, as a map from `name{labels}` to value. */
function parsePrometheus(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (!m) throw new Error(`not a Prometheus sample line: ${line}`);
    out.set(m[1]!, Number(m[2]));
  }
  return out;
}

describe('rate limits', () => {
  it('429 with Retry-After and RateLimit-* headers, per identity; unauthenticated requests count per IP; /health is never limited', async () => {
    const gw = await start(['--rate-limit-call', '2 per minute', '--rate-limit-default', '3 per minute']);
    const first = await call(gw, T, 'r-1');
    expect(first.status).toBe(200);
    expect(first.headers.get('ratelimit-limit')).toBe('2');
    expect(first.headers.get('ratelimit-remaining')).toBe('1');
    expect(first.headers.get('ratelimit-policy')).toBe('2;w=60');
    expect((await call(gw, T, 'r-1')).status).toBe(200);
    const limited = await call(gw, T, 'r-1');
    expect(limited.status).toBe(429);
    expect(await limited.json()).toMatchObject({ code: 'RATE_LIMITED' });
    const retryAfter = Number(limited.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(limited.headers.get('ratelimit-remaining')).toBe('0');
    // Another identity has its own budget.
    expect((await call(gw, `Bearer ${BOB_TOKEN}`, 'r-2')).status).toBe(200);

    // Unauthenticated: 401 until the IP's budget is spent, then 429; the shared identity is unaffected.
    const anon = [];
    for (let i = 0; i < 4; i++) anon.push((await fetch(`${gw.url}/sessions`)).status);
    expect(anon).toEqual([401, 401, 401, 429]);
    expect((await fetch(`${gw.url}/sessions`, { headers: { Authorization: T } })).status).toBe(200);
    for (let i = 0; i < 5; i++) expect((await fetch(`${gw.url}/health`)).status).toBe(200);
  });

  it('a bad limit is refused at start, naming the flag', async () => {
    const { runGatewayExpectingFailure } = await import('../helpers/httpGateway.js');
    const r = await runGatewayExpectingFailure({ mcpServers: ECHO, rules: RULES, args: ['--rate-limit-call', '10 per fortnight'] });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('--rate-limit-call');
    const s = await runGatewayExpectingFailure({ mcpServers: ECHO, rules: RULES, env: { GATEWAY_RATE_LIMIT_STORAGE: 'mongodb://x' } });
    expect(s.stderr).toContain('GATEWAY_RATE_LIMIT_STORAGE');
  });

  const redisCheck = needsRedis('the shared-counter test of tests/e2e/http-limits.test.ts');
  it.runIf(redisCheck.run)(`Redis storage: two gateway instances share the counters${redisCheck.note}`, async () => {
    const redis = await startRedis();
    const args = ['--rate-limit-call', '3 per minute', '--rate-limit-storage', redis.url];
    const a = await start(args);
    const b = await start(args);
    const statuses = [];
    for (const gw of [a, b, a, b]) statuses.push((await call(gw, T, 'shared-1')).status);
    expect(statuses).toEqual([200, 200, 200, 429]);
  });
});

describe('GET /metrics', () => {
  it('needs auth; Prometheus text with calls by agent, server, tool and decision, sessions and rate-limit rejections', async () => {
    const gw = await start(['--rate-limit-call', '1 per minute']);
    expect((await fetch(`${gw.url}/metrics`)).status).toBe(401);
    expect((await call(gw, T, 'm-1')).status).toBe(200);
    expect((await call(gw, T, 'm-1')).status).toBe(429);
    const denied = await fetch(`${gw.url}/services/echo/tools?agent_id=nobody`, { headers: { Authorization: T } });
    expect(denied.status).toBe(403);
    const res = await fetch(`${gw.url}/metrics`, { headers: { Authorization: T } });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/plain/);
    const samples = parsePrometheus(await res.text());
    const find = (prefix: string, ...parts: string[]) => [...samples.entries()].find(([k]) => k.startsWith(prefix) && parts.every((p) => k.includes(p)))?.[1];
    expect(find('mcp_gateway_calls_total{', 'agent="alice"', 'server="echo"', 'tool="echo"', 'decision="ALLOW"')).toBe(1);
    expect(find('mcp_gateway_calls_total{', 'decision="DENY"')).toBe(1);
    expect(find('mcp_gateway_rate_limited_total{', 'route="call"')).toBe(1);
    expect(find('mcp_gateway_active_sessions{', 'kind="rest"')).toBe(1);
    expect(find('mcp_gateway_call_duration_seconds_count{', 'operation="execute_tool"')).toBeGreaterThanOrEqual(1);
    expect(find('mcp_gateway_downstream_up{', 'server="echo"')).toBe(1);
  });
});
