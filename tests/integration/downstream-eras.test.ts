// DownstreamConnection against servers of both protocol eras (tests/fixtures/era): which era
// each flavour is reached in, one process per start whatever it takes to find out, and the
// era found again after a restart.
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ServerSpec } from '../../src/config/types.js';
import { eraFixture, startHttpFixture, type HttpFixture } from '../fixtures/era/eraHarness.js';
import { closeTracked, connection, expectNoLeftovers, MARKER, MARKER_NAME, stdioSpec, textOf } from '../helpers/downstream.js';
import { waitFor } from '../helpers/processes.js';

const CALL = { timeoutMs: 10_000, maxTotalTimeoutMs: 60_000 };
const tmp = mkdtempSync(join(tmpdir(), 'amg-eras-'));
const httpServers: HttpFixture[] = [];
let logs = 0;

afterEach(async () => {
  await closeTracked();
  await Promise.all(httpServers.splice(0).map((s) => s.close()));
});
afterAll(async () => {
  await expectNoLeftovers();
  rmSync(tmp, { recursive: true, force: true });
});

/** A fresh ERA_START_LOG file and what it says: one line per server start. */
function startLog(): { env: Record<string, string>; starts(): string[] } {
  const file = join(tmp, `starts-${++logs}.log`);
  return {
    env: { ERA_START_LOG: file },
    starts: () => (existsSync(file) ? readFileSync(file, 'utf8').trim().split('\n').filter(Boolean) : []),
  };
}

function eraSpec(name: string, fixture: string, args: string[], env: Record<string, string> = {}): ServerSpec {
  return stdioSpec(name, [eraFixture(fixture), ...args], { env });
}

function httpSpec(name: string, url: string): ServerSpec {
  return { ...stdioSpec(name, []), transport: 'http', command: undefined, args: [], url };
}

async function httpFixture(name: 'v1-http' | 'v2-http', args: string[], env: Record<string, string>): Promise<HttpFixture> {
  const server = await startHttpFixture(name, args, { ...process.env, [MARKER_NAME]: MARKER, ...env });
  httpServers.push(server);
  return server;
}

describe('stdio: the era per flavour, one process per start', () => {
  const cases: [string, string, string[], 'legacy' | 'modern', string][] = [
    ['v1 (2025 only)', 'v1-stdio', [], 'legacy', '2025-11-25'],
    ["v2 on legacy: 'serve'", 'v2-stdio', ['--legacy', 'serve'], 'modern', '2026-07-28'],
    ["v2 on legacy: 'reject'", 'v2-stdio', ['--legacy', 'reject'], 'modern', '2026-07-28'],
  ];
  it.each(cases)('%s', async (_label, fixture, args, era, version) => {
    const log = startLog();
    const c = connection(eraSpec('era', fixture, args, log.env));
    expect(c.era).toBeUndefined();
    const tools = await c.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'ask', 'grow']));
    expect(c.era).toBe(era);
    expect(c.protocolVersion).toBe(version);
    expect(textOf(await c.callTool('echo', { text: 'hi' }, CALL))).toContain('hi');
    expect(log.starts()).toHaveLength(1);
  });

  it('falls back to initialize on the same process when a 2025 server ignores the probe', async () => {
    const log = startLog();
    const c = connection(eraSpec('silent', 'v1-strict', ['--on-probe', 'ignore'], log.env), { connectTimeoutMs: 4_000 });
    await c.connect();
    expect(c.era).toBe('legacy');
    expect(textOf(await c.callTool('echo', { text: 'hi' }, CALL))).toContain('hi');
    expect(log.starts()).toHaveLength(1);
  });

  it('starts a 2025 server that exits on the probe once more, and skips the probe from then on', async () => {
    const log = startLog();
    const c = connection(eraSpec('strict', 'v1-strict', ['--on-probe', 'exit'], log.env));
    await c.connect();
    expect(c.era).toBe('legacy');
    expect(c.restarts).toBe(0);
    expect(log.starts()).toHaveLength(2);
    expect(textOf(await c.callTool('echo', { text: 'hi' }, CALL))).toContain('hi');

    process.kill(c.pid!, 'SIGKILL');
    await waitFor(() => c.state === 'failed');
    expect(textOf(await c.callTool('echo', { text: 'again' }, CALL))).toContain('again');
    expect(c.era).toBe('legacy');
    expect(log.starts()).toHaveLength(3);
  });

  it('negotiates again after a restart: a server upgraded in place is reached in its new era', async () => {
    const log = startLog();
    const which = join(tmp, 'switch-1');
    writeFileSync(which, 'v1-stdio');
    const c = connection(eraSpec('switch', 'switch', [], { ...log.env, ERA_SWITCH_FILE: which }));
    await c.connect();
    expect(c.era).toBe('legacy');

    writeFileSync(which, 'v2-stdio --legacy reject');
    process.kill(c.pid!, 'SIGKILL');
    await waitFor(() => c.state === 'failed');
    expect(textOf(await c.callTool('echo', { text: 'upgraded' }, CALL))).toContain('upgraded');
    expect(c.era).toBe('modern');
    expect(c.protocolVersion).toBe('2026-07-28');
    expect(c.restarts).toBe(1);
    expect(log.starts()).toHaveLength(2);
  });
});

describe('Streamable HTTP: the era per flavour', () => {
  const cases: [string, 'v1-http' | 'v2-http', string[], 'legacy' | 'modern'][] = [
    ['v1 (2025 sessions)', 'v1-http', [], 'legacy'],
    ["v2 on legacy: 'stateless'", 'v2-http', ['--legacy', 'stateless'], 'modern'],
    ["v2 on legacy: 'reject'", 'v2-http', ['--legacy', 'reject'], 'modern'],
    ['v2 with 2025 sessions', 'v2-http', ['--legacy', 'sessions'], 'modern'],
  ];
  it.each(cases)('%s', async (_label, fixture, args, era) => {
    const log = startLog();
    const server = await httpFixture(fixture, args, log.env);
    const c = connection(httpSpec('remote', server.url));
    const tools = await c.listTools();
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'ask', 'grow']));
    expect(c.era).toBe(era);
    expect(textOf(await c.callTool('echo', { text: 'over http' }, CALL))).toContain('over http');
    expect(log.starts()).toHaveLength(1);
  });
});
