// Audit durability under kill -9 (issue 13, item 16): a call the client has seen answered
// has its audit line handed to the operating system before the answer, so a SIGKILL of the
// gateway in the middle of a load loses no answered call's line and tears no line.
//
// The audit log holds no argument values by default, but it holds their hash: each call
// carries a unique message, and an answered call is found in the log by the hash of it.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { hashArgs } from '../../src/audit/record.js';
import { GATEWAY_MAIN, fixture } from '../helpers/paths.js';
import { waitFor } from '../helpers/processes.js';
import { spawnRaw } from '../helpers/rawStdio.js';
import { makeTmpDir, writeJson } from '../helpers/tmp.js';
import { guardAgainstLeaks } from '../helpers/leakGuard.js';

const MARKER = `gw-audit-kill-${process.pid}-${Date.now()}`;
const BASE_ENV: Record<string, string> = {};
for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) BASE_ENV[k] = v;
BASE_ENV.GW_E2E_MARKER = MARKER;

/** Calls kept in flight, and answered calls before the kill: enough for batches to form. */
const IN_FLIGHT = 200;
const ANSWERED_BEFORE_KILL = 3_000;
const ROUNDS = 2;

guardAgainstLeaks(MARKER);

async function killUnderLoad(round: number): Promise<{ answered: number[]; auditPath: string }> {
  const dir = makeTmpDir('amg-audit-kill-');
  const auditPath = join(dir, 'audit.jsonl');
  writeJson(join(dir, '.mcp.json'), { mcpServers: { echo: { command: process.execPath, args: [fixture('echo')] } } });
  writeJson(join(dir, 'rules.json'), { agents: { tester: { allow: { servers: ['echo'] } } } });
  const peer = spawnRaw(process.execPath, [GATEWAY_MAIN, '--mcp-config', join(dir, '.mcp.json'), '--rules', join(dir, 'rules.json'), '--audit-log', auditPath], {
    env: BASE_ENV,
    cwd: dir,
  });
  await peer.initialize(20_000);
  const answered: number[] = [];
  let next = 0;
  let killed = false;
  const fire = (): void => {
    const i = next++;
    peer
      .request('tools/call', { name: 'execute_tool', arguments: { agent_id: 'tester', server: 'echo', tool: 'echo', args: { message: `r${round}-m${i}` } } }, 60_000)
      .then(
        () => {
          // Any answer (a result or an error) is a call the client has seen answered.
          answered.push(i);
          if (!killed) fire();
        },
        () => {},
      );
  };
  for (let k = 0; k < IN_FLIGHT; k++) fire();
  await waitFor(() => answered.length >= ANSWERED_BEFORE_KILL, { timeoutMs: 60_000, intervalMs: 1, message: 'the load never got going' });
  killed = true;
  process.kill(peer.pid, 'SIGKILL');
  // exit resolves once stdout is closed: every answer the gateway wrote has been read.
  expect((await peer.exit).signal).toBe('SIGKILL');
  return { answered, auditPath };
}

describe('audit log under kill -9', () => {
  for (let round = 0; round < ROUNDS; round++) {
    it(`round ${round + 1}: every answered call has its line, and every line is whole`, async () => {
      const { answered, auditPath } = await killUnderLoad(round);
      const raw = readFileSync(auditPath, 'utf8');
      const lines = raw.split('\n');
      // A file ending without a newline ends in a torn line.
      expect(lines.pop()).toBe('');
      const torn = lines.filter((line) => {
        try {
          JSON.parse(line);
          return false;
        } catch {
          return true;
        }
      });
      expect(torn).toEqual([]);
      const logged = new Set(lines.map((line) => (JSON.parse(line) as { args_sha256: string }).args_sha256));
      const missing = answered.filter((i) => !logged.has(hashArgs({ message: `r${round}-m${i}` })));
      expect({ answered: answered.length, missing: missing.length }).toEqual({ answered: answered.length, missing: 0 });
    });
  }
});

describe('an audit log that cannot be opened', () => {
  it('stops the start with exit code 1 and a message naming it (no call is served unrecorded)', () => {
    const dir = makeTmpDir('amg-audit-open-');
    writeJson(join(dir, '.mcp.json'), { mcpServers: {} });
    writeJson(join(dir, 'rules.json'), { agents: { tester: { allow: { servers: ['*'] } } } });
    // A folder where the file should be.
    const r = spawnSync(process.execPath, [GATEWAY_MAIN, '--mcp-config', join(dir, '.mcp.json'), '--rules', join(dir, 'rules.json'), '--audit-log', dir], {
      env: BASE_ENV,
      cwd: dir,
      input: '',
      encoding: 'utf8',
      timeout: 20_000,
    });
    expect(r.status).toBe(1);
    expect(r.stderr).toContain(`ERROR: cannot open the audit log '${dir}': EISDIR`);
  });
});
