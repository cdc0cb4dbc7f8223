// Hostile input over stdio (issue 13, items 2 and 3), against the built gateway: arguments
// nested past the documented 64 levels are refused before identity, policy and any downstream
// call, with exactly one audit line; names outside their documented syntax are refused
// before any cache, audit field or log line; the gateway's memory stays flat over 10,000
// calls with distinct large names.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { callTool, readJsonl, startGateway, type GatewayHandle } from '../helpers/gateway.js';
import { fixture, GATEWAY_MAIN } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { spawnRaw, type RawStdioPeer } from '../helpers/rawStdio.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';
import { errorOf } from '../helpers/results.js';

const RULES = { agents: { tester: { allow: { servers: ['*'] } } } };
let callLog: string;
let gw: GatewayHandle;
const rawPeers: RawStdioPeer[] = [];

// A gateway per test: one that a test breaks (as the unbounded code did) cannot fail the next.
beforeEach(async () => {
  callLog = join(makeTmpDir('amg-bounds-log-'), 'calls.jsonl');
  gw = await startGateway({
    mcpServers: { echo: { command: process.execPath, args: [fixture('echo')], env: { FIXTURE_CALL_LOG: callLog } } },
    rules: RULES,
  });
});
afterEach(async () => {
  await gw?.close();
  for (const p of rawPeers.splice(0)) {
    p.endStdin();
    await p.exit;
  }
});
afterAll(() => cleanupTmpDirs());

/** `levels` nested objects (the outermost is level 1), keys unsorted so hashing must reorder them. */
function nested(levels: number): Record<string, unknown> {
  let value: Record<string, unknown> = { leaf: true };
  for (let i = 1; i < levels; i++) value = { z: value, a: i };
  return value;
}

function downstreamCalls(): Record<string, unknown>[] {
  return readJsonl(callLog).filter((l) => l['method'] === 'tools/call');
}

/** Waits for the audit log to hold `count` lines, then returns them. */
async function auditLines(count: number): Promise<Record<string, unknown>[]> {
  await waitFor(() => readJsonl(gw.auditPath).length >= count, { message: `expected ${count} audit lines` });
  return readJsonl(gw.auditPath);
}

function vmRssKb(pid: number): number {
  const line = readFileSync(`/proc/${pid}/status`, 'utf8')
    .split('\n')
    .find((l) => l.startsWith('VmRSS:'));
  return Number(/(\d+)/.exec(line ?? '')?.[1]);
}

/** JSON text of `levels` nested objects, keys unsorted; written by hand, as JSON.stringify cannot go this deep. */
function nestedJson(levels: number): string {
  return `${'{"z":'.repeat(levels - 1)}{"leaf":true}${',"a":1}'.repeat(levels - 1)}`;
}

describe('argument depth', () => {
  it('refuses arguments nested 5,000 deep with INVALID_ARGUMENT: no downstream call, one audit line', async () => {
    const peer = spawnRaw(
      process.execPath,
      [GATEWAY_MAIN, '--mcp-config', gw.mcpConfigPath, '--rules', gw.rulesPath, '--audit-log', join(gw.dir, 'raw-audit.jsonl')],
      {
        cwd: gw.dir,
      },
    );
    rawPeers.push(peer);
    await peer.initialize(20_000);
    const params = `{"name":"execute_tool","arguments":{"agent_id":"tester","server":"echo","tool":"echo_args","args":${nestedJson(5000)}}}`;
    peer.child.stdin!.write(`{"jsonrpc":"2.0","id":"deep","method":"tools/call","params":${params}}\n`);
    await waitFor(() => peer.messages.some((m) => (m as { id?: unknown }).id === 'deep'), { message: 'no answer to the deep call' });
    const answer = peer.messages.find((m) => (m as { id?: unknown }).id === 'deep') as { result?: CallToolResult; error?: unknown };
    expect(answer.error).toBeUndefined();
    expect(answer.result?.isError).toBe(true);
    expect(errorOf(answer.result!)).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining("'args'") });
    expect(errorOf(answer.result!)?.message).toContain('64 levels');
    const auditPath = join(gw.dir, 'raw-audit.jsonl');
    await waitFor(() => readJsonl(auditPath).length >= 1, { message: 'no audit line for the deep call' });
    const lines = readJsonl(auditPath);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ operation: 'execute_tool', server: 'echo', tool: 'echo_args', code: 'INVALID_ARGUMENT', decision: 'ERROR', args_sha256: null });
    expect(downstreamCalls()).toEqual([]);
  });

  it('deep gateway arguments around shallow tool arguments are refused alike, each with its audit line', async () => {
    const r = await callTool(gw.client, 'execute_tool', { agent_id: 'tester', server: 'echo', tool: 'echo_args', args: nested(4000) });
    expect(errorOf(r)).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining("'args'") });
    const wrapped = await callTool(gw.client, 'list_servers', { agent_id: 'tester', extra: nested(4000) });
    expect(errorOf(wrapped)).toMatchObject({ code: 'INVALID_ARGUMENT', message: expect.stringContaining("'arguments'") });
    expect((await auditLines(2)).map((l) => l['code'])).toEqual(['INVALID_ARGUMENT', 'INVALID_ARGUMENT']);
    expect(downstreamCalls()).toEqual([]);
  });

  it('forwards arguments exactly 64 levels deep; 65 is refused', async () => {
    const ok = await callTool(gw.client, 'execute_tool', { agent_id: 'tester', server: 'echo', tool: 'echo_args', args: nested(64) });
    expect(ok.isError).toBeFalsy();
    expect(JSON.parse((ok.content[0] as { text: string }).text)).toEqual(nested(64));
    const over = await callTool(gw.client, 'execute_tool', { agent_id: 'tester', server: 'echo', tool: 'echo_args', args: nested(65) });
    expect(errorOf(over)?.code).toBe('INVALID_ARGUMENT');
    expect(downstreamCalls()).toHaveLength(1);
  });
});

