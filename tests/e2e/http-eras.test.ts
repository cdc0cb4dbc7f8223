// /mcp serves both protocol eras (issue 16): the era client drivers (v1; v2 on legacy, auto and
// pinned 2026-07-28) against the built gateway in HTTP mode, each with a per-agent token, a
// 2025 downstream (the v1 era fixture) behind it. 2026 clients are served statelessly and hear
// list changes on the listen stream they open; 2025 clients keep their sessions.
import { createHash } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eraFixture, runDriver, type DriverResult } from '../fixtures/era/eraHarness.js';
import { readJsonl } from '../helpers/gateway.js';
import { baseEnv, startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs } from '../helpers/tmp.js';

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');
const ALICE_TOKEN = 'alice-eras-token';
const BOB_TOKEN = 'bob-eras-token';
const RULES = {
  agents: { alice: { allow: { servers: ['era'] } }, bob: { allow: { servers: ['era'] }, deny: { tools: { era: ['echo'] } } } },
  credentials: { [sha256(ALICE_TOKEN)]: 'alice', [sha256(BOB_TOKEN)]: 'bob' },
};
const SERVERS = { era: { command: process.execPath, args: [eraFixture('v1-stdio')] } };
const MODERN = '2026-07-28';
const LEGACY = '2025-11-25';
const CELL_TIMEOUT_MS = 90_000;

const CLIENTS = [
  { id: 'v2 pin', driver: 'client-v2', args: ['--negotiation', 'pin'], modern: true },
  { id: 'v2 auto', driver: 'client-v2', args: ['--negotiation', 'auto'], modern: true },
  { id: 'v2 legacy', driver: 'client-v2', args: ['--negotiation', 'legacy'], modern: false },
  { id: 'v1', driver: 'client-v1', args: [], modern: false },
] as const;

const gateways: HttpGw[] = [];
afterAll(async () => {
  for (const gw of gateways) {
    await gw.stop();
    gw.kill();
  }
  cleanupTmpDirs();
});

async function drive(gw: HttpGw, client: (typeof CLIENTS)[number], token: string, extra: string[]): Promise<DriverResult> {
  const args = [...client.args, '--transport', 'http', '--url', `${gw.url}/mcp`, '--header', `Authorization: Bearer ${token}`, ...extra];
  const run = await runDriver(client.driver, args, baseEnv(), CELL_TIMEOUT_MS);
  return run.result;
}

describe('/mcp in native mode, every client era', () => {
  let gw: HttpGw;
  beforeAll(async () => {
    // The fixture grows a tool and the client must hear it: pinning would quarantine it (tests/e2e/pins.test.ts).
    gw = await startHttpGateway({ mcpServers: SERVERS, rules: RULES, args: ['--mode', 'native', '--pinning', 'off'] });
    gateways.push(gw);
  });

  for (const client of CLIENTS) {
    it(
      `${client.id}: lists (private to its agent), calls and hears a list change`,
      async () => {
        // Elicitation in every era: a 2026 caller through the gateway's input bridge (the downstream is v1).
        const scenarios = 'list,call,elicit,listchange';
        const r = await drive(gw, client, ALICE_TOKEN, ['--scenario', scenarios, '--echo-tool', 'era__echo', '--ask-tool', 'era__ask', '--grow-tool', 'era__grow']);
        expect(r.error).toBeUndefined();
        expect(r.era).toBe(client.modern ? 'modern' : 'legacy');
        expect(r.protocolVersion).toBe(client.modern ? MODERN : LEGACY);
        expect(r.list?.tools).toEqual(expect.arrayContaining(['era__echo', 'era__ask', 'era__grow']));
        if (client.modern) {
          expect(r.list?.cacheScope).toBe('private');
          // A 2026 list is in a stable order: by name.
          expect(r.list?.tools).toEqual([...(r.list?.tools ?? [])].sort());
        } else expect(r.list?.cacheScope).toBeUndefined();
        expect(r.call).toMatchObject({ isError: false, text: 'hello' });
        expect(r.elicit).toMatchObject({ isError: false, text: 'you said blue' });
        expect(r.listchange).toMatchObject({ arrived: true, via: client.modern ? 'listen' : 'unsolicited' });
        expect(r.listchange?.after?.tools).toContain(`era__${r.listchange?.grow?.replace('added ', '')}`);
        expect(r.ok).toBe(true);
      },
      CELL_TIMEOUT_MS,
    );
  }

  it(
    "a 2026 client's calls are audited as its token's agent, without a session id",
    async () => {
      const r = await drive(gw, CLIENTS[0], ALICE_TOKEN, ['--scenario', 'call', '--echo-tool', 'era__echo']);
      expect(r.call).toMatchObject({ isError: false, text: 'hello' });
      await waitFor(() => readJsonl(gw.auditPath).some((l) => l['agent'] === 'alice' && l['tool'] === 'echo' && l['session_id'] === undefined));
    },
    CELL_TIMEOUT_MS,
  );
});

describe('/mcp in meta mode, 2026 clients', () => {
  let gw: HttpGw;
  beforeAll(async () => {
    gw = await startHttpGateway({ mcpServers: SERVERS, rules: RULES, env: { GATEWAY_AUTH_TOKEN: 'shared-eras-token' } });
    gateways.push(gw);
  });

  it(
    'calls through execute_tool; the shared token names its agent, a per-agent token cannot act as another',
    async () => {
      const shared = await drive(gw, CLIENTS[0], 'shared-eras-token', ['--scenario', 'list,call', '--meta-tools', '--server', 'era', '--agent-id', 'alice']);
      expect(shared.era).toBe('modern');
      expect(shared.list?.serverTools).toEqual(expect.arrayContaining(['echo', 'ask', 'grow']));
      expect(shared.call).toMatchObject({ isError: false, text: 'hello' });
      const claim = await drive(gw, CLIENTS[0], BOB_TOKEN, ['--scenario', 'call', '--meta-tools', '--server', 'era', '--agent-id', 'alice']);
      expect(claim.call?.isError).toBe(true);
      expect(claim.call?.text).toContain("bound to agent 'bob'; agent_id 'alice' is not allowed");
      const own = await drive(gw, CLIENTS[1], BOB_TOKEN, ['--scenario', 'call', '--meta-tools', '--server', 'era']);
      expect(own.era).toBe('modern');
      expect(own.call?.text).toBe("Agent 'bob' not authorized to call tool 'echo' on server 'era'");
    },
    CELL_TIMEOUT_MS * 2,
  );
});
