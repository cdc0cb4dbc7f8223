// `${MCP_CONFIG_DIR}` in a servers file is the folder of that file (issue 14 item 8), for
// validate/explain (loadServersFile) and for start and reload (loadServersForReload) alike.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadServersFile } from '../../../src/config/load.js';
import { loadServersForReload } from '../../../src/gateway/reload/loaders.js';

const root = mkdtempSync(join(tmpdir(), 'amg-configdir-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function serversFile(folder: string): string {
  mkdirSync(folder, { recursive: true });
  const path = join(folder, '.mcp.json');
  writeFileSync(path, JSON.stringify({ mcpServers: { s: { command: 'node', args: ['${MCP_CONFIG_DIR}/server.js'], env: { HERE: '${MCP_CONFIG_DIR}' } } } }));
  return path;
}

describe('MCP_CONFIG_DIR', () => {
  it.each([
    ['loadServersFile', (path: string, env: Record<string, string>) => loadServersFile(path, env).config.servers],
    ['loadServersForReload', (path: string, env: Record<string, string>) => loadServersForReload(path, env, new Map()).specs],
  ] as const)('%s: the folder of the file, whatever the environment says', (_name, load) => {
    const folder = join(root, 'a', 'b');
    const [spec] = load(serversFile(folder), { MCP_CONFIG_DIR: '/elsewhere' });
    expect(spec?.args).toEqual([join(folder, 'server.js')]);
    expect(spec?.env['HERE']).toBe(folder);
  });

  it('a path relative to the working directory still gives an absolute folder', () => {
    const folder = join(root, 'rel');
    const path = serversFile(folder);
    const [spec] = loadServersFile(relative(process.cwd(), path), {}).config.servers;
    expect(spec?.args[0]).toBe(join(folder, 'server.js'));
  });
});
