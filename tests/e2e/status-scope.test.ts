// get_gateway_status follows the policy and redacts credentials (issue 13 item 5). Before, an
// agent allowed one server saw every server, every agent's id and metrics, every isolated
// instance, and another server's stderr tail holding `postgres://app:S3CR3T@...`.
import { beforeAll, describe, expect, it } from 'vitest';
import { callTool, startGateway, type GatewayHandle } from '../helpers/gateway.js';
import { fixture } from '../helpers/paths.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';
import { errorOf } from '../helpers/results.js';

const MARKER = `status-scope-${process.pid}-${Date.now()}`;
const SECRET_LINE = 'connecting to postgres://app:S3CR3T@db/x with token=abc Authorization: Bearer eyJ0b2tlbiI6MX0.sig';
/** Prints credentials to stderr and dies, as a server with a bad connection string does. */
const leaky = {
  command: process.execPath,
  args: ['-e', `process.stderr.write(${JSON.stringify(`${SECRET_LINE}\n`)}, () => process.exit(3))`],
};
const echo = { command: process.execPath, args: [fixture('echo')] };

let gw: GatewayHandle;

interface Status {
  agents: Record<string, unknown>;
  servers: Array<{ name: string; state: string; last_error: string | null; stderr_tail: string | null }>;
  instances: Array<{ server: string; agent: string }>;
  reload: { gateway_rules: { warnings: string[] }; mcp_config: { warnings: string[] } };
  metrics: { by_operation: Record<string, { count: number }>; by_agent: Record<string, unknown> };
}

async function statusAs(agent: string): Promise<{ status: Status; text: string }> {
  const r = await callTool(gw.client, 'get_gateway_status', { agent_id: agent });
  expect(r.isError).not.toBe(true);
  return { status: r.structuredContent as unknown as Status, text: (r.content[0] as { text: string }).text };
}

beforeAll(async () => {
  gw = await startGateway({
    mcpServers: {
      mine: echo,
      mine_broken: leaky,
      iso: { ...echo, isolation: 'agent' },
      hidden: leaky,
    },
    rules: {
      agents: {
        alice: { allow: { servers: ['mine', 'mine_broken', 'iso', 'phantom'] } },
        mallory: { allow: { servers: ['*', 'ghostly'] } },
      },
    },
    args: ['--debug'],
    env: { GW_E2E_MARKER: MARKER, GATEWAY_LOG_LEVEL: 'info' },
  });
  const exec = (agent: string, server: string) => callTool(gw.client, 'execute_tool', { agent_id: agent, server, tool: 'echo', args: { message: 'x' } });
  expect(errorOf(await exec('mallory', 'hidden'))?.code).toBe('SERVER_UNAVAILABLE');
  expect((await exec('mallory', 'iso')).isError).not.toBe(true);
  expect((await exec('alice', 'iso')).isError).not.toBe(true);
  expect((await exec('alice', 'mine')).isError).not.toBe(true);
});

guardAgainstLeaks(MARKER, { close: () => gw?.close(), timeoutMs: 5_000 });

describe('get_gateway_status follows the policy', () => {
  it("shows a caller only the servers its rules allow, its own instances and metrics, and no other agent's id", async () => {
    const { status, text } = await statusAs('alice');
    expect(status.servers.map((s) => s.name)).toEqual(['mine', 'mine_broken', 'iso']);
    expect(status.instances.map((i) => [i.server, i.agent])).toEqual([['iso', 'alice']]);
    expect(Object.keys(status.metrics.by_agent)).toEqual(['alice']);
    expect(status.agents).toMatchObject({ caller: 'alice' });
    expect(status.agents).not.toHaveProperty('ids');
    // The caller's own configuration warnings stay; another agent's do not.
    expect(status.reload.gateway_rules.warnings.join('\n')).toMatch(/agents\.alice\.allow\.servers\[3\].*phantom/);
    for (const word of ['hidden', 'mallory', 'ghostly']) expect(text, word).not.toContain(word);
  });

  it('another agent sees its own view', async () => {
    const { status, text } = await statusAs('mallory');
    expect(status.servers.map((s) => s.name)).toEqual(['mine', 'mine_broken', 'iso', 'hidden']);
    expect(status.instances.map((i) => [i.server, i.agent])).toEqual([['iso', 'mallory']]);
    expect(Object.keys(status.metrics.by_agent)).toEqual(['mallory']);
    expect(text).not.toContain('alice');
  });
});

describe('credentials are redacted', () => {
  it('in the stderr tail and last error of get_gateway_status', async () => {
    const { status, text } = await statusAs('mallory');
    const hidden = status.servers.find((s) => s.name === 'hidden')!;
    expect(hidden.state).toBe('failed');
    expect(hidden.stderr_tail).toContain('postgres://[REDACTED]@db/x');
    expect(hidden.stderr_tail).toContain('token=[REDACTED]');
    expect(hidden.last_error).toContain('postgres://[REDACTED]@db/x');
    for (const secret of ['S3CR3T', 'token=abc', 'eyJ0b2tlbiI6MX0']) expect(text, secret).not.toContain(secret);
  });

  it('in the SERVER_UNAVAILABLE message a call gets', async () => {
    const r = await callTool(gw.client, 'execute_tool', { agent_id: 'alice', server: 'mine_broken', tool: 'echo', args: {} });
    const { code, message } = errorOf(r)!;
    expect(code).toBe('SERVER_UNAVAILABLE');
    expect(message).toContain('exited with code 3');
    expect(message).toContain('postgres://[REDACTED]@db/x with token=[REDACTED]');
    for (const secret of ['S3CR3T', 'token=abc', 'eyJ0b2tlbiI6MX0']) expect(JSON.stringify(r), secret).not.toContain(secret);
  });
});
