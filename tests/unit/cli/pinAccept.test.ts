import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { definitionOf, digestOf, MAX_PINNED_ITEMS, pinsOf, readLockFile, withPins } from '../../../src/config/lockFile.js';
import { updateLockFile } from '../../../src/gateway/pins/lockFileUpdate.js';
import { acceptItem, parseItemTarget } from '../../../src/cli/pinAccept.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function setup() {
  const dir = mkdtempSync(join(tmpdir(), 'amg-pin-accept-'));
  dirs.push(dir);
  const out: string[] = [];
  const err: string[] = [];
  const io = { out: (t: string) => void out.push(t), err: (t: string) => void err.push(t), env: {}, cwd: dir, home: dir };
  return { path: join(dir, '.mcp-gateway-lock.json'), io, out, err };
}
const tool = (name: string, description: string) => ({ name, description, inputSchema: { type: 'object' } });
const digest = (item: Record<string, unknown>) => digestOf(definitionOf('tools', item))!;
const listed = (...tools: Record<string, unknown>[]) => ({ server: 's', tools, prompts: [] });

describe('pin --accept SERVER/NAME[@DIGEST]', () => {
  it('parses a trailing @hex as a digest prefix, anything else as part of the name', () => {
    expect(parseItemTarget('s', 'a@ABCDEF0123456789')).toEqual({ server: 's', name: 'a', digest: 'abcdef0123456789' });
    expect(parseItemTarget('s', 'user@example.com')).toEqual({ server: 's', name: 'user@example.com' });
    expect(parseItemTarget('s', 'a@b@0123456789ab')).toEqual({ server: 's', name: 'a@b', digest: '0123456789ab' });
  });

  it('accepts the reviewed definition only: a prefix of another digest is refused and nothing is written', () => {
    const { path, io, out, err } = setup();
    const reviewed = tool('t', 'reviewed text');
    const swapped = tool('t', 'swapped after the review');
    expect(acceptItem(io, path, listed(swapped), { server: 's', name: 't', digest: digest(reviewed).slice(0, 16) })).toBe(1);
    expect(err.join('')).toContain(`now has sha256 ${digest(swapped)}`);
    expect(err.join('')).toContain('run pin --diff again');
    expect(readLockFile(path)?.servers['s']?.tools?.['t']).toBeUndefined();

    expect(acceptItem(io, path, listed(reviewed), { server: 's', name: 't', digest: digest(reviewed).slice(0, 16) })).toBe(0);
    expect(readLockFile(path)!.servers['s']!.tools!['t']!.sha256).toBe(digest(reviewed));
    expect(out.join('')).toContain(`with sha256 ${digest(reviewed)}`);
  });

  it('refuses a prefix too short to mean anything', () => {
    const { path, io, err } = setup();
    const item = tool('t', 'x');
    expect(acceptItem(io, path, listed(item), { server: 's', name: 't', digest: digest(item).slice(0, 6) })).toBe(1);
    expect(err.join('')).toContain('at least 12 hex digits');
  });

  it('without a digest, prints the digest and the definition it accepted (escaped)', () => {
    const { path, io, out } = setup();
    const item = tool('t', 'Reads\u001b[8m hidden');
    expect(acceptItem(io, path, listed(item), { server: 's', name: 't' })).toBe(0);
    const text = out.join('');
    expect(text).toContain(`accepted tool s/t with sha256 ${digest(item)}`);
    expect(text).toContain('  description:\n  + Reads\\u{1b}[8m hidden');
    expect(text).not.toContain('\u001b');
  });

  it('refuses what cannot be pinned, and a new item past the per-server cap', () => {
    const { path, io, err } = setup();
    let deep: unknown = {};
    for (let i = 0; i < 70; i++) deep = { d: deep };
    expect(acceptItem(io, path, listed({ name: 'deep', inputSchema: deep }), { server: 's', name: 'deep' })).toBe(1);
    expect(err.join('')).toContain('cannot be pinned');
    const full = Array.from({ length: MAX_PINNED_ITEMS }, (_, i) => tool(`t${i}`, 'x'));
    updateLockFile(path, (lock) => withPins(lock, 's', 'tools', pinsOf('tools', full)));
    expect(acceptItem(io, path, listed(...full, tool('one_more', 'x')), { server: 's', name: 'one_more' })).toBe(1);
    expect(err.join('')).toContain(`already pins ${MAX_PINNED_ITEMS} tools`);
  });
});
