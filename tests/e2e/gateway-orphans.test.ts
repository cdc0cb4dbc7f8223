// No orphans whatever way the gateway dies (issue 13, item 15): after a SIGKILL of the
// gateway, every downstream process group it started is gone within 2 s (a server that
// ignores stdin EOF and SIGTERM and its Node.js grandchild, an npx-style wrapper with its
// helper and its server, a sandboxed server's grandchildren), and so is its sandbox folder.
// Sandbox folders of a gateway that is gone are removed when the next one starts.
//
// "Within 2 s" is the requirement; the test waits for the condition with a generous bound
// and prints the measured time.
import { chmodSync, chownSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { GATEWAY_MAIN, fixture } from '../helpers/paths.js';
import { descendantsOf, isAlive, processesWithEnv, type ProcessInfo, waitFor } from '../helpers/processes.js';
import { spawnRaw, type RawStdioPeer } from '../helpers/rawStdio.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';

const MARKER = `gw-orphans-${process.pid}-${Date.now()}`;
const BASE_ENV: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) BASE_ENV[k] = v;
BASE_ENV.GW_E2E_MARKER = MARKER;

const AGENT = 'tester';
const measured: string[] = [];
const peers: RawStdioPeer[] = [];

guardAgainstLeaks(MARKER, {
  close: async () => {
    for (const p of peers) p.endStdin();
    await Promise.allSettled(peers.map((p) => p.exit));
    if (measured.length) console.log(`gateway orphan measurements:\n  ${measured.join('\n  ')}`);
  },
  timeoutMs: 5_000,
});

/**
 * uid of `nobody` when this test runs as root with runuser at hand and `nobody` can read the
 * built gateway (a checkout inside a private folder, e.g. one made by mktemp, is out of its
 * reach): then the gateway also runs as an ordinary user.
 */
const NOBODY = ((): number | undefined => {
  if (process.getuid?.() !== 0) return undefined;
  const id = spawnSync('id', ['-u', 'nobody'], { encoding: 'utf8' });
  const runuser = spawnSync('runuser', ['--help'], { encoding: 'utf8' });
  if (id.status !== 0 || runuser.status !== 0) return undefined;
  const reachable = spawnSync('runuser', ['-u', 'nobody', '--', 'test', '-r', GATEWAY_MAIN], { encoding: 'utf8' });
  if (reachable.status !== 0) {
    console.log(`gateway-orphans: 'nobody' cannot read ${GATEWAY_MAIN}; the as-nobody case is not run here`);
    return undefined;
  }
  return Number(id.stdout.trim());
})();

interface Started {
  readonly peer: RawStdioPeer;
  /** The gateway's pid (under runuser, runuser's child). */
  readonly pid: () => number;
}

function startGateway(mcpServers: object, sandboxDir: string, asNobody = false): Started {
  const dir = makeTmpDir('amg-orphans-');
  writeJson(join(dir, '.mcp.json'), { mcpServers });
  writeJson(join(dir, 'rules.json'), { agents: { [AGENT]: { allow: { servers: ['*'] } } } });
  if (asNobody) {
    // The configuration readable, the sandbox root its own.
    chmodSync(dir, 0o755);
    for (const f of ['.mcp.json', 'rules.json']) chmodSync(join(dir, f), 0o644);
    chownSync(sandboxDir, NOBODY!, NOBODY!);
  }
  const env = asNobody ? { ...BASE_ENV, HOME: sandboxDir } : BASE_ENV;
  const peer = spawnRaw(
    asNobody ? 'runuser' : process.execPath,
    [
      ...(asNobody ? ['-u', 'nobody', '--', process.execPath] : []),
      GATEWAY_MAIN,
      '--mcp-config',
      join(dir, '.mcp.json'),
      '--rules',
      join(dir, 'rules.json'),
      '--audit-log',
      'off',
      '--init-strategy',
      'eager',
      '--sandbox-dir',
      sandboxDir,
    ],
    { env, cwd: dir },
  );
  peers.push(peer);
  const pid = (): number => {
    if (!asNobody) return peer.pid;
    const gateway = descendantsOf(peer.pid).find((p) => p.ppid === peer.pid && p.cmd.includes(GATEWAY_MAIN));
    if (!gateway) throw new Error('the gateway under runuser was not found');
    return gateway.pid;
  };
  return { peer, pid };
}

async function exec(peer: RawStdioPeer, server: string, tool: string, args: Record<string, unknown> = {}): Promise<Record<string, unknown>> {
  const res = await peer.request('tools/call', { name: 'execute_tool', arguments: { agent_id: AGENT, server, tool, args } }, 30_000);
  if (res.error) throw new Error(`${server}/${tool}: ${res.error.message}`);
  const result = res.result as { isError?: boolean; content: Array<{ text?: string }> };
  if (result.isError) throw new Error(`${server}/${tool}: ${result.content[0]?.text}`);
  return result as Record<string, unknown>;
}

function environOf(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
  } catch {
    return [];
  }
}

