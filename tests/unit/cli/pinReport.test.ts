import { describe, expect, it } from 'vitest';
import { definitionOf, digestOf, EMPTY_LOCK_FILE, MAX_STORED_DEFINITION_CHARS, pinsOf, withPins } from '../../../src/config/lockFile.js';
import { pinReport } from '../../../src/cli/pinReport.js';

const tool = (name: string, description: string) => ({ name, description, inputSchema: { type: 'object' } });
/** The line that gives a new or changed item's digest, and the command that accepts only that definition. */
function acceptLine(name: string, item: Record<string, unknown>): string {
  const sha256 = digestOf(definitionOf('tools', item))!;
  return `    now sha256 ${sha256}; accept what you reviewed: pin --accept s/${name}@${sha256.slice(0, 16)}`;
}
const LOCK = withPins(
  withPins(EMPTY_LOCK_FILE, 's', 'tools', pinsOf('tools', [tool('same', 'S'), tool('edited', 'old text'), tool('gone', 'G')])),
  's',
  'prompts',
  {},
);

describe('pinReport', () => {
  it.each([
    ['nothing differs', [tool('same', 'S'), tool('edited', 'old text'), tool('gone', 'G')], ['server s:', '  no changes'], false],
    [
      'changed, new and removed',
      [tool('same', 'S'), tool('edited', 'new text'), tool('added', 'A')],
      [
        'server s:',
        '  tool added: new (not in the lockfile; a renamed item is new)',
        '    description:',
        '    + A',
        '    inputSchema:',
        '    + {',
        '    +   "type": "object"',
        '    + }',
        acceptLine('added', tool('added', 'A')),
        '  tool edited: changed',
        '    description:',
        '    - old text',
        '    + new text',
        acceptLine('edited', tool('edited', 'new text')),
        '  tool gone: removed (pinned, no longer listed)',
      ],
      true,
    ],
  ])('%s', (_name, tools, lines, differs) => {
    expect(pinReport(LOCK, [{ server: 's', tools, prompts: [] }])).toEqual({ lines, differs });
  });

  it('says when nothing is pinned yet, and when the pinned definition was clipped', () => {
    expect(pinReport(undefined, [{ server: 's', tools: [tool('a', 'A')], prompts: [] }]).lines).toEqual([
      'server s:',
      '  tools: none pinned yet (1 listed); `pin` records them, and so does the gateway on first use',
    ]);
    const big = tool('big', 'x'.repeat(MAX_STORED_DEFINITION_CHARS));
    const lock = withPins(EMPTY_LOCK_FILE, 's', 'tools', pinsOf('tools', [big]));
    const report = pinReport(lock, [{ server: 's', tools: [{ ...big, description: 'short' }], prompts: [] }]);
    expect(report.lines).toContain('    (the lockfile keeps only part of the pinned definition: lines it lacks show as added)');
    expect(report.lines).toContain('    + short');
  });

  it('leaves out servers that could not be listed (the command reports them)', () => {
    expect(pinReport(LOCK, [{ server: 's', error: 'boom' }])).toEqual({ lines: [], differs: false });
  });

  it('shows server text that could act on a terminal as escapes: controls, DEL, C1, format and separator characters', () => {
    const hostile = '\u001b[2J\u001b]0;owned\u0007a\rb\u007fc\u0085d\u009be\u202Ef\u2066g\u200Bh\u2028i\u2029j\u00ADk';
    const report = pinReport(LOCK, [
      { server: 's', tools: [tool('same', 'S'), tool('edited', 'old text'), tool('gone', 'G'), tool(`x\u001b[31my`, `line one\n${hostile}`)], prompts: [] },
    ]);
    const text = report.lines.join('');
    expect(text).not.toMatch(/[\p{Cc}\p{Cf}\p{Zl}\p{Zp}]/u);
    expect(report.lines).toContain('  tool x\\u{1b}[31my: new (not in the lockfile; a renamed item is new)');
    // A multi-line description stays multi-line, each line indented under the diff.
    expect(report.lines).toContain('    + line one');
    expect(report.lines).toContain(
      '    + \\u{1b}[2J\\u{1b}]0;owned\\u{7}a\\u{d}b\\u{7f}c\\u{85}d\\u{9b}e\\u{202e}f\\u{2066}g\\u{200b}h\\u{2028}i\\u{2029}j\\u{ad}k',
    );
    expect(text).toContain('pin --accept s/x\\u{1b}[31my@');
  });

  it('says which items can never be pinned, and offers no digest for them', () => {
    let deep: unknown = {};
    for (let i = 0; i < 70; i++) deep = { d: deep };
    const lines = pinReport(LOCK, [
      {
        server: 's',
        tools: [tool('same', 'S'), tool('edited', 'old text'), tool('gone', 'G'), { name: 'deep', inputSchema: deep }, tool('n'.repeat(300), 'N')],
        prompts: [],
      },
    ]).lines;
    expect(lines).toContain('  tool deep: cannot be pinned: its definition nests too deep');
    expect(lines).toContain(`  tool ${'n'.repeat(256)}…: cannot be pinned: its name is too long`);
    expect(lines.join('\n')).not.toContain('pin --accept');
  });
});
