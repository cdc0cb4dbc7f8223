// Hot reload through the built gateway over real stdio, with real files in a temp folder
// (issue 4, "Reload"): rules edited while a client is connected, the ways editors save (rename,
// in place, touch, truncation, delete and re-create), debouncing, a broken file keeping the
// last good configuration, the two files reloading independently, per-server application of
// `.mcp.json` (unchanged servers keep their process, changed ones restart, removed ones lose
// their whole process group, added ones work, an entry with an unset variable fails alone),
// SIGHUP, and a call that is running while its server is reloaded.
import { join } from 'node:path';
import { truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, describe, expect, it } from 'vitest';
import { callTool, readJsonl } from '../helpers/gateway.js';
import { fixture } from '../helpers/paths.js';
import { isAlive, processGroupMembers, waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir, writeJson } from '../helpers/tmp.js';
import { AGENT, ALLOW_ALL, GatewayFarm, echoPid, exec, sleep, status, waitForAttempts, waitForFileEvents } from './reload-support.js';
import { textOf, errorOf } from '../helpers/results.js';

const farm = new GatewayFarm('reload');
/** Measured latencies, printed at the end for the report. */
const measured: string[] = [];

const echo = (...extraArgs: string[]) => ({ command: process.execPath, args: [fixture('echo'), ...extraArgs] });
const denyEcho = { agents: { [AGENT]: { allow: { servers: ['*'] }, deny: { tools: { echo: ['echo'] } } } } };

afterAll(async () => {
  await farm.closeAll();
  cleanupTmpDirs();
  if (measured.length) console.log(`reload latencies:\n  ${measured.join('\n  ')}`);
});

/** Polls `probe` until it returns true and returns the time from `since` to that moment. */
async function timeUntil(since: number, probe: () => Promise<boolean>, timeoutMs = 5_000): Promise<number> {
  let at = 0;
  await waitFor(
    async () => {
      if (!(await probe())) return false;
      at = performance.now();
      return true;
    },
    { timeoutMs, intervalMs: 10 },
  );
  return at - since;
}

