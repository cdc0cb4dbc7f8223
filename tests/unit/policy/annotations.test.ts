import { describe, expect, it } from 'vitest';
import { parseRulesConfig } from '../../../src/config/rulesFile.js';
import { effectiveHints } from '../../../src/policy/annotations.js';
import { toolListed } from '../../../src/policy/annotationsVisible.js';
import { compilePolicy } from '../../../src/policy/engine.js';

// Effective hints follow the specification's defaults; rules decide on them.

describe('effectiveHints', () => {
  const D = { readOnlyHint: false, destructiveHint: true, idempotentHint: false, openWorldHint: true };
  const cases: [string, unknown, object][] = [
    ['no annotations', undefined, D],
    ['null', null, D],
    ['an empty object', {}, D],
    ['an array', [true], D],
    ['read-only', { readOnlyHint: true }, { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true }],
    // Meaningful only when not read-only: a read-only tool is not destructive, whatever it says.
    [
      'read-only and "destructive"',
      { readOnlyHint: true, destructiveHint: true, idempotentHint: false },
      { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: true },
    ],
    [
      'read-only, closed world',
      { readOnlyHint: true, openWorldHint: false },
      { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    ],
    ['explicitly not read-only', { readOnlyHint: false }, D],
    ['additive', { destructiveHint: false }, { ...D, destructiveHint: false }],
    ['idempotent', { idempotentHint: true }, { ...D, idempotentHint: true }],
    ['closed world', { openWorldHint: false }, { ...D, openWorldHint: false }],
    [
      'all four stated',
      { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
      { readOnlyHint: false, destructiveHint: false, idempotentHint: true, openWorldHint: false },
    ],
    // A hostile server's non-booleans count as missing: the defaults apply.
    ['strings', { readOnlyHint: 'true', destructiveHint: 'false', openWorldHint: 'false' }, D],
    ['numbers and objects', { readOnlyHint: 1, destructiveHint: 0, idempotentHint: {}, openWorldHint: null }, D],
    ['a string', 'readOnlyHint', D],
  ];
  it.each(cases)('%s', (_name, annotations, expected) => {
    expect(effectiveHints(annotations)).toEqual(expected);
  });

  it('reads only own keys: a hint on the prototype is missing', () => {
    const annotations = Object.create({ readOnlyHint: true }) as object;
    expect(effectiveHints(annotations).readOnlyHint).toBe(false);
  });
});

function policyOf(dev: unknown) {
  const parsed = parseRulesConfig({ agents: { dev, other: { allow: { servers: ['*'] } } } });
  if (parsed.config === undefined) throw new Error(JSON.stringify(parsed.issues));
  return compilePolicy(parsed.config);
}

const READ = { name: 'read_file', annotations: { readOnlyHint: true, openWorldHint: false } };
const WRITE = { name: 'write_file', annotations: { readOnlyHint: false, destructiveHint: false, openWorldHint: false } };
const DELETE = { name: 'delete_repo', annotations: { destructiveHint: true } };
const BARE = { name: 'merge_pr' };

describe('annotation deny', () => {
  const policy = policyOf({
    allow: { servers: ['*'] },
    deny: {
      annotations: [
        { destructiveHint: true, servers: ['github'] },
        { readOnlyHint: false, openWorldHint: false, tools: ['write_*'] },
      ],
    },
  });
  const rules = policy.annotationRules('dev')!;

  it('names the first matching entry', () => {
    expect(rules.denied('github', DELETE)).toBe('agents.dev.deny.annotations[0]');
    // No annotations: destructive by default.
    expect(rules.denied('github', BARE)).toBe('agents.dev.deny.annotations[0]');
    expect(rules.denied('github', READ)).toBeUndefined();
    expect(rules.denied('files', DELETE)).toBeUndefined();
    expect(rules.denied('files', WRITE)).toBe('agents.dev.deny.annotations[1]');
    expect(rules.denied('files', { ...WRITE, name: 'edit_file' })).toBeUndefined();
  });

  it('hides from the lists what it denies, after the name rules', () => {
    expect(toolListed(policy, 'dev', 'github', DELETE)).toBe(false);
    expect(toolListed(policy, 'dev', 'github', READ)).toBe(true);
    expect(toolListed(policy, 'other', 'github', DELETE)).toBe(true);
  });

  it('an agent without such rules has none to check', () => {
    expect(policy.annotationRules('other')).toBeUndefined();
    expect(policy.annotationRules('nobody')).toBeUndefined();
  });
});

describe('approval', () => {
  const policy = policyOf({
    allow: { servers: ['*'] },
    approve: { tools: { github: ['merge_*', 'push'] }, annotations: [{ openWorldHint: true, readOnlyHint: false }] },
  });
  const rules = policy.annotationRules('dev')!;

  it('by name first, then by annotations', () => {
    expect(rules.approval('github', BARE)).toBe('agents.dev.approve.tools.github[0]');
    expect(rules.approval('github', { name: 'push', annotations: { openWorldHint: false } })).toBe('agents.dev.approve.tools.github[1]');
    // Tools keys are exact server names.
    expect(rules.approval('gitlab', BARE)).toBe('agents.dev.approve.annotations[0]');
    expect(rules.approval('github', DELETE)).toBe('agents.dev.approve.annotations[0]');
    expect(rules.approval('github', READ)).toBeUndefined();
    expect(rules.approval('files', WRITE)).toBeUndefined();
  });

  it('approval never hides a tool', () => {
    expect(rules.hasDenies).toBe(false);
    expect(toolListed(policy, 'dev', 'github', BARE)).toBe(true);
  });

  it('an agent with only empty approve lists has nothing to check', () => {
    expect(policyOf({ allow: { servers: ['*'] }, approve: { tools: { github: [] } } }).annotationRules('dev')).toBeUndefined();
  });
});
