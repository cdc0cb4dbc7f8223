// Isolation in stdio mode (issue 6): one client, no sessions, so "session" falls back to the
// agent; a reload that changes how an isolated server starts closes its instances.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { callTool, startGateway, type GatewayHandle } from '../helpers/gateway.js';
import { fixture } from '../helpers/paths.js';
import { isAlive, processesWithEnv, waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, writeJson } from '../helpers/tmp.js';

const MARKER_VAR = 'AMG_STDIO_ISOLATION_MARKER';
const MARKER = `stdio-iso-${process.pid}-${Date.now()}`;
const RULES = { agents: { alice: { allow: { servers: ['*'] } }, bob: { allow: { servers: ['*'] } } } };
const todo = (extraEnv: Record<string, string> = {}) => ({
  command: process.execPath,
  args: [fixture('todo')],
  isolation: 'session',
  env: { [MARKER_VAR]: MARKER, ...extraEnv },
});

let gw: GatewayHandle;
beforeAll(async () => {
  gw = await startGateway({ mcpServers: { todo: todo() }, rules: RULES });
});
afterAll(async () => {
  await gw?.close();
  cleanupTmpDirs();
});

async function run(agent: string, tool: string, args: Record<string, unknown> = {}): Promise<string> {
  const r = await callTool(gw.client, 'execute_tool', { agent_id: agent, server: 'todo', tool, args });
  const first = r.content[0];
  return first?.type === 'text' ? first.text : JSON.stringify(r);
}

describe('stdio mode', () => {
  it('a "session" server gets one instance per agent', async () => {
    expect(await run('alice', 'add_todo', { text: 'mine' })).toBe('Added todo #1: mine (priority: medium)');
    expect(await run('bob', 'list_todos')).toBe('No all todos found');
    expect(await run('alice', 'list_todos')).toBe('Todo List (all):\n○ #1 [medium] mine');
    expect(await run('alice', 'pid')).not.toBe(await run('bob', 'pid'));
  });

  it('lists tools from a connection that holds no agent state', async () => {
    const r = await callTool(gw.client, 'get_server_tools', { agent_id: 'alice', server: 'todo' });
    const names = ((r.structuredContent as { tools: { name: string }[] }).tools ?? []).map((t) => t.name);
    expect(names).toEqual(expect.arrayContaining(['add_todo', 'list_todos', 'complete_todo']));
  });

  it('a reload that changes the server closes its instances; the next call starts afresh', async () => {
    const pid = Number(await run('alice', 'pid'));
    writeJson(gw.mcpConfigPath, { mcpServers: { todo: todo({ CHANGED: '1' }) } });
    await waitFor(() => !isAlive(pid), { timeoutMs: 20_000, message: 'the old instance survived the reload' });
    expect(await run('alice', 'list_todos')).toBe('No all todos found');
  });

  it('closing the gateway leaves no instance behind', async () => {
    const pids = processesWithEnv(MARKER_VAR, MARKER).map((p) => p.pid);
    expect(pids.length).toBeGreaterThan(0);
    await gw.close();
    await waitFor(() => pids.every((p) => !isAlive(p)), { message: 'instances left after close' });
  });
});