describe('SIGKILL of the gateway', () => {
  const users = NOBODY === undefined ? ['this user'] : ['root', 'nobody'];
  it.each(users)(
    'as %s: ends every downstream process group (stubborn server, its Node.js grandchild, an npx-style wrapper with its helper, a sandboxed grandchild) and removes the sandbox folder',
    async (user) => {
      const asNobody = user === 'nobody';
      const sandboxDir = makeTmpDir('amg-orphans-sandbox-');
      const { peer, pid } = startGateway(
        {
          stubborn: { command: process.execPath, args: [fixture('stubborn')] },
          wrapped: { command: process.execPath, args: [fixture('wrapper'), process.execPath, fixture('echo')] },
          // restricted_env drops the marker, so the server's own env brings it back.
          boxed: { command: process.execPath, args: [fixture('spawner')], env: { GW_E2E_MARKER: MARKER }, sandbox: { enabled: true } },
        },
        sandboxDir,
        asNobody,
      );
      await peer.initialize(20_000);
      const gatewayPid = pid();
      const family = (await exec(peer, 'stubborn', 'family'))['structuredContent'] as { pid: number; grandchild: number };
      await exec(peer, 'wrapped', 'echo', { message: 'up' });
      const boxed = (await exec(peer, 'boxed', 'children'))['structuredContent'] as { pid: number; children: number[] };

      let tree: ProcessInfo[] = [];
      await waitFor(
        () => {
          const found = [...descendantsOf(gatewayPid), ...processesWithEnv('GW_E2E_MARKER', MARKER)].filter((p) => p.pid !== gatewayPid && p.pid !== peer.pid);
          tree = [...new Map(found.map((p) => [p.pid, p])).values()];
          const pids = new Set(tree.map((p) => p.pid));
          return (
            [family.pid, family.grandchild, boxed.pid, ...boxed.children].every((pid) => pids.has(pid)) &&
            tree.some((p) => environOf(p.pid).includes('WRAPPER_HELPER=1')) &&
            tree.some((p) => p.cmd.includes('sleep 1001'))
          );
        },
        { timeoutMs: 15_000, message: 'the expected process tree never appeared' },
      );
      // The gateway's own folder holds the sandboxed server's folder.
      expect(readdirSync(sandboxDir)).toHaveLength(1);

      if (asNobody) {
        // Really an ordinary user: the gateway, the reaper and the servers.
        const uid = (pid: number) => Number(/^Uid:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);
        expect([gatewayPid, family.pid, boxed.pid].map(uid)).toEqual([NOBODY, NOBODY, NOBODY]);
        expect(tree.filter((p) => p.cmd.includes('agent-mcp-gateway-reaper')).map((p) => uid(p.pid))).toEqual([NOBODY]);
      }
      const t0 = performance.now();
      process.kill(gatewayPid, 'SIGKILL');
      await waitFor(() => tree.every((p) => !isAlive(p.pid)), {
        timeoutMs: 10_000,
        intervalMs: 10,
        message: `processes left after SIGKILL of the gateway: ${tree
          .filter((p) => isAlive(p.pid))
          .map((p) => `${p.pid} ${p.cmd}`)
          .join('; ')}`,
      });
      const ms = performance.now() - t0;
      await waitFor(() => readdirSync(sandboxDir).length === 0, { timeoutMs: 10_000, message: 'the sandbox folder was left behind' });
      measured.push(`SIGKILL as ${user}: all ${tree.length} processes (the downstreams and the reaper) gone ${ms.toFixed(0)} ms after the kill`);
      const exit = await peer.exit;
      // runuser reports its child's death by signal as exit code 128 + 9.
      expect(asNobody ? exit.code : exit.signal).toBe(asNobody ? 137 : 'SIGKILL');
    },
  );
});

describe('sandbox folders of gateways that are gone', () => {
  it('are removed at the next start; those of live gateways and anything else are kept', async () => {
    const sandboxDir = makeTmpDir('amg-orphans-sweep-');
    // A process that has exited: its pid and start time name a gateway that is gone.
    const dead = spawnSync(process.execPath, ['-e', "process.stdout.write(require('fs').readFileSync('/proc/self/stat', 'utf8'))"], {
      encoding: 'utf8',
    });
    const deadPid = Number(dead.stdout.split(' ')[0]);
    const deadStart = dead.stdout.slice(dead.stdout.lastIndexOf(')') + 2).split(' ')[19];
    const ownStart = readFileSync('/proc/self/stat', 'utf8');
    const liveStart = ownStart.slice(ownStart.lastIndexOf(')') + 2).split(' ')[19];
    const gone = join(sandboxDir, `gw-${deadPid}-${deadStart}-0123abcd`);
    // This test process stands for a live gateway.
    const live = join(sandboxDir, `gw-${process.pid}-${liveStart}-0123abcd`);
    // Its pid with another start time: a gateway that had this pid before.
    const reused = join(sandboxDir, `gw-${process.pid}-1-0123abcd`);
    const other = join(sandboxDir, 'not-a-gateway-folder');
    for (const folder of [gone, live, reused, other]) {
      mkdirSync(join(folder, 'server-abc123', '.cache'), { recursive: true });
      writeFileSync(join(folder, 'server-abc123', '.cache', 'file'), 'x');
    }

    const { peer } = startGateway({ echo: { command: process.execPath, args: [fixture('echo')] } }, sandboxDir);
    await peer.initialize(20_000);
    const abandoned = [`gw-${deadPid}-${deadStart}-0123abcd`, `gw-${process.pid}-1-0123abcd`];
    await waitFor(() => !readdirSync(sandboxDir).some((name) => abandoned.includes(name)), {
      timeoutMs: 10_000,
      message: `abandoned folders were not removed: ${readdirSync(sandboxDir).join(', ')}`,
    });
    expect(readdirSync(sandboxDir).sort()).toEqual([`gw-${process.pid}-${liveStart}-0123abcd`, 'not-a-gateway-folder'].sort());
    peer.endStdin();
    expect((await peer.exit).code).toBe(0);
  });
});
