// The era fixtures (tests/fixtures/era) against each other, no gateway: every client mode
// (v1; v2 on legacy, auto and pinned 2026-07-28 negotiation) against every server flavour
// (v1; v2 on legacy serve/stateless/sessions and reject) over stdio and Streamable HTTP. It
// proves the fixtures before the gateway matrix uses them, and it is that matrix's "direct"
// baseline: a cell that fails here fails for the SDK's reasons, not the gateway's.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { eraFixture, runDriver, startHttpFixture, TRACE_META, type DriverResult, type HttpFixture } from '../fixtures/era/eraHarness.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { makeTmpDir } from '../helpers/tmp.js';

const MARKER = `gw-era-fixtures-${process.pid}-${Date.now()}`;
const ENV: NodeJS.ProcessEnv = { ...process.env, GW_E2E_MARKER: MARKER };
const CELL_TIMEOUT_MS = 90_000;
const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';

type Negotiation = 'none' | 'legacy' | 'auto' | 'pin';
interface ClientMode {
  id: string;
  driver: 'client-v1' | 'client-v2';
  negotiation: Negotiation;
}
const CLIENTS: ClientMode[] = [
  { id: 'v1', driver: 'client-v1', negotiation: 'none' },
  { id: 'v2 legacy', driver: 'client-v2', negotiation: 'legacy' },
  { id: 'v2 auto', driver: 'client-v2', negotiation: 'auto' },
  { id: 'v2 pin', driver: 'client-v2', negotiation: 'pin' },
];

interface ServerFlavour {
  id: string;
  transport: 'stdio' | 'http';
  file: 'v1-stdio' | 'v2-stdio' | 'v1-http' | 'v2-http';
  args: string[];
  /** Serves a 2025 `initialize`. */
  legacy: boolean;
  /** Serves 2026-07-28. */
  modern: boolean;
  /** Can push elicitation/create to a 2025 client (needs a session or a pinned stdio connection). */
  legacyElicits: boolean;
}
const SERVERS: ServerFlavour[] = [
  { id: 'v1 stdio', transport: 'stdio', file: 'v1-stdio', args: [], legacy: true, modern: false, legacyElicits: true },
  { id: 'v2 stdio legacy:serve', transport: 'stdio', file: 'v2-stdio', args: ['--legacy', 'serve'], legacy: true, modern: true, legacyElicits: true },
  { id: 'v2 stdio legacy:reject', transport: 'stdio', file: 'v2-stdio', args: ['--legacy', 'reject'], legacy: false, modern: true, legacyElicits: false },
  { id: 'v1 http', transport: 'http', file: 'v1-http', args: [], legacy: true, modern: false, legacyElicits: true },
  { id: 'v2 http legacy:stateless', transport: 'http', file: 'v2-http', args: ['--legacy', 'stateless'], legacy: true, modern: true, legacyElicits: false },
  { id: 'v2 http legacy:reject', transport: 'http', file: 'v2-http', args: ['--legacy', 'reject'], legacy: false, modern: true, legacyElicits: false },
  { id: 'v2 http legacy:sessions', transport: 'http', file: 'v2-http', args: ['--legacy', 'sessions'], legacy: true, modern: true, legacyElicits: true },
];

/** The era a cell negotiates, or why it cannot connect. */
function expectedEra(client: ClientMode, server: ServerFlavour): 'legacy' | 'modern' | 'unsupported-version' | 'pin-refused' {
  if (client.negotiation === 'none' || client.negotiation === 'legacy') return server.legacy ? 'legacy' : 'unsupported-version';
  if (client.negotiation === 'auto') return server.modern ? 'modern' : 'legacy';
  return server.modern ? 'modern' : 'pin-refused';
}

const httpServers = new Map<string, HttpFixture>();
const closeAll = (): Promise<unknown> => Promise.all([...httpServers.values()].map((s) => s.close()));
guardAgainstLeaks(MARKER, { close: closeAll, what: 'era fixture processes left behind' });

function driverArgs(client: ClientMode, server: ServerFlavour, extra: string[] = []): string[] {
  const args = client.negotiation === 'none' ? [] : ['--negotiation', client.negotiation];
  if (server.transport === 'http') args.push('--transport', 'http', '--url', httpServers.get(server.id)!.url);
  else args.push('--transport', 'stdio', '--command', process.execPath, '--arg', eraFixture(server.file), ...server.args.flatMap((a) => ['--arg', a]));
  return [...args, '--timeout-ms', '20000', '--notify-timeout-ms', '15000', ...extra];
}