describe('rules reload', () => {
  it('applies a rules edit saved by rename while a client is connected: the deny is in force within 1 s', async () => {
    const gw = await farm.start({ mcpServers: { echo: echo() }, rules: ALLOW_ALL });
    expect(textOf(await exec(gw, 'echo', 'echo', { message: 'before' }))).toBe('before');
    const before = await status(gw);
    expect(before.revision).toBe(1);
    expect(before.reload.gateway_rules).toMatchObject({ attempts: 0, successes: 0, last_error: null, revision: 1 });

    const written = performance.now();
    writeJson(gw.rulesPath, denyEcho); // temp file + rename, as most editors save
    const latency = await timeUntil(written, async () => errorOf(await exec(gw, 'echo', 'echo', { message: 'x' }))?.code === 'DENIED_BY_POLICY');
    measured.push(`rules edit (rename) -> deny in force: ${latency.toFixed(0)} ms`);
    expect(latency).toBeLessThan(1_000);

    // The tool is denied by the new rule, other tools still pass, and the file's record says so.
    const denied = await exec(gw, 'echo', 'echo', { message: 'x' });
    expect(errorOf(denied)?.message).toBe(`Agent '${AGENT}' not authorized to call tool 'echo' on server 'echo'`);
    expect(textOf(await exec(gw, 'echo', 'add', { a: 1, b: 2 }))).toBe('3');
    const after = await status(gw);
    expect(after.revision).toBe(2);
    expect(after.reload.gateway_rules).toMatchObject({ attempts: 1, successes: 1, last_error: null, revision: 2 });
    expect(Date.parse(after.reload.gateway_rules.last_success!)).not.toBeNaN();
    expect(after.reload.gateway_rules.last_success).toMatch(/Z$/);
    expect(after.reload.mcp_config.attempts).toBe(0);

    // Every audit line carries the revision that decided it.
    await waitFor(() => readJsonl(gw.auditPath).some((l) => l.decision === 'DENY'));
    const lines = readJsonl(gw.auditPath).filter((l) => l.operation === 'execute_tool');
    expect(lines.find((l) => l.decision === 'ALLOW' && l.tool === 'echo')?.revision).toBe(1);
    expect(lines.filter((l) => l.decision === 'DENY').every((l) => l.revision === 2)).toBe(true);
    expect(gw.stderr()).toContain('configuration reloaded');
  });

  it('sees in-place writes, touch, truncation, and a file deleted then created again', async () => {
    const gw = await farm.start({ mcpServers: { echo: echo() }, rules: ALLOW_ALL });
    const text = (rules: object) => JSON.stringify(rules, null, 2);

    // In place (truncate + write, like `echo > file`).
    writeFileSync(gw.rulesPath, text(denyEcho));
    let file = await waitForAttempts(gw, 'gateway_rules', 1);
    expect(file).toMatchObject({ successes: 1, last_error: null });
    expect(errorOf(await exec(gw, 'echo', 'echo', { message: 'x' }))?.code).toBe('DENIED_BY_POLICY');

    // touch: same content, new mtime. A reload all the same.
    const future = new Date(Date.now() + 60_000);
    utimesSync(gw.rulesPath, future, future);
    file = await waitForAttempts(gw, 'gateway_rules', 2);
    expect(file).toMatchObject({ successes: 2, last_error: null, revision: 3 });

    // Truncated to nothing: not JSON, so the last good rules stay.
    truncateSync(gw.rulesPath, 0);
    file = await waitForAttempts(gw, 'gateway_rules', 3);
    expect(file.successes).toBe(2);
    expect(file.last_error).toMatch(/Invalid JSON/);
    expect(errorOf(await exec(gw, 'echo', 'echo', { message: 'x' }))?.code).toBe('DENIED_BY_POLICY');

    // Deleted: recorded, last good rules stay. Created again: applied.
    unlinkSync(gw.rulesPath);
    file = await waitForAttempts(gw, 'gateway_rules', 4);
    expect(file.last_error).toMatch(/not found/);
    expect(errorOf(await exec(gw, 'echo', 'echo', { message: 'x' }))?.code).toBe('DENIED_BY_POLICY');
    writeFileSync(gw.rulesPath, text(ALLOW_ALL));
    file = await waitForAttempts(gw, 'gateway_rules', 5);
    expect(file).toMatchObject({ successes: 3, last_error: null });
    expect(textOf(await exec(gw, 'echo', 'echo', { message: 'back' }))).toBe('back');
  });

  it('makes one reload of a burst of five writes within 100 ms, and applies the last', async () => {
    const gw = await farm.start({ mcpServers: { echo: echo() }, rules: ALLOW_ALL });
    for (let i = 0; i < 5; i++) {
      // Alternating content; the fifth (denying) write is the one that must end up in force.
      writeJson(gw.rulesPath, i % 2 === 0 ? denyEcho : ALLOW_ALL, { atomic: i % 2 === 0 });
      await sleep(20);
    }
    const file = await waitForAttempts(gw, 'gateway_rules', 1);
    expect(file).toMatchObject({ attempts: 1, successes: 1, revision: 2 });
    expect(file.last_error).toBeNull();
    expect(errorOf(await exec(gw, 'echo', 'echo', { message: 'x' }))?.code).toBe('DENIED_BY_POLICY');
    // Reloads happen in order, so a second reload of the burst would come before the one of a
    // later write: when that write is in force, it must be the second reload, not the third.
    writeJson(gw.rulesPath, ALLOW_ALL);
    await waitFor(async () => textOf(await exec(gw, 'echo', 'echo', { message: 'sentinel' })) === 'sentinel', {
      timeoutMs: 10_000,
      message: 'the write after the burst never came into force',
    });
    expect((await status(gw)).reload.gateway_rules).toMatchObject({ attempts: 2, successes: 2, revision: 3 });
  });

  it('keeps the last good rules when the new file is broken, and shows why with the JSON path', async () => {
    const gw = await farm.start({ mcpServers: { echo: echo() }, rules: ALLOW_ALL });

    writeFileSync(gw.rulesPath, '{ "agents": { "tester": { "allow": { "servers": ["*"] } }\n');
    let file = await waitForAttempts(gw, 'gateway_rules', 1);
    expect(file.successes).toBe(0);
    expect(file.last_error).toMatch(/Invalid JSON in .*\.mcp-gateway-rules\.json: .* at line \d+, column \d+/);
    expect(file.revision).toBe(1);
    expect(textOf(await exec(gw, 'echo', 'echo', { message: 'still' }))).toBe('still');
    expect((await status(gw)).revision).toBe(1);

    // Valid JSON, invalid rules: the message names the path of the mistake.
    writeJson(gw.rulesPath, { agents: { [AGENT]: { alow: { servers: ['*'] }, deny: { servers: ['echo'] } } } });
    file = await waitForAttempts(gw, 'gateway_rules', 2);
    expect(file.successes).toBe(0);
    expect(file.last_error).toContain('agents.tester.alow: unknown key "alow" (did you mean "allow"?)');
    expect(textOf(await exec(gw, 'echo', 'echo', { message: 'still' }))).toBe('still');
    expect(gw.stderr()).toContain('the last good configuration stays in force');
    expect(gw.stderr()).toContain('agents.tester.alow');

    // Fixed: applied, and the error is gone.
    writeJson(gw.rulesPath, denyEcho);
    file = await waitForAttempts(gw, 'gateway_rules', 3);
    expect(file).toMatchObject({ successes: 1, last_error: null, revision: 2 });
    expect(errorOf(await exec(gw, 'echo', 'echo', { message: 'x' }))?.code).toBe('DENIED_BY_POLICY');
  });

  it('applies a valid rules edit while .mcp.json is broken, and the reverse', async () => {
    const gw = await farm.start({ mcpServers: { echo: echo() }, rules: ALLOW_ALL });
    const pid = await echoPid(gw, 'echo');

    writeJson(gw.mcpConfigPath, { mcpServers: { echo: echo() }, mcpServerz: {} });
    writeJson(gw.rulesPath, denyEcho);
    const rules = await waitForAttempts(gw, 'gateway_rules', 1);
    const servers = await waitForAttempts(gw, 'mcp_config', 1);
    expect(rules).toMatchObject({ successes: 1, last_error: null });
    expect(servers.successes).toBe(0);
    expect(servers.last_error).toContain('mcpServerz: unknown key "mcpServerz" (did you mean "mcpServers"?)');
    expect(errorOf(await exec(gw, 'echo', 'echo', { message: 'x' }))?.code).toBe('DENIED_BY_POLICY');
    expect(await echoPid(gw, 'echo')).toBe(pid);

    // Now the rules break and .mcp.json is fixed (with a new server): the servers apply.
    writeFileSync(gw.rulesPath, '{');
    writeJson(gw.mcpConfigPath, { mcpServers: { echo: echo(), second: echo() } });
    await waitForAttempts(gw, 'gateway_rules', 2);
    const fixed = await waitForAttempts(gw, 'mcp_config', 2);
    expect(fixed).toMatchObject({ successes: 1, last_error: null });
    expect((await status(gw)).reload.gateway_rules.last_error).toMatch(/Invalid JSON/);
    expect(textOf(await exec(gw, 'second', 'echo', { message: 'new' }))).toBe('new');
    // The rules in force are still the denying ones.
    expect(errorOf(await exec(gw, 'echo', 'echo', { message: 'x' }))?.code).toBe('DENIED_BY_POLICY');
  });

  it('offers get_gateway_status while the rules set defaults.debug, and tells the client each time the tool list changes', async () => {
    const gw = await farm.start({ mcpServers: { echo: echo() }, rules: ALLOW_ALL, debug: false });
    let notices = 0;
    gw.client.setNotificationHandler(ToolListChangedNotificationSchema, () => {
      notices++;
    });
    const names = async () => (await gw.client.listTools()).tools.map((t) => t.name);
    expect(await names()).not.toContain('get_gateway_status');

    writeJson(gw.rulesPath, { ...ALLOW_ALL, defaults: { debug: true } });
    await waitFor(() => notices === 1, { timeoutMs: 5_000, message: 'no notifications/tools/list_changed after debug was turned on' });
    expect(await names()).toContain('get_gateway_status');
    expect((await status(gw)).reload.gateway_rules.revision).toBe(2);

    // A rules edit that leaves debug as it was says nothing.
    writeJson(gw.rulesPath, { ...denyEcho, defaults: { debug: true } });
    await waitFor(async () => (await status(gw)).revision === 3);

    writeJson(gw.rulesPath, ALLOW_ALL);
    await waitFor(() => notices === 2, { timeoutMs: 5_000, message: 'no notifications/tools/list_changed after debug was turned off' });
    expect(await names()).not.toContain('get_gateway_status');
    const refused = await callTool(gw.client, 'get_gateway_status', {}).catch((err: Error) => err);
    expect(String(refused)).toContain('Unknown tool: get_gateway_status');
    expect(notices).toBe(2);
  });
});

