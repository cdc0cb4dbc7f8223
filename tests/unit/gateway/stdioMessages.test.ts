import { CallToolRequestSchema, ReadResourceRequestSchema } from '@modelcontextprotocol/core';
import { describe, expect, it } from 'vitest';
import { invalidParamsMessage, type ParamsSchema } from '../../../src/gateway/invalidParams.js';
import { describeInvalid, recoverId } from '../../../src/gateway/stdioServerTransport.js';

describe('describeInvalid: what a JSON value that is not JSON-RPC gets', () => {
  it.each([
    [
      { jsonrpc: '2.0', id: 5 },
      { answer: true, id: 5, reason: '"method" must be a string' },
    ],
    [
      { jsonrpc: '1.0', id: 'a', method: 'x' },
      { answer: true, id: 'a', reason: '"jsonrpc" must be "2.0"' },
    ],
    [
      { jsonrpc: '2.0', id: 1.5, method: 'x' },
      { answer: true, id: null, reason: '"id" must be a string or an integer' },
    ],
    [
      { jsonrpc: '2.0', id: 2, method: 'x', params: [1] },
      { answer: true, id: 2, reason: '"params" must be an object' },
    ],
    ['text', { answer: true, id: null, reason: 'a message must be a JSON object' }],
    [[{ jsonrpc: '2.0', id: 1, method: 'x' }], { answer: true, id: null }],
    // A notification or a response is never answered.
    [{ jsonrpc: '2.0', method: 'notifications/x', params: 'p' }, { answer: false }],
    [{ jsonrpc: '2.0', id: 3, result: 'r', error: {} }, { answer: false }],
  ])('%j', (value, expected) => {
    expect(describeInvalid(value)).toMatchObject(expected);
  });
});

describe('recoverId: the id of a request too long to parse', () => {
  it.each([
    ['{"jsonrpc":"2.0","id":42,"method":"tools/call"', '', 42],
    ['{ "id" : "abc", "method"', '', 'abc'],
    ['{"method":"tools/call","params":{"id":9', 'xx"}},"jsonrpc":"2.0","id":17}', 17],
    ['{"method":"tools/call"', 'xx"}},"jsonrpc":"2.0","id":"q\\"r"}\r', 'q"r'],
    // A nested "id" is not the request's.
    ['{"method":"tools/call","params":{"id":9', 'xxx","id":3}}', null],
    ['garbage', 'garbage', null],
  ])('%s … %s', (head, tail, id) => {
    expect(recoverId(head, tail)).toBe(id);
  });
});

describe('invalidParamsMessage', () => {
  const call = CallToolRequestSchema as unknown as ParamsSchema;
  it.each([
    [{ method: 'tools/call', params: { name: 'x', arguments: 'x' } }, 'Invalid params: arguments must be an object, got string'],
    [{ method: 'tools/call', params: { name: 'x', arguments: [1] } }, 'Invalid params: arguments must be an object, got array'],
    [{ method: 'tools/call', params: { arguments: {} } }, 'Invalid params: name is required'],
    [{ method: 'tools/call', params: { name: 5 } }, 'Invalid params: name must be a string, got number'],
    [{ method: 'tools/call' }, 'Invalid params: params is required'],
    [{ method: 'tools/call', params: { name: 'x', _meta: { progressToken: {} } } }, 'Invalid params: _meta.progressToken must be a string or a number, got object'],
  ])('%j', (request, message) => {
    expect(invalidParamsMessage(call, request)).toBe(message);
  });

  it('passes a valid request and a method without a schema', () => {
    expect(invalidParamsMessage(call, { method: 'tools/call', params: { name: 'x', arguments: {} } })).toBeUndefined();
    expect(invalidParamsMessage(undefined, { method: 'other', params: 'x' })).toBeUndefined();
    expect(invalidParamsMessage(ReadResourceRequestSchema as unknown as ParamsSchema, { method: 'resources/read', params: { uri: 5 } })).toBe(
      'Invalid params: uri must be a string, got number',
    );
  });
});
