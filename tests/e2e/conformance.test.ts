// The MCP conformance suite (@modelcontextprotocol/conformance, server scenarios, from the npm
// registry through npx, on Node 22 as it requires) against /mcp of the built gateway, once per
// protocol era (`--spec-version`): each era runs at its own wire (2025-11-25 with the
// initialize handshake and a session, 2026-07-28 stateless with `_meta` on every request).
// The suite calls fixed names (test_simple_text, test_tool_with_logging, ...): the gateway runs
// in native mode with tests/fixtures/servers/conformance.mjs as server `test` and
// --name-separator _, so the suite's names are that server's tools and prompts as the gateway
// offers them. What fails in an era is listed in that era's
// conformance-expected-failures-<era>.yml, with the reason in docs/conformance.md: the suite
// fails on any other failure, and on a listed scenario that starts to pass.
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHttpGateway, type HttpGw } from '../helpers/httpGateway.js';
import { fixture, REPO_ROOT } from '../helpers/paths.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';

// A prerelease (the `latest` tag is still 0.1.16, which knows no 2026-07-28 scenario): pinned
// exactly, so a new alpha cannot change the scenarios under the test.
const CONFORMANCE = '@modelcontextprotocol/conformance@0.2.0-alpha.12';
// npx may download Node 22 and the suite first.
const SUITE_TIMEOUT_MS = 300_000;

const expectedFailuresFile = (era: string): string => join(REPO_ROOT, 'tests', 'e2e', `conformance-expected-failures-${era}.yml`);

let gw: HttpGw;
beforeAll(async () => {
  gw = await startHttpGateway({
    mcpServers: { test: { command: process.execPath, args: [fixture('conformance')] } },
    // The suite sends no agent_id and no credential: every call falls back to `default`.
    rules: { agents: { default: { allow: { servers: ['test'] } } }, defaults: { deny_on_missing_agent: false } },
    args: ['--mode', 'native', '--name-separator', '_'],
  });
});
afterAll(async () => {
  if (gw) {
    await gw.stop();
    gw.kill();
  }
  cleanupTmpDirs();
});

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function runSuite(url: string, era: string, outDir: string): Promise<Run> {
  const command = `conformance server --url ${url} --suite all --spec-version ${era} --expected-failures ${expectedFailuresFile(era)} -o ${outDir}`;
  // Its own process group, so a timeout kills npx and everything it started.
  const child = spawn('npx', ['-y', '-p', 'node@22', '-p', CONFORMANCE, '-c', command], {
    cwd: outDir,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
  const timer = setTimeout(() => process.kill(-child.pid!, 'SIGKILL'), SUITE_TIMEOUT_MS - 10_000);
  return new Promise((resolve, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, output });
    });
  });
}

interface Check {
  readonly id: string;
  readonly status: string;
  readonly errorMessage?: string;
}

/** Every check but INFO, by scenario, from the suite's result folders (`server-<scenario>-<time>`). */
function results(outDir: string): Map<string, Check[]> {
  const byScenario = new Map<string, Check[]>();
  for (const entry of readdirSync(outDir)) {
    const m = /^server-(.+)-\d{4}-\d\d-\d\dT/.exec(entry);
    if (!m) continue;
    // A scenario that crashed leaves no checks.json; the suite's exit code reports it.
    const file = join(outDir, entry, 'checks.json');
    const checks = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as Check[]) : [];
    byScenario.set(
      m[1]!,
      checks.filter((c) => c.status !== 'INFO'),
    );
  }
  return byScenario;
}

/**
 * The suite prints only counts per scenario and the result folders are temporary: the checks
 * that did not succeed, with their messages, outside the expected failures, so a failing run
 * says why.
 */
function unsuccessful(byScenario: Map<string, Check[]>, expected: readonly string[]): string {
  const lines: string[] = [];
  for (const [scenario, checks] of byScenario)
    for (const c of checks)
      if (c.status !== 'SUCCESS' && !expected.includes(scenario) && !expected.includes(`${scenario}:${c.id}`))
        lines.push(`${scenario}: ${c.status} ${c.id}: ${(c.errorMessage ?? '').slice(0, 300)}`);
  return lines.join('\n');
}

/** The entries of an expected-failures file: `scenario` or `scenario:check-id`. */
function expectedFailures(era: string): string[] {
  return [...readFileSync(expectedFailuresFile(era), 'utf8').matchAll(/^\s*-\s+([\w:-]+)/gm)].map((m) => m[1]!);
}

/**
 * Per era, the scenarios that must pass with at least one successful check, besides the suite's
 * own verdict: a scenario the suite no longer runs would otherwise pass unnoticed.
 */
const MUST_PASS: Record<string, readonly string[]> = {
  '2025-11-25': [
    'server-initialize',
    'logging-set-level',
    'tools-call-with-logging',
    'tools-call-with-progress',
    'tools-call-sampling',
    'tools-call-elicitation',
    'completion-complete',
  ],
  '2026-07-28': [],
};

describe.each(Object.keys(MUST_PASS))('MCP conformance suite against /mcp, spec %s', (era) => {
  it(
    'passes every scenario that is not in its expected-failures file',
    async () => {
      const outDir = makeTmpDir('amg-conformance-');
      const run = await runSuite(`${gw.url}/mcp`, era, outDir);
      const byScenario = results(outDir);
      const expected = expectedFailures(era);
      expect(run.code, `${run.output}\n--- unexpected checks that did not succeed ---\n${unsuccessful(byScenario, expected)}`).toBe(0);
      for (const scenario of MUST_PASS[era]!) {
        const statuses = (byScenario.get(scenario) ?? []).map((c) => c.status);
        expect(statuses, `${scenario}\n${run.output}`).toEqual(expect.arrayContaining(['SUCCESS']));
        expect(statuses).not.toContain('FAILURE');
      }
      // An expected failure the suite no longer runs (renamed, or out of this era) is a stale entry.
      for (const entry of expected) {
        const scenario = entry.split(':')[0]!;
        expect(byScenario.has(scenario), `${scenario} did not run\n${run.output}`).toBe(true);
      }
    },
    SUITE_TIMEOUT_MS,
  );
});
