// isPlainToolResult decides which tools/call results skip the protocol's result schema, on both
// sides of the gateway. Its one promise: whatever it accepts, the schema accepts too and gives
// back unchanged, so skipping the parse can never let through or alter anything.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { GatewayClient } from '../../src/downstream/gatewayClient.js';
import { isPlainToolResult } from '../../src/toolResultShape.js';

const text = (t: string): Record<string, unknown> => ({ type: 'text', text: t });

/** A gateway Client before any negotiation reads results with the 2025 codec, as on a 2025 connection. */
const reader = new GatewayClient({ name: 'tool-result-shape-test', version: '1.0.0' });

/** The schema's verdict (the 2025 codec the SDK Client validates with): the parsed value, or undefined when it refuses. */
function schemaOutput(value: unknown): unknown {
  const checked = reader.checkToolResult(value);
  return checked.ok ? checked.value : undefined;
}

describe('isPlainToolResult: the common shape', () => {
  const accepted: [string, Record<string, unknown>][] = [
    ['no content blocks', { content: [] }],
    ['one text block', { content: [text('hi')] }],
    ['several text blocks, one empty', { content: [text('a'), text(''), text('c')] }],
    ['isError true', { content: [text('boom')], isError: true }],
    ['isError false', { content: [], isError: false }],
    ['structuredContent object', { content: [text('{}')], structuredContent: { a: 1, nested: { b: [1, 'x', null] } } }],
    ['empty structuredContent', { content: [], structuredContent: {} }],
    ['result _meta with ordinary keys', { content: [], _meta: { traceId: 'abc', 'example.com/x': { y: 1 } } }],
    ['result _meta with a progressToken key (not reserved)', { content: [], _meta: { progressToken: 7 } }],
    ['text block _meta', { content: [{ type: 'text', text: 'x', _meta: { k: 'v' } }] }],
    ['everything at once', { content: [text('r')], isError: false, structuredContent: { r: 1 }, _meta: { k: 1 } }],
  ];
  it.each(accepted)('accepts %s, which the schema returns unchanged', (_name, value) => {
    expect(isPlainToolResult(value)).toBe(true);
    expect(schemaOutput(value)).toStrictEqual(value);
  });

  const refused: [string, Record<string, unknown>][] = [
    ['no content (the schema defaults it)', {}],
    ['content not an array', { content: text('x') }],
    ['content null', { content: null }],
    ['an image block', { content: [{ type: 'image', data: 'AAAA', mimeType: 'image/png' }] }],
    ['a resource_link block', { content: [{ type: 'resource_link', uri: 'file:///x', name: 'x' }] }],
    ['a text block with annotations', { content: [{ type: 'text', text: 'x', annotations: { priority: 1 } }] }],
    ['a text block with another key', { content: [{ type: 'text', text: 'x', extra: 1 }] }],
    ['a text block without text', { content: [{ type: 'text' }] }],
    ['a text block whose text is a number', { content: [{ type: 'text', text: 1 }] }],
    ['a null block', { content: [null] }],
    ['an array block', { content: [['text', 'x']] }],
    ['a block without type', { content: [{ text: 'x' }] }],
    ['a text block with null _meta', { content: [{ type: 'text', text: 'x', _meta: null }] }],
    ['a text block with array _meta', { content: [{ type: 'text', text: 'x', _meta: [] }] }],
    ['a text block with a reserved _meta key', { content: [{ type: 'text', text: 'x', _meta: { 'io.modelcontextprotocol/related-task': { taskId: 't' } } }] }],
    ['isError a string', { content: [], isError: 'true' }],
    ['isError null', { content: [], isError: null }],
    ['structuredContent an array', { content: [], structuredContent: [1] }],
    ['structuredContent null', { content: [], structuredContent: null }],
    ['structuredContent a string', { content: [], structuredContent: 'x' }],
    ['_meta null', { content: [], _meta: null }],
    ['_meta an array', { content: [], _meta: [] }],
    ['_meta with serverInfo (reserved)', { content: [], _meta: { 'io.modelcontextprotocol/serverInfo': { name: 's', version: '1' } } }],
    ['_meta with a reserved key of any name', { content: [], _meta: { 'io.modelcontextprotocol/anything': 1 } }],
    ['a resultType (the 2026 discriminator)', { content: [], resultType: 'complete' }],
    ['a task result', { task: { taskId: 't', status: 'working' } }],
    ['the 2024 toolResult', { content: [], toolResult: 1 }],
    ['an unknown result key', { content: [], extra: true }],
  ];
  it.each(refused)('leaves %s to the schema', (_name, value) => {
    expect(isPlainToolResult(value)).toBe(false);
  });
});

