// The config file watcher on real files in a temp folder: every way an editor or a script
// changes a file is seen, other files are ignored, and close() is idempotent and cancels what
// is pending. The debounce runs on a clock the test moves by hand (ManualClock), so nothing
// here sleeps to find out whether something happened.
import { mkdirSync, readFileSync, renameSync, symlinkSync, truncateSync, unlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_DEBOUNCE_MS, watchConfigFiles, type ConfigWatcher } from '../../../src/cli/configWatcher.js';
import { KeyedDebounce } from '../../../src/cli/debounce.js';
import { ManualClock } from '../../helpers/manualClock.js';
import { waitFor } from '../../helpers/processes.js';
import { cleanupTmpDirs, makeTmpDir } from '../../helpers/tmp.js';

type Key = 'servers' | 'rules';

const DEBOUNCE_MS = 150;
const open: ConfigWatcher[] = [];

afterEach(async () => {
  await Promise.all(open.splice(0).map((w) => w.close()));
});
afterAll(() => cleanupTmpDirs());

async function setup(opts: { separateFolders?: boolean } = {}) {
  const dir = makeTmpDir('amg-watch-');
  const rulesDir = opts.separateFolders ? join(dir, 'other') : dir;
  mkdirSync(rulesDir, { recursive: true });
  const files: Record<Key, string> = { servers: join(dir, '.mcp.json'), rules: join(rulesDir, '.mcp-gateway-rules.json') };
  writeFileSync(files.servers, '{}');
  writeFileSync(files.rules, '{}');
  const timers = new ManualClock(0);
  const events: { key: Key; at: number }[] = [];
  /** Every event that reached the debounce, by file. */
  const seen: string[] = [];
  const start = async (): Promise<ConfigWatcher> => {
    const watcher = watchConfigFiles<Key>({
      files,
      debounceMs: DEBOUNCE_MS,
      timers,
      onChange: (key) => events.push({ key, at: timers.now() }),
      logger: { debug: (obj) => seen.push((obj as { file: string }).file), warn: () => {} },
    });
    open.push(watcher);
    await watcher.ready;
    return watcher;
  };
  const watcher = await start();
  const count = (key: Key) => events.filter((e) => e.key === key).length;
  /** Waits until an event has started the debounce, then lets its window pass; returns the reports it made. */
  const nextReport = async (key: Key, before: number) => {
    await waitFor(() => timers.pending > 0, { timeoutMs: 5_000, message: `no event for ${key}` });
    timers.advance(DEBOUNCE_MS * 3);
    return count(key) - before;
  };
  return { dir, files, events, seen, count, nextReport, watcher, timers, start };
}

