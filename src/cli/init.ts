import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { isAbsolute, join } from 'node:path';
import { PACKAGE_ROOT } from '../version.js';
import type { CliIo } from './io.js';
import { expandHome } from './settings.js';

const FILES = [
  { example: '.mcp.json.example', target: '.mcp.json' },
  { example: '.mcp-gateway-rules.json.example', target: '.mcp-gateway-rules.json' },
] as const;

/**
 * Writes the two example files. The shipped examples name their servers by paths relative
 * to the package (so `npm start` works in a checkout); the written copies get absolute
 * paths, so they work from any folder the gateway is started in.
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
    writeFileSync(target, file.target === '.mcp.json' ? absolutizeServerPaths(text) : text);
    io.out(`wrote ${target}\n`);
  }
  io.out(`Next: agent-mcp-gateway validate --mcp-config ${join(dir, '.mcp.json')} --rules ${join(dir, '.mcp-gateway-rules.json')}\n`);
  return 0;
}

function absolutizeServerPaths(text: string): string {
  const config = JSON.parse(text) as { mcpServers?: Record<string, { args?: unknown[] }> };
  for (const server of Object.values(config.mcpServers ?? {})) {
    if (!Array.isArray(server.args)) continue;
    server.args = server.args.map((arg) =>
      typeof arg === 'string' && !isAbsolute(arg) && (arg.startsWith('node_modules/') || arg.startsWith('dist/'))
        ? join(PACKAGE_ROOT, arg)
        : arg,
    );
  }
  return JSON.stringify(config, null, 2) + '\n';
}
