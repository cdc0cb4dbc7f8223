// Claude Code's own health check against the built gateway: `claude mcp list` connects to
// every configured server the way Claude Code does at start, over stdio and over /mcp. The
// CLI needs Node 22 and comes from the npm registry (pinned, so a new release cannot turn
// this red by itself); HOME is a temporary folder, so nothing of the machine's own Claude
// configuration is read or written.
import { spawnSync } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HTTP_MARKER_VAR, killLaunchedGateways, launchGateway, type LaunchedGateway } from '../helpers/httpGateway.js';
import { GATEWAY_MAIN, REPO_ROOT } from '../helpers/paths.js';
import { makeTmpDir } from '../helpers/tmp.js';

const CLAUDE_CODE = '@anthropic-ai/claude-code@2.1.332';
const EXAMPLE_CONFIG = `${REPO_ROOT}/.mcp.json.example`;
const EXAMPLE_RULES = `${REPO_ROOT}/.mcp-gateway-rules.json.example`;

function claude(home: string, script: string): { status: number | null; out: string } {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, [HTTP_MARKER_VAR]: `claude-${process.pid}` };
  for (const key of Object.keys(env)) if (key.startsWith('GATEWAY_') || key.startsWith('ANTHROPIC_')) delete env[key];
  const r = spawnSync('npx', ['-y', '-p', 'node@22', '-p', CLAUDE_CODE, '-c', script], { cwd: home, env, encoding: 'utf8', timeout: 280_000 });
  return { status: r.status, out: `${r.stdout}\n${r.stderr}` };
}

describe("Claude Code's health check (claude mcp list)", () => {
  let http: LaunchedGateway | undefined;

  beforeAll(async () => {
    const args = ['--transport', 'http', '--host', '127.0.0.1', '--port', '0', '--allow-unauthenticated', '--audit-log', 'off'];
    http = await launchGateway(GATEWAY_MAIN, [...args, '--mcp-config', EXAMPLE_CONFIG, '--rules', EXAMPLE_RULES], { cwd: REPO_ROOT });
  }, 60_000);

  afterAll(async () => {
    await http?.stop();
    killLaunchedGateways();
  });

  it('connects to the gateway over stdio and over /mcp', () => {
    const home = makeTmpDir();
    const stdio = `claude mcp add gw-stdio -- ${process.execPath} ${GATEWAY_MAIN} --mcp-config ${EXAMPLE_CONFIG} --rules ${EXAMPLE_RULES} --audit-log off`;
    const add = `${stdio} && claude mcp add --transport http gw-http ${http!.url}/mcp && claude mcp list`;
    const r = claude(home, add);
    expect(r.status, r.out).toBe(0);
    expect(r.out).toMatch(/gw-stdio: .* ✔ Connected/);
    expect(r.out).toMatch(/gw-http: .* ✔ Connected/);
  }, 300_000);
});
