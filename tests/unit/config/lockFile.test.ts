import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import {
  canonicalJson,
  definitionOf,
  digestOf,
  EMPTY_LOCK_FILE,
  LockFileError,
  MAX_PINNED_ITEMS,
  MAX_PINNED_NAME_CHARS,
  MAX_STORED_DEFINITION_CHARS,
  parseLockFile,
  pinOf,
  pinsOf,
  readLockFile,
  serializeLockFile,
  withPin,
  withPins,
} from '../../../src/config/lockFile.js';
import { updateLockFile } from '../../../src/gateway/pins/lockFileUpdate.js';

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
const tmp = () => {
  const dir = mkdtempSync(join(tmpdir(), 'amg-lock-unit-'));
  dirs.push(dir);
  return dir;
};

describe('canonicalJson', () => {
  it.each([
    ['sorted keys at every depth', { b: 1, a: { d: [{ z: 1, y: 2 }], c: null } }, '{"a":{"c":null,"d":[{"y":2,"z":1}]},"b":1}'],
    ['no whitespace, strings escaped as JSON', { s: 'a "q"\n\u2028' }, '{"s":"a \\"q\\"\\n\u2028"}'],
    ['undefined members left out', { a: undefined, b: 2 }, '{"b":2}'],
    ['undefined in an array is null', [1, undefined], '[1,null]'],
    ['numbers as ECMAScript writes them', { n: [1.0, 1e21, 0.1, -0] }, '{"n":[1,1e+21,0.1,0]}'],
    ['keys sorted by UTF-16 code units', { é: 1, z: 2, Z: 3, '10': 4, '9': 5 }, '{"10":4,"9":5,"Z":3,"z":2,"é":1}'],
    ['scalars', 'x', '"x"'],
  ])('%s', (_name, value, expected) => {
    expect(canonicalJson(value)).toBe(expected);
  });

  it('refuses a definition nested too deep (never recursed into)', () => {
    let deep: unknown = {};
    for (let i = 0; i < 100; i++) deep = { d: deep };
    expect(() => canonicalJson(deep)).toThrow(LockFileError);
    // Such a definition has no digest and no pin: any stand-in would let some change pass unseen.
    expect(digestOf({ inputSchema: deep as Record<string, unknown> })).toBeUndefined();
    expect(pinOf({ inputSchema: deep as Record<string, unknown> })).toBeUndefined();
  });
});

describe('definitions and digests', () => {
  const tool = {
    name: 't',
    title: 'T',
    description: 'd',
    inputSchema: { type: 'object' },
    outputSchema: { type: 'object' },
    annotations: { readOnlyHint: true },
    _meta: { x: 1 },
    icons: [],
  };
  it.each([
    ['tools', tool, ['annotations', 'description', 'inputSchema', 'outputSchema', 'title']],
    ['prompts', { name: 'p', description: 'd', arguments: [{ name: 'a' }], _meta: {} }, ['arguments', 'description']],
  ] as const)('%s: only the pinned fields', (kind, item, fields) => {
    expect(Object.keys(definitionOf(kind, item)).sort()).toEqual(fields);
  });

  it.each([
    ['key order does not matter', { description: 'd', inputSchema: { a: 1, b: 2 } }, { inputSchema: { b: 2, a: 1 }, description: 'd' }, true],
    ['a description change does', { description: 'd' }, { description: 'd.' }, false],
    ['a schema change does', { inputSchema: { type: 'object' } }, { inputSchema: { type: 'object', required: ['x'] } }, false],
    ['an annotation change does', { annotations: { destructiveHint: false } }, { annotations: { destructiveHint: true } }, false],
    ['array order does', { arguments: [{ name: 'a' }, { name: 'b' }] }, { arguments: [{ name: 'b' }, { name: 'a' }] }, false],
  ])('%s', (_name, a, b, same) => {
    expect(digestOf(a) === digestOf(b)).toBe(same);
  });

  it('the digest is the SHA-256 of the canonical JSON', () => {
    // printf '{"description":"d"}' | sha256sum
    expect(digestOf({ description: 'd' })).toBe('4dcfa1e37cc57d71dfb7568bba86f0bf8fe424c0a660abe8edb744efc021aaea');
    expect(digestOf({})).toBe('44136fa355b3678a1146ad16f7e8649e94fb4fc21fe77e8310c060f61caaff8a');
  });

  it('caps what is stored of a huge definition, never the digest', () => {
    const huge = { description: 'x'.repeat(MAX_STORED_DEFINITION_CHARS * 2), inputSchema: { type: 'object' } };
    const pin = pinOf(huge)!;
    expect(pin.sha256).toBe(digestOf(huge));
    expect(pin.clipped).toBe(true);
    expect((pin.definition!['description'] as string).length).toBe(MAX_STORED_DEFINITION_CHARS / 2);
    expect(pin.definition!['inputSchema']).toBeUndefined();
    expect(pinOf({ description: 'small' })).toEqual({ sha256: digestOf({ description: 'small' }), definition: { description: 'small' } });
  });
});

