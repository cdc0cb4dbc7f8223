// The config file watcher on real files in a temp folder: every way an editor or a script
// changes a file is seen, events are debounced per file, other files are ignored, and close()
// is idempotent and cancels what is pending.
import { mkdirSync, readFileSync, renameSync, symlinkSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_DEBOUNCE_MS, watchConfigFiles, type ConfigWatcher } from '../../../src/cli/configWatcher.js';
import { waitFor } from '../../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir } from '../../helpers/tmp.js';

type Key = 'servers' | 'rules';

const DEBOUNCE_MS = 150;
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));
const open: ConfigWatcher[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((w) => w.close()));
});
afterAll(() => cleanupTmpDirs());

async function setup(opts: { debounceMs?: number; separateFolders?: boolean } = {}) {
  const dir = makeTmpDir('amg-watch-');
  const rulesDir = opts.separateFolders ? join(dir, 'other') : dir;
  mkdirSync(rulesDir, { recursive: true });
  const files: Record<Key, string> = { servers: join(dir, '.mcp.json'), rules: join(rulesDir, '.mcp-gateway-rules.json') };
  writeFileSync(files.servers, '{}');
  writeFileSync(files.rules, '{}');
  const events: { key: Key; at: number }[] = [];
  const watcher = watchConfigFiles<Key>({
    files,
    debounceMs: opts.debounceMs ?? DEBOUNCE_MS,
    onChange: (key) => events.push({ key, at: performance.now() }),
  });
  open.push(watcher);
  await watcher.ready;
  const count = (key: Key) => events.filter((e) => e.key === key).length;
  /** Waits for the next report of `key` and returns it; then lets the debounce window pass to be sure no second one follows. */
  const nextReport = async (key: Key, before: number) => {
    await waitFor(() => count(key) > before, { timeoutMs: 5_000, message: `no report for ${key}` });
    await sleep((opts.debounceMs ?? DEBOUNCE_MS) * 3);
    return count(key) - before;
  };
  return { dir, files, events, count, nextReport, watcher };
}

