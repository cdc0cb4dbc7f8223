// The shell blocks of the README and docs/ run as pasted (issue 14 item 2): every command in
// a `bash`/`sh` block is complete on its own line (or its `\` continuation), so no quoted
// string runs on into the next line; nothing tells the reader to `npx mcp-gateway` (another
// package's name on the registry) or to serve with `npm start` without `--silent` (npm's
// banner on stdout); and a block marked `<!-- docs-test: run -->` (the ones
// that need no network and start no server) runs from the repository root and exits 0.
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../helpers/paths.js';

interface Block {
  readonly file: string;
  readonly line: number;
  readonly text: string;
  readonly run: boolean;
}

const SHELL = new Set(['bash', 'sh', 'shell']);
const RUN_MARK = '<!-- docs-test: run -->';

function shellBlocks(file: string): Block[] {
  const lines = readFileSync(join(REPO_ROOT, file), 'utf8').split('\n');
  const blocks: Block[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const end = lines.findIndex((l, j) => j > i && l.startsWith('```'));
    if (end < 0) throw new Error(`${file}:${i + 1}: unclosed code block`);
    if (SHELL.has(open[1]!)) {
      const marked =
        lines
          .slice(0, i)
          .reverse()
          .find((l) => l.trim() !== '')
          ?.trim() === RUN_MARK;
      blocks.push({ file, line: i + 1, text: lines.slice(i + 1, end).join('\n'), run: marked });
    }
    i = end;
  }
  return blocks;
}

/** The block's commands: lines joined at a trailing `\`, comments and blank lines left out. */
function commands(text: string): string[] {
  return text
    .replace(/\\\n/g, ' ')
    .split('\n')
    .filter((l) => l.trim() !== '' && !l.trim().startsWith('#'));
}

const FILES = [
  'README.md',
  ...readdirSync(join(REPO_ROOT, 'docs'))
    .filter((f) => f.endsWith('.md'))
    .map((f) => `docs/${f}`),
];
const BLOCKS = FILES.flatMap(shellBlocks);

describe('shell blocks of the README and docs/', () => {
  it('there are blocks to check, and the README marks some to run', () => {
    expect(BLOCKS.length).toBeGreaterThan(5);
    expect(BLOCKS.some((b) => b.run && b.file === 'README.md')).toBe(true);
  });

  it.each(BLOCKS.map((b) => [`${b.file}:${b.line}`, b] as const))('%s: every command is complete on its own line', (_where, block) => {
    for (const command of commands(block.text)) {
      const r = spawnSync('bash', ['-n'], { input: command, encoding: 'utf8' });
      expect(r.status, `${block.file}:${block.line}: does not parse as one command:\n${command}\n${r.stderr}`).toBe(0);
    }
    expect(block.text).not.toMatch(/\bnpx\s+(-y\s+)?mcp-gateway\b/);
    // npm's banner would go to stdout, which a client reads as JSON-RPC.
    expect(block.text).not.toMatch(/\bnpm (start|run start)\b(?! --silent)/);
  });

  it.each(BLOCKS.filter((b) => b.run).map((b) => [`${b.file}:${b.line}`, b] as const))(
    '%s runs as pasted',
    (_where, block) => {
      // Run as a user would after `npm test`: against the built dist/, which a marked block must not rebuild.
      expect(block.text).not.toMatch(/npm (run build|test|ci)/);
      const r = spawnSync('bash', ['-e', '-o', 'pipefail'], { cwd: REPO_ROOT, input: block.text, encoding: 'utf8', timeout: 120_000 });
      expect(r.status, `${r.stdout}\n${r.stderr}`).toBe(0);
    },
    150_000,
  );
});
