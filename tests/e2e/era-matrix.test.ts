// Issue 16's matrix through the built gateway: every client (v1; v2 on legacy, auto and
// pinned 2026-07-28 negotiation), over stdio and over /mcp, against every downstream flavour
// (v1; v2 on legacy serve/stateless/sessions and reject; stdio and Streamable HTTP). Each cell
// lists tools, calls echo (its trace context must reach the server), answers an elicitation
// and hears a list change. The gateway serves both eras and negotiates per downstream, so
// every cell works, whichever era each side speaks.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraFixture, runDriver, startHttpFixture, TRACE_META, type DriverResult, type HttpFixture } from '../fixtures/era/eraHarness.js';
import { HTTP_MARKER_VAR, killLaunchedGateways, startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { GATEWAY_MAIN } from '../helpers/paths.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';

const MARKER = `gw-era-matrix-${process.pid}-${Date.now()}`;
const ENV: NodeJS.ProcessEnv = { ...process.env, GW_E2E_MARKER: MARKER, [HTTP_MARKER_VAR]: MARKER };
const CELL_TIMEOUT_MS = 90_000;

interface ClientMode {
  readonly id: string;
  readonly driver: 'client-v1' | 'client-v2';
  readonly negotiation?: 'legacy' | 'auto' | 'pin';
  /** The era the client and the gateway settle on: the gateway offers both. */
  readonly era: 'legacy' | 'modern';
}
const CLIENTS: readonly ClientMode[] = [
  { id: 'v1', driver: 'client-v1', era: 'legacy' },
  { id: 'v2 legacy', driver: 'client-v2', negotiation: 'legacy', era: 'legacy' },
  { id: 'v2 auto', driver: 'client-v2', negotiation: 'auto', era: 'modern' },
  { id: 'v2 pin', driver: 'client-v2', negotiation: 'pin', era: 'modern' },
];

interface Downstream {
  /** The server's name in the gateway config: tools are offered as `<name>__echo`. */
  readonly name: string;
  readonly id: string;
  readonly file: 'v1-stdio' | 'v2-stdio' | 'v1-http' | 'v2-http';
  readonly args: readonly string[];
}
const DOWNSTREAMS: readonly Downstream[] = [
  { name: 'v1s', id: 'v1 stdio', file: 'v1-stdio', args: [] },
  { name: 'v2s', id: 'v2 stdio legacy:serve', file: 'v2-stdio', args: ['--legacy', 'serve'] },
  { name: 'v2sr', id: 'v2 stdio legacy:reject', file: 'v2-stdio', args: ['--legacy', 'reject'] },
  { name: 'v1h', id: 'v1 http', file: 'v1-http', args: [] },
  { name: 'v2h', id: 'v2 http legacy:stateless', file: 'v2-http', args: ['--legacy', 'stateless'] },
  { name: 'v2hr', id: 'v2 http legacy:reject', file: 'v2-http', args: ['--legacy', 'reject'] },
  { name: 'v2hs', id: 'v2 http legacy:sessions', file: 'v2-http', args: ['--legacy', 'sessions'] },
];

const RULES = { agents: { default: { allow: { servers: ['*'] } } }, defaults: { deny_on_missing_agent: false } };

const fixtures = new Map<string, HttpFixture>();
let configDir = '';
let httpGateway: HttpGw | undefined;

function mcpServers(): Record<string, object> {
  const servers: Record<string, object> = {};
  for (const d of DOWNSTREAMS) {
    servers[d.name] = d.file.endsWith('http')
      ? { type: 'http', url: fixtures.get(d.name)!.url }
      : { command: process.execPath, args: [eraFixture(d.file), ...d.args] };
  }
  return servers;
}

guardAgainstLeaks(MARKER, {
  close: async () => {
    killLaunchedGateways();
    await Promise.all([...fixtures.values()].map((f) => f.close()));
  },
  what: 'era matrix processes left behind',
});

beforeAll(async () => {
  for (const d of DOWNSTREAMS.filter((s) => s.file.endsWith('http')))
    fixtures.set(d.name, await startHttpFixture(d.file as 'v1-http' | 'v2-http', [...d.args], ENV));
  configDir = makeTmpDir();
  writeJson(`${configDir}/.mcp.json`, { mcpServers: mcpServers() });
  writeJson(`${configDir}/rules.json`, RULES);
  httpGateway = await startHttpGateway({
    mcpServers: mcpServers(),
    rules: RULES,
    // Each cell grows a tool and must hear it: pinning would quarantine it (tests/e2e/pins.test.ts).
    args: ['--allow-unauthenticated', '--mode', 'native', '--pinning', 'off'],
    env: { GW_E2E_MARKER: MARKER },
  });
}, CELL_TIMEOUT_MS);

afterAll(async () => {
  await httpGateway?.stop();
});

function gatewayArgs(transport: 'stdio' | 'http'): string[] {
  if (transport === 'http') return ['--transport', 'http', '--url', `${httpGateway!.url}/mcp`];
  const gateway = [GATEWAY_MAIN, '--mcp-config', `${configDir}/.mcp.json`, '--rules', `${configDir}/rules.json`, '--mode', 'native', '--pinning', 'off'];
  return ['--transport', 'stdio', '--command', process.execPath, ...gateway.flatMap((a) => ['--arg', a])];
}

function expectCell(r: DriverResult, client: ClientMode, d: Downstream): void {
  expect(r.error).toBeUndefined();
  expect(r.era).toBe(client.era);
  expect(r.list?.tools).toEqual(expect.arrayContaining([`${d.name}__echo`, `${d.name}__ask`, `${d.name}__grow`]));
  if (client.era === 'modern') expect(r.list?.cacheScope).toBe('private');
  expect(r.call).toEqual({ isError: false, text: 'hello', meta: TRACE_META });
  expect(r.elicit).toEqual({ isError: false, text: 'you said blue' });
  expect(r.listchange?.arrived).toBe(true);
  expect(r.listchange?.via).toBe(client.era === 'modern' ? 'listen' : 'unsolicited');
  expect(r.listchange?.after?.tools.some((t) => t.startsWith(`${d.name}__grown_`))).toBe(true);
  expect(r.ok).toBe(true);
}

for (const transport of ['stdio', 'http'] as const) {
  describe(`era matrix through the gateway over ${transport === 'http' ? '/mcp' : 'stdio'}`, () => {
    for (const d of DOWNSTREAMS) {
      for (const client of CLIENTS) {
        it(`${client.id} client -> gateway -> ${d.id}`, { timeout: CELL_TIMEOUT_MS }, async () => {
          const args = [
            ...(client.negotiation ? ['--negotiation', client.negotiation] : []),
            ...gatewayArgs(transport),
            ...['--echo-tool', `${d.name}__echo`, '--ask-tool', `${d.name}__ask`, '--grow-tool', `${d.name}__grow`],
            ...['--timeout-ms', '30000', '--notify-timeout-ms', '20000'],
          ];
          const { result, stderr } = await runDriver(client.driver, args, ENV);
          expect(result, stderr.slice(-3000)).toMatchObject({ connected: true });
          expectCell(result, client, d);
        });
      }
    }
  });
}