describe('parseLockFile', () => {
  const sha = 'a'.repeat(64);
  it.each([
    ['not JSON', '{', /not JSON/],
    ['an array', '[]', /must be a JSON object/],
    ['another version', '{"version":2,"servers":{}}', /version: must be 1/],
    ['servers missing', '{"version":1}', /servers: must be an object/],
    ['a server that is not an object', '{"version":1,"servers":{"s":[]}}', /servers\.s: must be an object/],
    ['tools not an object', '{"version":1,"servers":{"s":{"tools":[]}}}', /servers\.s\.tools: must be an object/],
    ['a digest that is not hex', '{"version":1,"servers":{"s":{"tools":{"t":{"sha256":"xyz"}}}}}', /servers\.s\.tools\.t: must be an object with sha256/],
    ['a definition that is not an object', `{"version":1,"servers":{"s":{"tools":{"t":{"sha256":"${sha}","definition":"d"}}}}}`, /definition: must be an object/],
  ])('refuses %s', (_name, text, message) => {
    expect(() => parseLockFile(text)).toThrow(message);
  });

  it('reads what serializeLockFile writes, sorted', () => {
    let lock = withPins(
      EMPTY_LOCK_FILE,
      'zeta',
      'tools',
      pinsOf('tools', [
        { name: 'b', description: 'B' },
        { name: 'a', description: 'A' },
      ]),
    );
    lock = withPins(lock, 'alpha', 'prompts', pinsOf('prompts', [{ name: 'p', description: 'P' }]));
    const text = serializeLockFile(lock);
    expect(parseLockFile(text)).toEqual(lock);
    expect(text.indexOf('"alpha"')).toBeLessThan(text.indexOf('"zeta"'));
    expect(text.indexOf('"a"')).toBeLessThan(text.indexOf('"b"'));
    expect(text.endsWith('\n')).toBe(true);
  });

  it('withPin adds and removes one item, leaving the rest', () => {
    const lock = withPins(EMPTY_LOCK_FILE, 's', 'tools', pinsOf('tools', [{ name: 'a' }, { name: 'b' }]));
    expect(Object.keys(withPin(lock, 's', 'tools', 'a', undefined).servers['s']!.tools!)).toEqual(['b']);
    expect(Object.keys(withPin(lock, 's', 'tools', 'c', pinOf({})).servers['s']!.tools!).sort()).toEqual(['a', 'b', 'c']);
    expect(lock.servers['s']!.tools!['a']).toBeDefined();
  });
});

describe('reading and writing the file', () => {
  it('a missing file is undefined; a broken one names its path', () => {
    const dir = tmp();
    expect(readLockFile(join(dir, 'none.json'))).toBeUndefined();
    writeFileSync(join(dir, 'bad.json'), '{"version":1}');
    expect(() => readLockFile(join(dir, 'bad.json'))).toThrow(`${join(dir, 'bad.json')}: servers: must be an object`);
  });

  it('updateLockFile re-reads before it writes (a concurrent writer is kept) and leaves no temporary file', () => {
    const dir = tmp();
    const path = join(dir, 'lock.json');
    updateLockFile(path, (lock) => withPins(lock, 'one', 'tools', {}));
    // Another writer, between our read and our next write.
    const other = withPins(parseLockFile(readFileSync(path, 'utf8')), 'two', 'tools', pinsOf('tools', [{ name: 't' }]));
    writeFileSync(path, serializeLockFile(other));
    updateLockFile(path, (lock) => withPins(lock, 'three', 'prompts', {}));
    expect(Object.keys(readLockFile(path)!.servers).sort()).toEqual(['one', 'three', 'two']);
    expect(readdirSync(dir)).toEqual(['lock.json']);
  });

  it('a folder that cannot be written is a LockFileError', () => {
    expect(() => updateLockFile(join(tmp(), 'no', 'such', 'lock.json'), (l) => l)).toThrow(LockFileError);
  });
});