describe('servers reload', () => {
  it("restarts only the server whose args changed, and replaces that server's tool cache", async () => {
    // c is replaced by another program: pinning would quarantine its new tools (tests/e2e/pins.test.ts).
    const gw = await farm.start({ mcpServers: { a: echo(), b: echo(), c: echo() }, rules: ALLOW_ALL, args: ['--pinning', 'off'] });
    const [pidA, pidB] = [await echoPid(gw, 'a'), await echoPid(gw, 'b')];
    const toolsOf = async (server: string) =>
      ((await callTool(gw.client, 'get_server_tools', { agent_id: AGENT, server })).structuredContent as { tools: { name: string }[] }).tools.map((t) => t.name);
    expect(await toolsOf('c')).toContain('pid');

    const written = performance.now();
    writeJson(gw.mcpConfigPath, {
      mcpServers: { a: echo(), b: echo('--changed'), c: { command: process.execPath, args: [fixture('crash-on-call')] } },
    });
    const file = await waitForAttempts(gw, 'mcp_config', 1);
    measured.push(`.mcp.json edit -> reload recorded: ${(performance.now() - written).toFixed(0)} ms (includes polling)`);
    expect(file).toMatchObject({ successes: 1, last_error: null, revision: 2 });

    expect(await echoPid(gw, 'a')).toBe(pidA);
    const newB = await echoPid(gw, 'b');
    expect(newB).not.toBe(pidB);
    await waitFor(() => !isAlive(pidB), { timeoutMs: 3_000, message: `old b (${pidB}) still alive` });
    expect((await status(gw)).servers.map((s) => s.name)).toEqual(['a', 'b', 'c']);
    // c now runs another program: its tool list is the new one.
    expect((await toolsOf('c')).sort()).toEqual(['crash_now', 'hello', 'ok']);
  });

  it('closes a removed server with its whole process group, and an added server is usable', async () => {
    const gw = await farm.start({
      mcpServers: { echo: echo(), spawner: { command: process.execPath, args: [fixture('spawner')] } },
      rules: ALLOW_ALL,
    });
    const family = (await exec(gw, 'spawner', 'children')).structuredContent as { pid: number; children: number[] };
    const members = processGroupMembers(family.pid).map((p) => p.pid);
    // spawner, sleep, sh and the sh's sleep.
    expect(members.length).toBeGreaterThanOrEqual(4);
    const echoBefore = await echoPid(gw, 'echo');

    writeJson(gw.mcpConfigPath, { mcpServers: { echo: echo(), added: echo() } });
    await waitForAttempts(gw, 'mcp_config', 1);
    await waitFor(() => processGroupMembers(family.pid).length === 0, {
      timeoutMs: 3_000,
      message: `process group ${family.pid} still has ${JSON.stringify(processGroupMembers(family.pid))}`,
    });
    for (const pid of members) expect(isAlive(pid)).toBe(false);

    const listed = (await callTool(gw.client, 'list_servers', { agent_id: AGENT })).structuredContent as { servers: { name: string }[] };
    expect(listed.servers.map((s) => s.name)).toEqual(['echo', 'added']);
    expect(errorOf(await exec(gw, 'spawner', 'children'))?.code).toBe('SERVER_NOT_FOUND');
    expect(textOf(await exec(gw, 'added', 'echo', { message: 'hi' }))).toBe('hi');
    expect(await echoPid(gw, 'echo')).toBe(echoBefore);
  });

  it('fails only the server whose entry needs an unset variable; the other changes apply', async () => {
    const unset = `AMG_RELOAD_TEST_UNSET_${process.pid}`;
    const gw = await farm.start({ mcpServers: { a: echo(), b: echo() }, rules: ALLOW_ALL });
    const [pidA, pidB] = [await echoPid(gw, 'a'), await echoPid(gw, 'b')];

    writeJson(gw.mcpConfigPath, {
      mcpServers: {
        a: { ...echo(), env: { TOKEN: `\${${unset}}` } },
        b: echo('--changed'),
        c: echo(),
        d: { ...echo(), env: { TOKEN: `\${${unset}}` } },
      },
    });
    const file = await waitForAttempts(gw, 'mcp_config', 1);
    expect(file.successes).toBe(1);
    expect(file.revision).toBe(2);
    expect(file.failed_servers).toEqual(['a', 'd']);
    expect(file.last_error).toContain(`mcpServers.a.env.TOKEN: Environment variable "${unset}" referenced in configuration but not set`);
    expect(file.last_error).toContain('server "a" keeps its last good configuration');
    expect(file.last_error).toContain('server "d" listed as failed, not started');
    expect(gw.stderr()).toContain(`mcpServers.d.env.TOKEN`);

    // a keeps running as it was; b restarted; c added; d a failed server saying why.
    expect(await echoPid(gw, 'a')).toBe(pidA);
    expect(textOf(await exec(gw, 'a', 'env', { name: 'TOKEN' }))).toBe('<unset>');
    expect(await echoPid(gw, 'b')).not.toBe(pidB);
    expect(textOf(await exec(gw, 'c', 'echo', { message: 'c' }))).toBe('c');
    const refused = errorOf(await exec(gw, 'd', 'echo', { message: 'd' }));
    expect(refused?.code).toBe('SERVER_UNAVAILABLE');
    expect(refused?.message).toContain(`mcpServers.d.env.TOKEN: Environment variable "${unset}" referenced in configuration but not set`);
    expect((await status(gw)).servers.map((s) => s.name)).toEqual(['a', 'b', 'c', 'd']);
  });

  it('lets a call running on a server finish while that server is reloaded, then closes the old process', async () => {
    const callLog = join(makeTmpDir('amg-reload-calls-'), 'calls.jsonl');
    const gw = await farm.start({ mcpServers: { echo: { ...echo(), env: { FIXTURE_CALL_LOG: callLog } } }, rules: ALLOW_ALL });
    const oldPid = await echoPid(gw, 'echo');
    const started = performance.now();
    const running = exec(gw, 'echo', 'slow', { ms: 2_500 });
    await waitFor(() => readJsonl(callLog).some((l) => l['tool'] === 'slow'), { message: 'the slow call never reached echo' });

    writeJson(gw.mcpConfigPath, { mcpServers: { echo: echo('--changed') } });
    await waitForAttempts(gw, 'mcp_config', 1);
    // New calls already go to a new process while the old one finishes its call.
    const newPid = await echoPid(gw, 'echo');
    expect(newPid).not.toBe(oldPid);
    expect(isAlive(oldPid)).toBe(true);

    const result = await running;
    expect(result.isError).not.toBe(true);
    expect(textOf(result)).toBe('slept 2500');
    expect(performance.now() - started).toBeGreaterThanOrEqual(2_400);
    await waitFor(() => !isAlive(oldPid), { timeoutMs: 3_000, message: `old echo (${oldPid}) still alive after its call finished` });
    expect(await echoPid(gw, 'echo')).toBe(newPid);
    // The slow call was decided under the configuration it started with.
    // Audit lines are written asynchronously (batched, within a few ms of each call).
    await waitFor(() => {
      const lines = readJsonl(gw.auditPath);
      return lines.some((l) => l.tool === 'slow') && lines.filter((l) => l.tool === 'pid').length === 3;
    });
    expect(readJsonl(gw.auditPath).find((l) => l.tool === 'slow')).toMatchObject({ decision: 'ALLOW', revision: 1 });
    expect(
      readJsonl(gw.auditPath)
        .filter((l) => l.tool === 'pid')
        .map((l) => l.revision),
    ).toEqual([1, 2, 2]);
  });
});