describe('watchConfigFiles', () => {
  it('defaults to a 300 ms debounce', () => {
    expect(DEFAULT_DEBOUNCE_MS).toBe(300);
  });

  it('never reports before the last of writes 10 ms apart, even with the shortest debounce', async () => {
    // Real time: this is about chokidar dropping events for 50 ms after one it emitted.
    const dir = makeTmpDir('amg-watch-min-');
    const path = join(dir, 'a.json');
    writeFileSync(path, '0');
    const contents: string[] = [];
    const watcher = watchConfigFiles({ files: { a: path }, debounceMs: 0, onChange: () => contents.push(readFileSync(path, 'utf8')) });
    open.push(watcher);
    await watcher.ready;
    for (let i = 1; i <= 8; i++) {
      writeFileSync(path, String(i));
      // Spaces the writes (the input under test), not a wait for a result.
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await waitFor(() => contents.at(-1) === '8', { timeoutMs: 5_000, message: `last report read ${contents.at(-1)}` });
    expect(contents.at(-1)).toBe('8');
  });

  it('reports a save by rename, an in-place write, touch, truncation, deletion and re-creation', async () => {
    const { dir, files, count, nextReport, watcher, start } = await setup();
    await watcher.close();
    const steps: [string, () => void][] = [
      [
        'rename',
        () => {
          writeFileSync(join(dir, '.mcp.json.tmp'), '{"a":1}');
          renameSync(join(dir, '.mcp.json.tmp'), files.servers);
        },
      ],
      ['in place', () => writeFileSync(files.servers, '{"a":2}')],
      [
        'touch',
        () => {
          const t = new Date(Date.now() + 60_000);
          utimesSync(files.servers, t, t);
        },
      ],
      ['truncate', () => truncateSync(files.servers, 0)],
      ['delete', () => unlinkSync(files.servers)],
      ['create again', () => writeFileSync(files.servers, '{"a":3}')],
    ];
    for (const [name, step] of steps) {
      // A watcher per step, so an event late from one step is never taken for the next one's.
      const stepWatcher = await start();
      const before = count('servers');
      step();
      expect(await nextReport('servers', before), name).toBe(1);
      await stepWatcher.close();
    }
    expect(count('rules')).toBe(0);
  });

  it('turns a burst of five writes within 100 ms into one report, after the debounce', () => {
    const timers = new ManualClock(0);
    const events: { key: Key; at: number }[] = [];
    const debounce = new KeyedDebounce<Key>(DEBOUNCE_MS, timers, (key) => events.push({ key, at: timers.now() }));
    const count = (key: Key) => events.filter((e) => e.key === key).length;
    const started = timers.now();
    let lastWrite = 0;
    for (let i = 0; i < 5; i++) {
      if (i > 0) timers.advance(20);
      debounce.poke('rules');
      lastWrite = timers.now();
    }
    expect(lastWrite - started).toBeLessThan(200);
    timers.advance(DEBOUNCE_MS * 3);
    expect(count('rules')).toBe(1);
    const reported = events.find((e) => e.key === 'rules')!.at;
    // Trailing debounce: quiet for the window after the last write, not the first.
    expect(reported - lastWrite).toBeGreaterThanOrEqual(DEBOUNCE_MS - 60);
    expect(count('servers')).toBe(0);
  });

  it('debounces each file on its own: a stream of writes to one never delays the other', () => {
    const timers = new ManualClock(0);
    const events: { key: Key; at: number }[] = [];
    const debounce = new KeyedDebounce<Key>(DEBOUNCE_MS, timers, (key) => events.push({ key, at: timers.now() }));
    const stop = 1_000;
    let wrote = -1;
    while (timers.now() < stop) {
      debounce.poke('servers');
      if (wrote < 0 && timers.now() >= 100) {
        wrote = timers.now();
        debounce.poke('rules');
      }
      timers.advance(30);
    }
    expect(events.some((e) => e.key === 'rules')).toBe(true);
    const rulesAt = events.find((e) => e.key === 'rules')!.at;
    expect(rulesAt - wrote).toBeLessThan(900);
    // servers was still being written: not reported yet.
    expect(events.filter((e) => e.key === 'servers' && e.at < rulesAt)).toEqual([]);
    timers.advance(DEBOUNCE_MS);
    expect(events.some((e) => e.key === 'servers')).toBe(true);
  });

  it('ignores other files in the folders', async () => {
    const { dir, files, events, seen, timers } = await setup();
    writeFileSync(join(dir, 'unrelated.json'), '{}');
    writeFileSync(join(dir, '.mcp.json.bak'), '{}');
    // A watched file written after them: once its event is in, theirs have been dealt with.
    writeFileSync(files.rules, '{"after":true}');
    await waitFor(() => timers.pending > 0, { timeoutMs: 5_000 });
    expect(events).toEqual([]);
    expect(new Set(seen)).toEqual(new Set([files.rules]));
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
    const { files, events, watcher, timers } = await setup();
    writeFileSync(files.servers, '{"late":true}');
    await waitFor(() => timers.pending > 0, { timeoutMs: 5_000 });
    const first = watcher.close();
    expect(watcher.close()).toBe(first);
    await first;
    expect(timers.pending).toBe(0);
    timers.advance(DEBOUNCE_MS * 4);
    expect(events).toEqual([]);
    // After close, nothing is reported any more: the files are no longer watched.
    writeFileSync(files.servers, '{"after":true}');
    timers.advance(DEBOUNCE_MS * 4);
    expect(events).toEqual([]);
  });
});