describe('names', () => {
  it('a 4 MB server name is refused with INVALID_ARGUMENT, without echoing it; its audit line is clipped', async () => {
    const before = readJsonl(gw.auditPath).length;
    const huge = 's'.repeat(4 * 1024 * 1024);
    const r = await callTool(gw.client, 'execute_tool', { agent_id: 'tester', server: huge, tool: 'echo', args: {} });
    expect(errorOf(r)?.code).toBe('INVALID_ARGUMENT');
    expect(errorOf(r)?.message).toContain("'server'");
    expect(JSON.stringify(r).length).toBeLessThan(1000);
    const line = (await auditLines(before + 1)).at(-1)!;
    expect(line).toMatchObject({ code: 'INVALID_ARGUMENT', agent: null });
    expect(JSON.stringify(line).length).toBeLessThan(2000);
  });

  it('over-long tool names and agent ids, and names with control characters, are refused the same way', async () => {
    const cases = [
      [{ agent_id: 'tester', server: 'echo', tool: 't'.repeat(257) }, 'INVALID_ARGUMENT'],
      [{ agent_id: 'tester', server: 'echo', tool: 'echo\nforged' }, 'INVALID_ARGUMENT'],
      [{ agent_id: 'tester', server: 'echo/../x', tool: 'echo' }, 'INVALID_ARGUMENT'],
      // An agent id no rules file can hold is refused as any unknown id.
      [{ agent_id: 'a'.repeat(4 * 1024 * 1024), server: 'echo', tool: 'echo' }, 'INVALID_AGENT_ID'],
      [{ agent_id: 'tester\u0000', server: 'echo', tool: 'echo' }, 'INVALID_AGENT_ID'],
    ] as const;
    for (const [args, code] of cases) {
      const r = await callTool(gw.client, 'execute_tool', args);
      expect(errorOf(r)?.code, JSON.stringify(args).slice(0, 80)).toBe(code);
      expect(JSON.stringify(r).length).toBeLessThan(1000);
    }
    const lines = await auditLines(cases.length);
    for (const line of lines) expect(JSON.stringify(line).length).toBeLessThan(2000);
    expect(lines.at(-2)).toMatchObject({ agent: null, code: 'INVALID_AGENT_ID', requested_agent: `${'a'.repeat(256)}…` });
    // The longest names the syntax allows still reach policy and the server.
    const longest = await callTool(gw.client, 'execute_tool', { agent_id: 'tester', server: 'echo', tool: 't'.repeat(256) });
    expect(errorOf(longest)?.code).toBe('TOOL_NOT_FOUND');
  });

  it('10,000 calls with distinct 16 KB names leave the gateway within +50 MB of its idle memory', async () => {
    const call = (i: number) => callTool(gw.client, 'get_server_tools', { agent_id: 'tester', server: `${i}-`.padEnd(16 * 1024, 'x') });
    const batch = 10;
    // Warm-up with the same traffic, so the baseline already includes what any such load costs
    // (JIT code, buffers, V8's young generation grown to its working size).
    for (let i = -2_000; i < 0; i += batch) await Promise.all(Array.from({ length: batch }, (_, k) => call(i + k)));
    const idle = vmRssKb(gw.pid);
    for (let i = 0; i < 10_000; i += batch) {
      const results = await Promise.all(Array.from({ length: batch }, (_, k) => call(i + k)));
      for (const r of results) expect(r.isError).toBe(true);
    }
    const after = vmRssKb(gw.pid);
    expect(after - idle, `VmRSS ${idle} kB idle, ${after} kB after`).toBeLessThan(50 * 1024);
  }, 180_000);
});