describe('bounds on what is pinned', () => {
  it('pinsOf leaves out definitions too deep to digest, names too long, and names past the per-server cap', () => {
    let deep: unknown = {};
    for (let i = 0; i < 70; i++) deep = { d: deep };
    const many = Array.from({ length: MAX_PINNED_ITEMS + 10 }, (_, i) => ({ name: `t${i}` }));
    const pins = pinsOf('tools', [
      { name: 'deep', inputSchema: deep },
      { name: 'x'.repeat(MAX_PINNED_NAME_CHARS + 1) },
      { name: 'x'.repeat(MAX_PINNED_NAME_CHARS) },
      ...many,
    ]);
    expect(Object.keys(pins)).toHaveLength(MAX_PINNED_ITEMS);
    expect(pins['deep']).toBeUndefined();
    expect(pins['x'.repeat(MAX_PINNED_NAME_CHARS)]).toBeDefined();
    expect(pins[`t${MAX_PINNED_ITEMS - 2}`]).toBeDefined();
    expect(pins[`t${MAX_PINNED_ITEMS - 1}`]).toBeUndefined();
  });

  it('two too-deep definitions of the same length are never taken for one another', () => {
    const nest = (leaf: string) => {
      let value: unknown = { leaf };
      for (let i = 0; i < 70; i++) value = { d: value };
      return { inputSchema: value as Record<string, unknown> };
    };
    expect(JSON.stringify(nest('aaaa')).length).toBe(JSON.stringify(nest('bbbb')).length);
    expect(digestOf(nest('aaaa'))).toBeUndefined();
    expect(pinsOf('tools', [{ name: 't', ...nest('aaaa') }])).toEqual({});
  });
});

describe('updateLockFile and other writers', () => {
  const lockOf = (path: string) => `${path}.lock`;

  it('waits for a lock another process holds, then writes once it is released, and removes its own lock', async () => {
    const dir = tmp();
    const path = join(dir, 'lock.json');
    const holder = spawn(
      process.execPath,
      [
        '-e',
        `const fs=require('fs');fs.writeFileSync(${JSON.stringify(lockOf(path))}, process.pid + '\\n', {flag:'wx'});setTimeout(()=>fs.rmSync(${JSON.stringify(lockOf(path))}),300);`,
      ],
      { stdio: 'ignore' },
    );
    const exited = new Promise((resolve) => holder.on('close', resolve));
    try {
      await vi.waitFor(() => expect(existsSync(lockOf(path))).toBe(true), { timeout: 10_000 });
      updateLockFile(path, (lock) => withPins(lock, 'one', 'tools', {}));
      expect(existsSync(lockOf(path))).toBe(false);
      expect(Object.keys(readLockFile(path)!.servers)).toEqual(['one']);
    } finally {
      holder.kill();
      await exited;
    }
  });

  it('gives up on a lock a live writer keeps (the file is not written), and breaks a dead or old one', () => {
    const dir = tmp();
    const path = join(dir, 'lock.json');
    writeFileSync(lockOf(path), `${process.pid}\n`);
    expect(() => updateLockFile(path, (lock) => withPins(lock, 'one', 'tools', {}))).toThrow(/held by another writer/);
    expect(existsSync(path)).toBe(false);
    // Old: whoever holds it, it is abandoned.
    const old = new Date(Date.now() - 60_000);
    utimesSync(lockOf(path), old, old);
    updateLockFile(path, (lock) => withPins(lock, 'one', 'tools', {}));
    // Dead: the pid no longer runs.
    writeFileSync(lockOf(path), '2147483646\n');
    updateLockFile(path, (lock) => withPins(lock, 'two', 'tools', {}));
    expect(Object.keys(readLockFile(path)!.servers).sort()).toEqual(['one', 'two']);
    expect(readdirSync(dir)).toEqual(['lock.json']);
  });
});
