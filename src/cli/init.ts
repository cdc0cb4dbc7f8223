import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PACKAGE_ROOT } from '../version.js';
import type { CliIo } from './io.js';
import { expandHome } from './settings.js';

const FILES = [
  { example: '.mcp.json.example', target: '.mcp.json' },
  { example: '.mcp-gateway-rules.json.example', target: '.mcp-gateway-rules.json' },
] as const;

/**
 * Writes the two example files, made to work wherever the files and the gateway are: see
 * forThisInstall.
 */
export function runInit(io: CliIo, flags: { dir?: string; force: boolean }): number {
  const dir = expandHome(flags.dir ?? '~/.config/agent-mcp-gateway', io.home, io.cwd);
  const existing = FILES.map((f) => join(dir, f.target)).filter((p) => existsSync(p));
  if (existing.length > 0 && !flags.force) {
    io.err(`Refusing to overwrite ${existing.join(', ')} (use --force)\n`);
    return 1;
  }
  mkdirSync(dir, { recursive: true });
  for (const file of FILES) {
    const text = readFileSync(join(PACKAGE_ROOT, file.example), 'utf8');
    const target = join(dir, file.target);
    writeFileSync(target, file.target === '.mcp.json' ? forThisInstall(text) : text);
    io.out(`wrote ${target}\n`);
  }
  io.out(`Next: agent-mcp-gateway validate --mcp-config ${join(dir, '.mcp.json')} --rules ${join(dir, '.mcp-gateway-rules.json')}\n`);
  return 0;
}

interface ExampleServer {
  command?: string;
  args?: unknown[];
}

/**
 * The shipped example names its servers relative to its own folder (`${MCP_CONFIG_DIR}/...`),
 * which is this package. A written copy lives elsewhere, so each such path becomes absolute
 * when the file exists here (the demo server in dist/, and in a checkout the reference
 * servers in node_modules/). An installed package has no devDependencies: a reference server
 * missing here is started through `npx -y <package>@<range we test with>` instead.
 */
function forThisInstall(text: string): string {
  const config = JSON.parse(text) as { mcpServers?: Record<string, ExampleServer> };
  for (const server of Object.values(config.mcpServers ?? {})) {
    const args = server.args;
    if (!Array.isArray(args)) continue;
    const at = args.findIndex((arg) => typeof arg === 'string' && arg.startsWith(CONFIG_DIR));
    if (at < 0) continue;
    const relative = (args[at] as string).slice(CONFIG_DIR.length);
    const local = join(PACKAGE_ROOT, relative);
    const pkg = /^node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(relative)?.[1];
    if (existsSync(local) || pkg === undefined) {
      args[at] = local;
    } else {
      server.command = 'npx';
      server.args = ['-y', `${pkg}@${devRange(pkg)}`, ...args.slice(at + 1)];
    }
  }
  return JSON.stringify(config, null, 2) + '\n';
}

const CONFIG_DIR = '${MCP_CONFIG_DIR}/';

/** The version range package.json tests `pkg` with, or "latest". */
function devRange(pkg: string): string {
  const manifest = JSON.parse(readFileSync(join(PACKAGE_ROOT, 'package.json'), 'utf8')) as { devDependencies?: Record<string, string> };
  return manifest.devDependencies?.[pkg] ?? 'latest';
}
