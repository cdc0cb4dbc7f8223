// The MCP conformance suite (@modelcontextprotocol/conformance, server scenarios, from the npm
// registry through npx, on Node 22 as it requires) against /mcp of the built gateway, once per
// protocol era (`--spec-version`): each era runs at its own wire (2025-11-25 with the
// initialize handshake and a session, 2026-07-28 stateless with `_meta` on every request).
// The suite calls fixed names (test_simple_text, test_input_required_result_elicitation, ...):
// the gateway runs in native mode with --name-separator _ and one downstream server named
// `test` whose tools and prompts are the suite's names without `test_`, so the gateway offers
// them under exactly the suite's names. That server is either
// tests/fixtures/servers/conformance.mjs (v1 SDK, a 2025 server) or conformance-mrtr.mjs (v2
// SDK, both eras, answering input_required itself): three runs cover a 2025 caller with each
// and a 2026-07-28 caller with the v2 one. What fails in a run is listed in its
// conformance-expected-failures-<run>.yml, with the reason in docs/conformance.md: the suite
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

/** One suite run: the era the suite speaks and the downstream fixture behind `test`. */
interface SuiteRun {
  readonly era: string;
  readonly fixture: 'conformance' | 'conformance-mrtr';
  /** Names conformance-expected-failures-<baseline>.yml. */
  readonly baseline: string;
  /**
   * Scenarios that must pass with at least one successful check, besides the suite's own
   * verdict: a scenario the suite no longer runs would otherwise pass unnoticed.
   */
  readonly mustPass: readonly string[];
}

const PASSING_2025 = ['server-initialize', 'logging-set-level', 'tools-call-with-progress', 'tools-call-sampling', 'tools-call-elicitation', 'completion-complete'];
const RUNS: readonly SuiteRun[] = [
  { era: '2025-11-25', fixture: 'conformance', baseline: '2025-11-25', mustPass: [...PASSING_2025, 'tools-call-with-logging'] },
  // A 2025 caller and a 2026 downstream: the gateway bridges the eras (input_required becomes
  // pushed elicitation and sampling requests on the caller's stream).
  { era: '2025-11-25', fixture: 'conformance-mrtr', baseline: '2025-11-25-mrtr', mustPass: PASSING_2025 },
  {
    era: '2026-07-28',
    fixture: 'conformance-mrtr',
    baseline: '2026-07-28',
    mustPass: [
      'tools-call-simple-text',
      'tools-call-with-progress',
      'caching',
      'http-header-validation',
      'input-required-result-basic-elicitation',
      'input-required-result-basic-sampling',
      'input-required-result-basic-list-roots',
      'input-required-result-request-state',
      'input-required-result-multiple-input-requests',
      'input-required-result-multi-round',
      'input-required-result-capability-check',
    ],
  },
];

const expectedFailuresFile = (baseline: string): string => join(REPO_ROOT, 'tests', 'e2e', `conformance-expected-failures-${baseline}.yml`);

const gateways = new Map<SuiteRun['fixture'], HttpGw>();
beforeAll(async () => {
  for (const name of new Set(RUNS.map((r) => r.fixture))) {
    const gw = await startHttpGateway({
      mcpServers: { test: { command: process.execPath, args: [fixture(name)] } },
      // The suite sends no agent_id and no credential: every call falls back to `default`.
      rules: { agents: { default: { allow: { servers: ['test'] } } }, defaults: { deny_on_missing_agent: false } },
      // The suite adds tools and prompts and expects list_changed for them: pinning would quarantine them (tests/e2e/pins.test.ts).
      args: ['--mode', 'native', '--name-separator', '_', '--pinning', 'off'],
    });
    gateways.set(name, gw);
  }
});
afterAll(async () => {
  for (const gw of gateways.values()) {
    await gw.stop();
    gw.kill();
  }
  cleanupTmpDirs();
});

interface Run {
  readonly code: number | null;
  readonly output: string;
}

function runSuite(url: string, run: SuiteRun, outDir: string): Promise<Run> {
  const command = `conformance server --url ${url} --suite all --spec-version ${run.era} --expected-failures ${expectedFailuresFile(run.baseline)} -o ${outDir}`;
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
function expectedFailures(baseline: string): string[] {
  return [...readFileSync(expectedFailuresFile(baseline), 'utf8').matchAll(/^\s*-\s+([\w:-]+)/gm)].map((m) => m[1]!);
}

describe.each(RUNS.map((r) => [`spec ${r.era}, downstream ${r.fixture}.mjs`, r] as const))('MCP conformance suite against /mcp, %s', (_title, suite) => {
  it(
    'passes every scenario that is not in its expected-failures file',
    async () => {
      const outDir = makeTmpDir('amg-conformance-');
      const run = await runSuite(`${gateways.get(suite.fixture)!.url}/mcp`, suite, outDir);
      const byScenario = results(outDir);
      const expected = expectedFailures(suite.baseline);
      expect(run.code, `${run.output}\n--- unexpected checks that did not succeed ---\n${unsuccessful(byScenario, expected)}`).toBe(0);
      for (const scenario of suite.mustPass) {
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