function expectWorkingCell(r: DriverResult, era: 'legacy' | 'modern', server: ServerFlavour): void {
  expect(r.error).toBeUndefined();
  expect(r.era).toBe(era);
  expect(r.protocolVersion).toBe(era === 'modern' ? MODERN : LEGACY);
  expect(r.list?.tools).toEqual(expect.arrayContaining(['echo', 'ask', 'grow']));
  expect(r.call).toEqual({ isError: false, text: 'hello', meta: TRACE_META });
  if (era === 'modern' || server.legacyElicits) {
    expect(r.elicit).toEqual({ isError: false, text: 'you said blue' });
  } else {
    // A 2025 request served per request has no channel for a server-to-client request: the
    // SDK's legacy shim refuses at once with an isError result, it does not hang.
    expect(r.elicit?.isError).toBe(true);
    expect(r.elicit?.text).toMatch(/per-request legacy serving cannot receive server-to-client requests/);
  }
  expect(r.listchange?.arrived).toBe(true);
  expect(r.listchange?.via).toBe(era === 'modern' ? 'listen' : 'unsolicited');
  const grown = /added (grown_\d+)/.exec(r.listchange?.grow ?? '')?.[1];
  expect(grown).toBeDefined();
  expect(r.listchange?.after?.tools).toContain(grown);
  expect(r.ok).toBe(true);
}

describe('era fixtures, client x server, no gateway', () => {
  beforeAll(async () => {
    for (const server of SERVERS.filter((s) => s.transport === 'http')) {
      httpServers.set(server.id, await startHttpFixture(server.file as 'v1-http' | 'v2-http', server.args, ENV));
    }
  }, CELL_TIMEOUT_MS);

  for (const server of SERVERS) {
    for (const client of CLIENTS) {
      const era = expectedEra(client, server);
      it(`${client.id} client -> ${server.id}: ${era}`, { timeout: CELL_TIMEOUT_MS }, async () => {
        const { result: r, exitCode, stderr } = await runDriver(client.driver, driverArgs(client, server), ENV);
        if (era === 'legacy' || era === 'modern') {
          expect(r, stderr).toMatchObject({ connected: true });
          expectWorkingCell(r, era, server);
          expect(exitCode).toBe(0);
          return;
        }
        // The cells that cannot be expressed fail at connect, loudly and with the reason.
        expect(r.connected).toBe(false);
        expect(r.error?.step).toBe('connect');
        if (era === 'unsupported-version') expect(r.error?.message).toMatch(/-32022|Unsupported protocol version: 2025-11-25/);
        else expect(r.error?.code).toBe('ERA_NEGOTIATION_FAILED');
        expect(exitCode).toBe(2);
      });
    }
  }
});

describe('era fixtures: what the v2 client costs over stdio', () => {
  const v2Stdio = SERVERS.find((s) => s.id === 'v2 stdio legacy:serve')!;
  const starts = async (negotiation: Negotiation): Promise<string[]> => {
    const log = join(makeTmpDir('amg-era-starts-'), 'starts.log');
    const client = CLIENTS.find((c) => c.negotiation === negotiation)!;
    const { result } = await runDriver(client.driver, driverArgs(client, v2Stdio, ['--scenario', 'list']), { ...ENV, ERA_START_LOG: log });
    expect(result.ok).toBe(true);
    return readFileSync(log, 'utf8').trim().split('\n');
  };

  it('a legacy-mode connect starts the server once', { timeout: CELL_TIMEOUT_MS }, async () => {
    expect(await starts('legacy')).toHaveLength(1);
  });

  // StdioClientTransport (the base class exactly) probes server/discover on a short-lived
  // sibling spawned from the same command before it starts the real child.
  it('an auto-mode connect starts it twice: the probe sibling, then the real child', { timeout: CELL_TIMEOUT_MS }, async () => {
    expect(await starts('auto')).toHaveLength(2);
  });

  it('a pinned connect probes on a sibling too', { timeout: CELL_TIMEOUT_MS }, async () => {
    expect(await starts('pin')).toHaveLength(2);
  });
});

describe('era fixtures: driver options', () => {
  const v2Http = SERVERS.find((s) => s.id === 'v2 http legacy:sessions')!;
  const modern = CLIENTS.find((c) => c.negotiation === 'pin')!;

  beforeAll(async () => {
    // The matrix above started it already when it ran; -t may have filtered the matrix out.
    if (!httpServers.has(v2Http.id)) httpServers.set(v2Http.id, await startHttpFixture('v2-http', v2Http.args, ENV));
  }, CELL_TIMEOUT_MS);

  it('--decline makes ask answer "declined" in both eras', { timeout: CELL_TIMEOUT_MS }, async () => {
    for (const client of [CLIENTS[0]!, modern]) {
      const { result } = await runDriver(client.driver, driverArgs(client, v2Http, ['--scenario', 'elicit', '--decline']), ENV);
      expect(result.elicit).toEqual({ isError: false, text: 'declined' });
    }
  });

  // The v2 McpServer answers an unknown tool with a -32602 protocol error in both eras (not
  // an isError result); the driver records it per scenario and carries on.
  it('--echo-tool names the tool to call; an unknown one is a recorded -32602, not fatal', { timeout: CELL_TIMEOUT_MS }, async () => {
    const { result, exitCode } = await runDriver(modern.driver, driverArgs(modern, v2Http, ['--scenario', 'call,list', '--echo-tool', 'no_such_tool']), ENV);
    expect(result.call?.error).toEqual({ message: 'Tool no_such_tool not found', code: -32602 });
    expect(result.list?.tools).toEqual(expect.arrayContaining(['echo', 'ask', 'grow']));
    expect(result.ok).toBe(false);
    expect(exitCode).toBe(2);
  });
});
