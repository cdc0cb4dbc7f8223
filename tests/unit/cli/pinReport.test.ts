import { describe, expect, it } from 'vitest';
import { EMPTY_LOCK_FILE, MAX_STORED_DEFINITION_CHARS, pinsOf, withPins } from '../../../src/config/lockFile.js';
import { pinReport } from '../../../src/cli/pinReport.js';

const tool = (name: string, description: string) => ({ name, description, inputSchema: { type: 'object' } });
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
        '  tool edited: changed',
        '    description:',
        '    - old text',
        '    + new text',
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
});