describe('watchConfigFiles', () => {
  it('defaults to a 300 ms debounce', () => {
    expect(DEFAULT_DEBOUNCE_MS).toBe(300);
  });

  it('never reports before the last of writes 10 ms apart, even with the shortest debounce', async () => {
    const dir = makeTmpDir('amg-watch-min-');
    const path = join(dir, 'a.json');
    writeFileSync(path, '0');
    const contents: string[] = [];
    const watcher = watchConfigFiles({ files: { a: path }, debounceMs: 0, onChange: () => contents.push(readFileSync(path, 'utf8')) });
    open.push(watcher);
    await watcher.ready;
    for (let i = 1; i <= 8; i++) {
      writeFileSync(path, String(i));
      await sleep(10);
    }
    await waitFor(() => contents.length > 0, { timeoutMs: 5_000 });
    await sleep(300);
    expect(contents.at(-1)).toBe('8');
  });

  it('reports a save by rename, an in-place write, touch, truncation, deletion and re-creation', async () => {
    const { dir, files, count, nextReport } = await setup();
    const steps: [string, () => void][] = [
      ['rename', () => {
        writeFileSync(join(dir, '.mcp.json.tmp'), '{"a":1}');
        renameSync(join(dir, '.mcp.json.tmp'), files.servers);
      }],
      ['in place', () => writeFileSync(files.servers, '{"a":2}')],
      ['touch', () => {
        const t = new Date(Date.now() + 60_000);
        utimesSync(files.servers, t, t);
      }],
      ['truncate', () => truncateSync(files.servers, 0)],
      ['delete', () => unlinkSync(files.servers)],
      ['create again', () => writeFileSync(files.servers, '{"a":3}')],
    ];
    for (const [name, step] of steps) {
      const before = count('servers');
      step();
      expect(await nextReport('servers', before), name).toBe(1);
    }
    expect(count('rules')).toBe(0);
  });

  it('turns a burst of five writes within 100 ms into one report, after the debounce', async () => {
    const { files, events, count, nextReport } = await setup();
    const started = performance.now();
    let lastWrite = 0;
    for (let i = 0; i < 5; i++) {
      if (i > 0) await sleep(20);
      writeFileSync(files.rules, JSON.stringify({ i }));
      lastWrite = performance.now();
    }
    expect(lastWrite - started).toBeLessThan(200);
    expect(await nextReport('rules', 0)).toBe(1);
    const reported = events.find((e) => e.key === 'rules')!.at;
    // Trailing debounce: quiet for the window after the last write, not the first. (chokidar
    // may drop an event up to 50 ms after the one before; the report still comes after it.)
    expect(reported - lastWrite).toBeGreaterThanOrEqual(DEBOUNCE_MS - 60);
    expect(count('servers')).toBe(0);
  });

  it('debounces each file on its own: a stream of writes to one never delays the other', async () => {
    const { files, events } = await setup({ separateFolders: true });
    const stop = performance.now() + 1_000;
    const writer = (async () => {
      for (let i = 0; performance.now() < stop; i++) {
        writeFileSync(files.servers, JSON.stringify({ i }));
        await sleep(30);
      }
    })();
    await sleep(100);
    const wrote = performance.now();
    writeFileSync(files.rules, '{"x":1}');
    await waitFor(() => events.some((e) => e.key === 'rules'), { timeoutMs: 5_000 });
    const rulesAt = events.find((e) => e.key === 'rules')!.at;
    expect(rulesAt - wrote).toBeLessThan(900);
    // servers was still being written: not reported yet.
    expect(events.filter((e) => e.key === 'servers' && e.at < rulesAt)).toEqual([]);
    await writer;
    await waitFor(() => events.some((e) => e.key === 'servers'), { timeoutMs: 5_000 });
  });

  it('ignores other files in the folders', async () => {
    const { dir, events } = await setup();
    writeFileSync(join(dir, 'unrelated.json'), '{}');
    writeFileSync(join(dir, '.mcp.json.bak'), '{}');
    await sleep(DEBOUNCE_MS * 4);
    expect(events).toEqual([]);
  });

  it('sees edits to the target of a symlinked config file', async () => {
    const dir = makeTmpDir('amg-watch-link-');
    const targetDir = join(dir, 'dotfiles');
    mkdirSync(targetDir);
    const target = join(targetDir, 'rules.json');
    writeFileSync(target, '{}');
    const link = join(dir, '.mcp-gateway-rules.json');
    symlinkSync(target, link);
    const seen: string[] = [];
    const watcher = watchConfigFiles({ files: { rules: link }, debounceMs: DEBOUNCE_MS, onChange: (key) => seen.push(key) });
    open.push(watcher);
    await watcher.ready;
    writeFileSync(target, '{"changed":true}');
    await waitFor(() => seen.length === 1, { timeoutMs: 5_000 });
  });

  it('keeps going when the handler throws, and reports through the logger', async () => {
    const dir = makeTmpDir('amg-watch-throw-');
    const file = join(dir, 'a.json');
    writeFileSync(file, '{}');
    const warnings: string[] = [];
    let calls = 0;
    const watcher = watchConfigFiles({
      files: { a: file },
      debounceMs: DEBOUNCE_MS,
      onChange: () => {
        calls++;
        throw new Error('handler broke');
      },
      logger: { debug: () => {}, warn: (obj) => warnings.push(JSON.stringify(obj)) },
    });
    open.push(watcher);
    await watcher.ready;
    writeFileSync(file, '{"a":1}');
    await waitFor(() => calls === 1, { timeoutMs: 5_000 });
    writeFileSync(file, '{"a":2}');
    await waitFor(() => calls === 2, { timeoutMs: 5_000 });
    expect(warnings.some((w) => w.includes('handler broke'))).toBe(true);
  });

  it('close() is idempotent and cancels a pending report', async () => {
    const { files, events, watcher } = await setup({ debounceMs: 400 });
    writeFileSync(files.servers, '{"late":true}');
    await sleep(150);
    const first = watcher.close();
    expect(watcher.close()).toBe(first);
    await first;
    await sleep(600);
    expect(events).toEqual([]);
    // After close, nothing is reported any more.
    writeFileSync(files.servers, '{"after":true}');
    await sleep(600);
    expect(events).toEqual([]);
  });
});