// ---- the property: accepted => the schema agrees and returns the value unchanged ----

/**
 * Keys for objects the schema walks (result, blocks, _meta): the ones that matter to the
 * check, `__proto__` (an own key after JSON.parse), plus any string.
 */
const key = fc.oneof(
  {
    weight: 2,
    arbitrary: fc.constantFrom('content', 'structuredContent', 'isError', '_meta', 'type', 'text', 'annotations', 'progressToken', 'resultType', 'toolResult'),
  },
  { weight: 1, arbitrary: fc.constantFrom('io.modelcontextprotocol/serverInfo', 'io.modelcontextprotocol/related-task', 'io.modelcontextprotocol/x') },
  { weight: 1, arbitrary: fc.constant('__proto__') },
  { weight: 6, arbitrary: fc.string() },
);
const anyJson = fc.jsonValue({ maxDepth: 3 });
const someObject = fc.dictionary(key, anyJson, { maxKeys: 4 });
const meta = fc.oneof({ weight: 4, arbitrary: someObject }, { weight: 1, arbitrary: anyJson });
const block = fc.oneof(
  { weight: 6, arbitrary: fc.record({ type: fc.constant('text'), text: fc.string(), _meta: meta }, { requiredKeys: ['type', 'text'] }) },
  {
    weight: 1,
    arbitrary: fc.record({ type: fc.constantFrom('text', 'image', 'audio'), text: anyJson, data: fc.base64String(), mimeType: fc.string() }, { requiredKeys: [] }),
  },
  { weight: 1, arbitrary: fc.record({ type: fc.constant('text'), text: fc.string(), annotations: anyJson }) },
  { weight: 1, arbitrary: anyJson },
);
/** Results near the common shape: most of them are of it, the rest one step away. */
const nearlyPlain = fc
  .tuple(
    fc.record(
      {
        content: fc.oneof({ weight: 8, arbitrary: fc.array(block, { maxLength: 4 }) }, { weight: 1, arbitrary: anyJson }),
        isError: fc.oneof({ weight: 4, arbitrary: fc.boolean() }, { weight: 1, arbitrary: anyJson }),
        structuredContent: fc.oneof({ weight: 4, arbitrary: someObject }, { weight: 1, arbitrary: anyJson }),
        _meta: meta,
      },
      { requiredKeys: [] },
    ),
    fc.oneof({ weight: 4, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.dictionary(key, anyJson, { minKeys: 1, maxKeys: 2 }) }),
  )
  .map(([result, extra]) => (extra === null ? result : { ...extra, ...result }) as Record<string, unknown>);

/** The value as the gateway meets it: parsed from a JSON line. */
const fromWire = (value: Record<string, unknown>): Record<string, unknown> => JSON.parse(JSON.stringify(value)) as Record<string, unknown>;

describe('isPlainToolResult: never ahead of the schema', () => {
  it('whatever it accepts, the 2025 result schema accepts and returns deep-equal', () => {
    let plain = 0;
    fc.assert(
      fc.property(nearlyPlain.map(fromWire), (value) => {
        if (!isPlainToolResult(value)) return;
        plain++;
        const checked = reader.checkToolResult(value);
        expect(checked.ok).toBe(true);
        expect(checked.ok && checked.value).toStrictEqual(value);
      }),
      { numRuns: 2000 },
    );
    // The generator is worth something only if it reaches the accepted side often.
    expect(plain).toBeGreaterThan(100);
  });

  it('agrees with the schema on any JSON value at all (no false accept)', () => {
    fc.assert(
      fc.property(fc.dictionary(key, anyJson, { maxKeys: 5 }), (value) => {
        if (isPlainToolResult(value)) expect(schemaOutput(value)).toStrictEqual(value);
      }),
      { numRuns: 1000 },
    );
  });

  // JSON.parse keeps `__proto__` as an own key, and the schema's objects and records drop it: such
  // a result is left to the schema, wherever the key is.
  it.each([
    ['result _meta', '{"content":[],"_meta":{"__proto__":{"polluted":true}}}'],
    ['text block _meta', '{"content":[{"type":"text","text":"x","_meta":{"__proto__":{"polluted":true}}}]}'],
    ['structuredContent', '{"content":[],"structuredContent":{"__proto__":{"x":1}}}'],
    ['the result itself', '{"content":[],"__proto__":{"x":1}}'],
    ['a text block', '{"content":[{"type":"text","text":"x","__proto__":{"x":1}}]}'],
  ])('a __proto__ key in %s is left to the schema', (_where, line) => {
    expect(isPlainToolResult(JSON.parse(line) as Record<string, unknown>)).toBe(false);
  });
});
