// The stdio pipes at their limits (issue 13, items 11-13), over real stdio with a bare
// JSON-RPC peer, so every byte the gateway writes is seen:
//   - a request line over --max-message-bytes is answered (-32600) and the gateway keeps serving;
//   - a line that is not JSON gets -32700 with id null; JSON that is not a JSON-RPC request
//     gets -32600 (with its id when it has one); an invalid notification gets nothing;
//   - tools/call with non-object arguments gets -32602 naming the field;
//   - a downstream result over --max-result-bytes (or a line that never ends) fails the call at
//     once with RESULT_TOO_LARGE, and the next call to that server is served by a new process.
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { GATEWAY_MAIN, fixture } from '../helpers/paths.js';
import { descendantsOf, isAlive, waitFor } from '../helpers/processes.js';
import { spawnRaw, type JsonRpcResponse, type RawStdioPeer } from '../helpers/rawStdio.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { textOf } from '../helpers/results.js';

const MARKER = `gw-framing-${process.pid}-${Date.now()}`;
const BASE_ENV: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) BASE_ENV[k] = v;
BASE_ENV.GW_E2E_MARKER = MARKER;

const AGENT = 'tester';
const RULES = { agents: { [AGENT]: { allow: { servers: ['*'] } } } };
const MIB = 1024 * 1024;

const peers: RawStdioPeer[] = [];

async function startGateway(args: string[] = []): Promise<RawStdioPeer> {
  const dir = makeTmpDir('amg-framing-');
  writeJson(join(dir, '.mcp.json'), {
    mcpServers: {
      huge: { command: process.execPath, args: [fixture('huge-output')] },
      echo: { command: process.execPath, args: [fixture('echo')] },
    },
  });
  writeJson(join(dir, '.mcp-gateway-rules.json'), RULES);
  const peer = spawnRaw(
    process.execPath,
    [GATEWAY_MAIN, '--mcp-config', join(dir, '.mcp.json'), '--rules', join(dir, '.mcp-gateway-rules.json'), '--audit-log', 'off', ...args],
    { env: BASE_ENV, cwd: dir },
  );
  peers.push(peer);
  await peer.initialize(20_000);
  return peer;
}

/** Writes raw bytes as one line (no JSON.stringify of ours). */
function sendLine(peer: RawStdioPeer, line: string): void {
  peer.child.stdin!.write(`${line}\n`);
}

/** The next message (from index `from` on) that matches, waiting for it. */
async function nextMessage(peer: RawStdioPeer, from: number, match: (m: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
  let found: Record<string, unknown> | undefined;
  await waitFor(
    () => {
      found = peer.messages.slice(from).find((m) => match(m as Record<string, unknown>)) as Record<string, unknown> | undefined;
      return found !== undefined;
    },
    { timeoutMs: 20_000, message: `no matching answer; stderr: ${peer.stderr().slice(-2000)}` },
  );
  return found!;
}

async function listServersWorks(peer: RawStdioPeer): Promise<void> {
  const r = await peer.request('tools/call', { name: 'list_servers', arguments: { agent_id: AGENT } }, 20_000);
  expect(r.error).toBeUndefined();
  expect(JSON.stringify(r.result)).toContain('huge');
}

async function exec(peer: RawStdioPeer, server: string, tool: string, args: Record<string, unknown>, timeoutMs = 30_000): Promise<JsonRpcResponse> {
  return peer.request('tools/call', { name: 'execute_tool', arguments: { agent_id: AGENT, server, tool, args } }, timeoutMs);
}

function errorCode(r: JsonRpcResponse): unknown {
  return (r.result?.structuredContent as { error?: { code?: string } } | undefined)?.error?.code;
}

guardAgainstLeaks(MARKER, {
  close: async () => {
    for (const peer of peers) peer.endStdin();
    await Promise.allSettled(peers.map((p) => p.exit));
  },
  what: 'processes left behind by stdio-framing tests',
});

describe('requests from the client (stdin)', () => {
  it('an 11 MB request line (over the 10 MiB default) is answered with -32600 and the gateway keeps serving', async () => {
    const peer = await startGateway();
    const from = peer.messages.length;
    // The SDK's client writes the id last; the gateway finds it at the end of the line.
    const pad = 'x'.repeat(11 * 1000 * 1000);
    sendLine(peer, JSON.stringify({ method: 'tools/call', params: { name: 'list_servers', arguments: { agent_id: AGENT, pad } }, jsonrpc: '2.0', id: 901 }));
    const answer = await nextMessage(peer, from, (m) => m.id === 901);
    expect(answer.error).toMatchObject({ code: -32600, message: expect.stringContaining('10485760 bytes') });
    await listServersWorks(peer);
    expect(isAlive(peer.pid)).toBe(true);
  });

  it('--max-message-bytes sets the limit; an id that cannot be found is answered as null', async () => {
    const peer = await startGateway(['--max-message-bytes', String(MIB)]);
    let from = peer.messages.length;
    sendLine(peer, JSON.stringify({ jsonrpc: '2.0', id: 'first', method: 'tools/call', params: { name: 'list_servers', arguments: { pad: 'y'.repeat(2 * MIB) } } }));
    expect((await nextMessage(peer, from, (m) => m.id === 'first')).error).toMatchObject({ code: -32600, message: expect.stringContaining(`${MIB} bytes`) });
    from = peer.messages.length;
    sendLine(peer, `[${'1,'.repeat(MIB)}1]`);
    expect((await nextMessage(peer, from, (m) => m.id === null)).error).toMatchObject({ code: -32600 });
    // Just under the limit is served.
    const r = await peer.request('tools/call', { name: 'list_servers', arguments: { agent_id: AGENT, pad: 'z'.repeat(MIB - 1000) } }, 20_000);
    expect(r.error).toBeUndefined();
    expect(peer.stderr()).toContain('--max-message-bytes');
  });

  it('answers invalid JSON with -32700, invalid requests with -32600 and bad arguments with -32602; invalid notifications get nothing', async () => {
    const peer = await startGateway();
    let from = peer.messages.length;
    sendLine(peer, '{"jsonrpc":"2.0","id":3,"method":');
    const parseError = await nextMessage(peer, from, (m) => 'error' in m);
    expect(parseError).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32700, message: expect.stringContaining('Parse error') } });

    from = peer.messages.length;
    sendLine(peer, '{"jsonrpc":"2.0","id":5}');
    expect(await nextMessage(peer, from, (m) => 'error' in m)).toEqual({
      jsonrpc: '2.0',
      id: 5,
      error: { code: -32600, message: expect.stringContaining('"method"') },
    });

    from = peer.messages.length;
    sendLine(peer, '{"jsonrpc":"1.0","id":"old","method":"tools/list"}');
    expect(await nextMessage(peer, from, (m) => 'error' in m)).toMatchObject({ id: 'old', error: { code: -32600 } });

    from = peer.messages.length;
    sendLine(peer, '"just a string"');
    expect(await nextMessage(peer, from, (m) => 'error' in m)).toMatchObject({ id: null, error: { code: -32600 } });

    const bad = await peer.request('tools/call', { name: 'list_servers', arguments: 'x' });
    expect(bad.error).toEqual({ code: -32602, message: 'Invalid params: arguments must be an object, got string' });
    const noName = await peer.request('tools/call', { arguments: {} });
    expect(noName.error).toEqual({ code: -32602, message: 'Invalid params: name is required' });

    // An invalid notification and a blank line: no answer. The next request's answer is the next message.
    from = peer.messages.length;
    sendLine(peer, '{"jsonrpc":"2.0","method":"notifications/cancelled","params":"nope"}');
    sendLine(peer, '   ');
    await listServersWorks(peer);
    expect(peer.messages.slice(from)).toHaveLength(1);
  });
});

