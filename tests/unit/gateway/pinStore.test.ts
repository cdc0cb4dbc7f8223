import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import {
  MAX_PINNED_ITEMS,
  MAX_PINNED_NAME_CHARS,
  pinsOf,
  readLockFile,
  serializeLockFile,
  withPins,
  EMPTY_LOCK_FILE,
  LockFileError,
} from '../../../src/config/lockFile.js';
import { updateLockFile } from '../../../src/gateway/pins/lockFileUpdate.js';
import { PinStore, type PinningMode } from '../../../src/gateway/pins/pinStore.js';
import { MemoryAuditSink } from '../../helpers/memoryAuditSink.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
function store(mode: PinningMode = 'enforce', existing?: string) {
  const dir = mkdtempSync(join(tmpdir(), 'amg-pinstore-'));
  dirs.push(dir);
  const path = join(dir, '.mcp-gateway-lock.json');
  if (existing !== undefined) writeFileSync(path, existing);
  const audit = new MemoryAuditSink();
  return { pins: new PinStore({ path, mode, logger: pino({ level: 'silent' }), audit }), path, audit };
}
const tool = (name: string, description = name) => ({ name, description, inputSchema: { type: 'object' } });
const names = (items: readonly { name: string }[]) => items.map((i) => i.name);

describe('PinStore', () => {
  it('trusts the first list of a server, writing the lockfile, and audits no event for it', () => {
    const { pins, path, audit } = store();
    const list = [tool('a'), tool('b')];
    const vetted = pins.vet('tools', 's', list);
    expect(vetted.items).toBe(list);
    expect(vetted.withheld.size).toBe(0);
    expect(Object.keys(readLockFile(path)!.servers['s']!.tools!)).toEqual(['a', 'b']);
    expect(audit.records).toEqual([]);
  });

  it('withholds new and changed items once pinned, audits each change once, and reports removals', () => {
    const { pins, audit } = store();
    pins.vet('tools', 's', [tool('a'), tool('b'), tool('c')]);
    const after = [tool('a', 'changed'), tool('b'), tool('d')];
    for (let i = 0; i < 3; i++) {
      const vetted = pins.vet('tools', 's', after);
      expect(names(vetted.items)).toEqual(['b']);
      expect(Object.fromEntries(vetted.withheld)).toEqual({ a: 'changed', d: 'new' });
    }
    expect(audit.records.map((r) => [r.tool, r.pin?.event, r.decision, r.code])).toEqual([
      ['a', 'changed', 'DENY', 'TOOL_QUARANTINED'],
      ['d', 'new', 'DENY', 'TOOL_QUARANTINED'],
      ['c', 'removed', 'ALLOW', null],
    ]);
    expect(pins.status(new Set(['s']))).toMatchObject({
      mode: 'enforce',
      quarantined: {
        s: [
          { kind: 'tool', name: 'a', reason: 'changed' },
          { kind: 'tool', name: 'd', reason: 'new' },
          { kind: 'tool', name: 'c', reason: 'removed' },
        ],
      },
    });
    expect(pins.status(new Set())).toMatchObject({ quarantined: {} });
  });

  it('warn mode hides nothing but records and audits the same', () => {
    const { pins, audit } = store('warn');
    pins.vet('prompts', 's', [{ name: 'p', description: 'x' }]);
    const list = [{ name: 'p', description: 'y' }];
    expect(pins.vet('prompts', 's', list)).toEqual({ items: list, withheld: new Map() });
    expect(audit.records).toMatchObject([{ tool: 'p', decision: 'ALLOW', code: null, pin: { kind: 'prompt', event: 'changed' } }]);
  });

  it('first use keeps pins another writer made meanwhile', () => {
    const { pins, path } = store('enforce', serializeLockFile(EMPTY_LOCK_FILE));
    // `pin --accept` wrote server t after the gateway read the file.
    updateLockFile(path, (lock) => withPins(lock, 't', 'tools', pinsOf('tools', [tool('x')])));
    pins.vet('tools', 's', [tool('a')]);
    expect(Object.keys(readLockFile(path)!.servers).sort()).toEqual(['s', 't']);
    // And pins on disk for the very server are never overwritten by first use.
    updateLockFile(path, (lock) => withPins(lock, 'u', 'tools', pinsOf('tools', [tool('old')])));
    pins.reload();
    expect(Object.fromEntries(pins.vet('tools', 'u', [tool('new')]).withheld)).toEqual({ new: 'new' });
  });

  it('reload applies an edited lockfile and tells the listeners; a broken or unchanged one changes nothing', () => {
    const { pins, path } = store();
    pins.vet('tools', 's', [tool('a')]);
    let told = 0;
    pins.onChange(() => told++);
    pins.reload();
    // The file was written by first use after the store read it: that is one change.
    expect(told).toBe(1);
    pins.reload();
    expect(told).toBe(1);
    const accepted = readFileSync(path, 'utf8').replace(/"sha256": "[0-9a-f]+"/, `"sha256": "${'0'.repeat(64)}"`);
    writeFileSync(path, accepted);
    pins.reload();
    expect(told).toBe(2);
    expect(pins.vet('tools', 's', [tool('a')]).withheld.get('a')).toBe('changed');
    writeFileSync(path, '{ broken');
    pins.reload();
    expect(told).toBe(2);
    expect(pins.vet('tools', 's', [tool('a')]).withheld.get('a')).toBe('changed');
  });

  it('a broken lockfile at start is refused', () => {
    expect(() => store('enforce', '{"version": 9}')).toThrow(LockFileError);
  });

  it('a server changing 10,000 tools at once writes at most 100 audit lines', () => {
    const { pins, audit } = store();
    pins.vet('tools', 's', [tool('keep')]);
    const many = Array.from({ length: 10_000 }, (_, i) => tool(`t${i}`));
    expect(pins.vet('tools', 's', [tool('keep'), ...many]).withheld.size).toBe(10_000);
    expect(audit.records.length).toBe(100);
    expect((pins.status(new Set(['s'])).quarantined as Record<string, unknown[]>)['s']).toHaveLength(100);
  });
});