describe('SIGHUP', () => {
  it('reloads both files at once, with one new revision', async () => {
    // A debounce far beyond the test, so only the signal can cause a reload.
    const gw = await farm.start({
      mcpServers: { echo: echo() },
      rules: ALLOW_ALL,
      // debug: the watcher logs each file event it sees, so the test knows both writes were seen.
      env: { GATEWAY_RELOAD_DEBOUNCE_MS: '600000', GATEWAY_LOG_LEVEL: 'debug' },
    });
    writeJson(gw.mcpConfigPath, { mcpServers: { echo: echo(), second: echo() } });
    writeJson(gw.rulesPath, denyEcho);
    await waitForFileEvents(gw, [gw.mcpConfigPath, gw.rulesPath]);
    let s = await status(gw);
    expect(s.reload.mcp_config.attempts).toBe(0);
    expect(s.reload.gateway_rules.attempts).toBe(0);
    expect(textOf(await exec(gw, 'echo', 'echo', { message: 'old rules' }))).toBe('old rules');

    const sent = performance.now();
    process.kill(gw.pid, 'SIGHUP');
    const latency = await timeUntil(sent, async () => (await status(gw)).reload.gateway_rules.attempts === 1);
    measured.push(`SIGHUP -> both files reloaded: ${latency.toFixed(0)} ms`);
    s = await status(gw);
    expect(s.revision).toBe(2);
    expect(s.reload.mcp_config).toMatchObject({ attempts: 1, successes: 1, revision: 2, last_error: null });
    expect(s.reload.gateway_rules).toMatchObject({ attempts: 1, successes: 1, revision: 2, last_error: null });
    expect(errorOf(await exec(gw, 'echo', 'echo', { message: 'x' }))?.code).toBe('DENIED_BY_POLICY');
    expect(textOf(await exec(gw, 'second', 'add', { a: 2, b: 2 }))).toBe('4');
    expect(gw.stderr()).toContain('"trigger":"SIGHUP"');
  });
});