describe('answers to the client (stdout)', () => {
  it('a client that closes its end of stdout is taken as gone: a clean shutdown, no crash, no process left', async () => {
    const peer = await startGateway();
    await exec(peer, 'echo', 'echo', { message: 'started' });
    const children = descendantsOf(peer.child.pid!).map((p) => p.pid);
    expect(children.length).toBeGreaterThan(0);
    peer.child.stdout!.destroy();
    sendLine(peer, JSON.stringify({ jsonrpc: '2.0', id: 777, method: 'tools/call', params: { name: 'list_servers', arguments: { agent_id: AGENT } } }));
    const exit = await peer.exit;
    expect(exit, peer.stderr().slice(-2000)).toEqual({ code: 0, signal: null });
    expect(peer.stderr()).toContain('cannot write to the client');
    expect(peer.stderr()).not.toContain('Unhandled');
    await waitFor(() => children.every((pid) => !isAlive(pid)), { timeoutMs: 10_000, message: 'the gateway left its servers behind' });
  });
});

describe('results from a downstream server (its stdout)', () => {
  it('a result over --max-result-bytes fails that call at once with RESULT_TOO_LARGE; the server is restarted', async () => {
    // A call timeout far above the test's own wait: an answer proves the call did not wait for it.
    const peer = await startGateway(['--max-result-bytes', String(MIB), '--timeout-ms', '300000', '--max-timeout-ms', '300000']);
    const first = textOf((await exec(peer, 'huge', 'pid', {})).result);
    const under = await exec(peer, 'huge', 'big', { bytes: MIB - 1000 });
    expect(textOf(under.result)).toHaveLength(MIB - 1000);

    const over = await exec(peer, 'huge', 'big', { bytes: 2 * MIB }, 20_000);
    expect(over.result?.isError).toBe(true);
    expect(errorCode(over)).toBe('RESULT_TOO_LARGE');
    expect(textOf(over.result)).toContain(`longer than ${MIB} bytes`);
    await waitFor(() => !isAlive(Number(first)), { message: 'the server that sent the over-long result is still running' });

    const again = await exec(peer, 'huge', 'pid', {});
    expect(again.result?.isError).toBeFalsy();
    expect(textOf(again.result)).not.toBe(first);
    // Other servers were never affected.
    expect(textOf((await exec(peer, 'echo', 'echo', { message: 'still here' })).result)).toBe('still here');
  });

  it('a line that never ends fails the call at once and the server is restarted', async () => {
    const peer = await startGateway(['--max-result-bytes', String(MIB), '--timeout-ms', '300000', '--max-timeout-ms', '300000']);
    const first = textOf((await exec(peer, 'huge', 'pid', {})).result);
    const endless = await exec(peer, 'huge', 'endless', {}, 20_000);
    expect(errorCode(endless)).toBe('RESULT_TOO_LARGE');
    await waitFor(() => !isAlive(Number(first)), { message: 'the server writing the endless line is still running' });
    const again = await exec(peer, 'huge', 'pid', {});
    expect(textOf(again.result)).toMatch(/^\d+$/);
    expect(textOf(again.result)).not.toBe(first);
  });
});
