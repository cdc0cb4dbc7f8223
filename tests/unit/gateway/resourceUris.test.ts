import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fromGatewayUri, toGatewayUri } from '../../../src/gateway/native/resourceUris.js';

describe('gateway resource URIs', () => {
  it.each([
    ['everything', 'test://static/resource/1', 'mcpgw://everything/test://static/resource/1'],
    ['fs', 'file:///home/me/a.txt', 'mcpgw://fs/file:///home/me/a.txt'],
    ['my.server', 'test://static/resource/{id}', 'mcpgw://my.server/test://static/resource/{id}'],
  ])('%s + %s <-> %s', (server, uri, mapped) => {
    expect(toGatewayUri(server, uri)).toBe(mapped);
    expect(fromGatewayUri(mapped)).toEqual({ server, uri });
  });

  it.each(['test://static/resource/1', 'mcpgw://', 'mcpgw:///x', 'mcpgw://server', 'mcpgw://server/', 'mcpgw://%E0%A4%A/x'])('%s is not a gateway URI', (uri) => {
    expect(fromGatewayUri(uri)).toBeUndefined();
  });

  it('round-trips any server name and URI', () => {
    fc.assert(
      fc.property(fc.string({ minLength: 1 }), fc.string({ minLength: 1 }), (server, uri) => {
        expect(fromGatewayUri(toGatewayUri(server, uri))).toEqual({ server, uri });
      }),
    );
  });
});
