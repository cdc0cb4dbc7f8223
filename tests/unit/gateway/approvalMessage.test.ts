import { describe, expect, it } from 'vitest';
import { approvalMessage, argumentSummary, plainText } from '../../../src/gateway/calls/approvalMessage.js';

describe('the approval message', () => {
  it('replaces controls, bidi overrides and isolates, zero-width and separators, and lone surrogates', () => {
    expect(plainText('a\u202Eb\u2066c\u200Bd\u0000e\u001bf\u2028g\u0085h\uD800i', 100)).toBe('a\uFFFDb\uFFFDc\uFFFDd\uFFFDe\uFFFDf\uFFFDg\uFFFDh\uFFFDi');
    // Emoji (a surrogate pair) is kept; one cut in half by the clip is not.
    expect(plainText('😀ok', 100)).toBe('😀ok');
    expect(plainText('😀ok', 1)).toBe('\uFFFD…');
  });

  it('summarizes arguments: strings quoted and clipped, containers by size', () => {
    expect(argumentSummary({})).toBe('(none)');
    expect(argumentSummary({ path: '/srv/x', n: 3, ok: true, none: null, list: [1, 2], obj: { a: 1 } })).toBe(
      'path: "/srv/x", n: 3, ok: true, none: null, list: [2 items], obj: {1 key}',
    );
    expect(argumentSummary({ s: 'x'.repeat(100) })).toBe(`s: "${'x'.repeat(60)}"…`);
    // A quote in a value cannot end the quoted text early.
    expect(argumentSummary({ s: 'a", admin: "yes' })).toBe('s: "a\\", admin: \\"yes"');
  });

  it('is bounded whatever the arguments', () => {
    const many: Record<string, unknown> = {};
    for (let i = 0; i < 10_000; i++) many[`key_${'k'.repeat(100)}_${i}`] = 'v'.repeat(10_000);
    const summary = argumentSummary(many);
    expect(summary.length).toBeLessThanOrEqual(320);
    expect(summary).toMatch(/\(\+\d+ more\)$/);
    const message = approvalMessage('dev', 's'.repeat(1000), `t${'\u202E'.repeat(1000)}`, many, 'agents.dev.approve.annotations[0]');
    expect(message.length).toBeLessThan(650);
    expect(message.split('\n')).toHaveLength(5);
  });
});