describe('PinStore events', () => {
  it('an accepted item is trusted; one that was dropped by the server is not', () => {
    const { pins, path, audit } = store();
    pins.vet('tools', 's', [tool('a')]);
    pins.vet('tools', 's', [tool('a'), tool('b'), tool('c')]);
    updateLockFile(path, (lock) => withPins(lock, 's', 'tools', pinsOf('tools', [tool('a'), tool('b')])));
    pins.reload();
    expect(names(pins.vet('tools', 's', [tool('a'), tool('b')]).items)).toEqual(['a', 'b']);
    expect(audit.records.map((r) => [r.tool, r.pin?.event])).toEqual([
      ['b', 'new'],
      ['c', 'new'],
      ['b', 'trusted'],
    ]);
  });
});

describe('PinStore bounds', () => {
  it('never pins a definition too deep to digest: it is withheld from the first list on, however it changes', () => {
    const { pins, path, audit } = store();
    const nest = (leaf: string) => {
      let value: unknown = { leaf };
      for (let i = 0; i < 70; i++) value = { d: value };
      return { name: 'deep', description: 'd', inputSchema: value as Record<string, unknown> };
    };
    const first = pins.vet('tools', 's', [tool('a'), nest('aaaa')]);
    expect(names(first.items)).toEqual(['a']);
    expect(Object.fromEntries(first.withheld)).toEqual({ deep: 'too-deep' });
    expect(Object.keys(readLockFile(path)!.servers['s']!.tools!)).toEqual(['a']);
    // A change that keeps the length is still withheld.
    expect(Object.fromEntries(pins.vet('tools', 's', [tool('a'), nest('bbbb')]).withheld)).toEqual({ deep: 'too-deep' });
    expect(audit.records.map((r) => [r.tool, r.pin?.event, r.code])).toEqual([['deep', 'too-deep', 'TOOL_QUARANTINED']]);
  });

  it('pins at most MAX_PINNED_ITEMS per list and no name over MAX_PINNED_NAME_CHARS; the rest is withheld with its reason', () => {
    const { pins, path } = store();
    const long = 'n'.repeat(MAX_PINNED_NAME_CHARS + 1);
    const list = [tool(long), ...Array.from({ length: MAX_PINNED_ITEMS + 3 }, (_, i) => tool(`t${i}`))];
    const vetted = pins.vet('tools', 's', list);
    expect(vetted.items).toHaveLength(MAX_PINNED_ITEMS);
    expect(Object.fromEntries(vetted.withheld)).toEqual({
      [long]: 'name-too-long',
      [`t${MAX_PINNED_ITEMS}`]: 'too-many',
      [`t${MAX_PINNED_ITEMS + 1}`]: 'too-many',
      [`t${MAX_PINNED_ITEMS + 2}`]: 'too-many',
    });
    expect(Object.keys(readLockFile(path)!.servers['s']!.tools!)).toHaveLength(MAX_PINNED_ITEMS);
    const shown = (pins.status(new Set(['s'])).quarantined as Record<string, { name: string; reason: string }[]>)['s']!;
    expect(shown).toContainEqual({ kind: 'tool', name: `${'n'.repeat(MAX_PINNED_NAME_CHARS)}…`, reason: 'name-too-long' });
    expect(shown).toContainEqual({ kind: 'tool', name: `t${MAX_PINNED_ITEMS}`, reason: 'too-many' });
  });
});
