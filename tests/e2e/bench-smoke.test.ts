// Smoke test of the benchmark harness (bench/run.ts --quick): it runs end to end, prints the
// table, writes its JSON, and leaves no process behind. It keeps the harness working; it
// never checks a timing (budgets are checked in the report, not in tests: a loaded CI
// machine must not fail the build).
import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';
import { killPids, processesWithEnv, waitFor } from '../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';

const MARKER = `bench-smoke-${process.pid}-${Date.now()}`;
const TSX = join(REPO_ROOT, 'node_modules', 'tsx', 'dist', 'cli.mjs');

afterAll(() => {
  killPids(processesWithEnv('BENCH_SMOKE_MARKER', MARKER).map((p) => p.pid));
  cleanupTmpDirs();
});

function runBench(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(process.env)) if (v !== undefined && !k.startsWith('GATEWAY_')) env[k] = v;
    env['BENCH_SMOKE_MARKER'] = MARKER;
    const child = spawn(process.execPath, [TSX, join(REPO_ROOT, 'bench', 'run.ts'), ...args], { cwd: REPO_ROOT, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString('utf8')));
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('bench harness (quick mode)', () => {
  it('prints the report table, writes a JSON run file and leaves no process behind', { timeout: 180_000 }, async () => {
    const out = makeTmpDir('amg-bench-smoke-');
    const run = await runBench(['--quick', '--no-profile', '--out', out]);
    expect(run.code, run.stderr).toBe(0);

    expect(run.stdout).toContain('| Section | Figure | Direct | Via gateway | Difference | Ratio | Budget | Check |');
    for (const section of [
      'Cold start',
      'Latency, echo fixture',
      'Throughput, echo fixture',
      'Memory',
      'Discovery, 500 tools',
      'Policy',
      'Reload',
      'HTTP mode',
      'Tool search',
    ]) {
      expect(run.stdout).toContain(`| ${section}`);
    }
    expect(run.stdout).toMatch(/Node v\d+\.\d+\.\d+, @modelcontextprotocol\/sdk \d+\.\d+\.\d+/);

    // One JSON file for the run, none of the published latest.* (a quick run never replaces them).
    const files = readdirSync(out);
    const runFiles = files.filter((f) => /^run-.*-quick\.json$/.test(f));
    expect(runFiles).toHaveLength(1);
    expect(files).not.toContain('latest.md');
    const json = JSON.parse(readFileSync(join(out, runFiles[0]!), 'utf8')) as { mode: string; rows: { section: string; check: string }[] };
    expect(json.mode).toBe('quick');
    expect(json.rows.length).toBeGreaterThan(10);
    for (const row of json.rows) expect(['met', '**MISSED**', 'n/a', '—']).toContain(row.check);

    // Every gateway, downstream server and direct server the run started is gone.
    await waitFor(() => processesWithEnv('BENCH_SMOKE_MARKER', MARKER).length === 0, {
      timeoutMs: 10_000,
      message: 'bench left processes behind',
    });
  });
});
