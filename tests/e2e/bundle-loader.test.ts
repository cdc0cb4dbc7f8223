// The V8 setting of the built gateway's loader (config/codeCacheLoader.mjs): the young
// generation is held at 1 MB per semi-space (docs/performance.md, "Third round: idle RSS"),
// unless node is given a semi-space size of its own. Read from inside the process at exit,
// through a preload, after a `--version` start (which evaluates the whole bundle).
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { GATEWAY_MAIN } from '../helpers/paths.js';
import { cleanupTmpDirs, makeTmpDir } from '../helpers/tmp.js';

const MIB = 1024 * 1024;

function newSpaceBytes(main: string, nodeFlags: readonly string[] = []): number {
  const dir = makeTmpDir('amg-loader-');
  const preload = join(dir, 'newSpace.cjs');
  writeFileSync(
    preload,
    "process.on('exit', () => { const s = require('node:v8').getHeapSpaceStatistics().find((x) => x.space_name === 'new_space'); process.stderr.write(`NEW_SPACE ${s.space_size}\\n`); });\n",
  );
  const run = spawnSync(process.execPath, [...nodeFlags, '--require', preload, main, '--version'], { cwd: dir, encoding: 'utf8', timeout: 30_000 });
  expect(run.status, run.stderr).toBe(0);
  const m = /NEW_SPACE (\d+)/.exec(run.stderr);
  if (!m) throw new Error(`no reading: ${run.stderr}`);
  return Number(m[1]);
}

describe('the built gateway loader', () => {
  afterAll(cleanupTmpDirs);

  it('holds the young generation at 1 MB per semi-space', () => {
    expect(newSpaceBytes(GATEWAY_MAIN)).toBeLessThanOrEqual(2 * MIB);
  });

  it('leaves the young generation to node when node is given a semi-space size', () => {
    // A copy: another V8 flag makes the loader write a code cache of its own, not in dist/.
    const dist = join(makeTmpDir('amg-loader-dist-'), 'dist');
    mkdirSync(dist);
    for (const file of ['main.js', 'gateway.cjs']) copyFileSync(join(dirname(GATEWAY_MAIN), file), join(dist, file));
    expect(newSpaceBytes(join(dist, 'main.js'), ['--max-semi-space-size=4'])).toBeGreaterThan(2 * MIB);
  });
});
