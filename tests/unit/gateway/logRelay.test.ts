import { describe, expect, it } from 'vitest';
import { LogRelay, MAX_LOG_DATA_CHARS, shape } from '../../../src/gateway/logRelay.js';
import { ServerRequestRouter, type UpstreamSession } from '../../../src/gateway/serverRequests.js';
import { createLogger } from '../../../src/log.js';

function session(id: string): UpstreamSession {
  return {
    id,
    clientCapabilities: () => ({}),
    request: () => Promise.reject(new Error('none')),
    notifyToolListChanged: () => Promise.resolve(),
    notifyLog: () => Promise.resolve(),
  };
}

describe('shape', () => {
  const deep: unknown = JSON.parse(`${'['.repeat(20_000)}${']'.repeat(20_000)}`);
  it.each([
    ['no logger', { level: 'info', data: 'x' }, { level: 'info', logger: 'srv', data: 'x' }],
    ['an empty logger', { level: 'info', logger: '', data: 1 }, { level: 'info', logger: 'srv', data: 1 }],
    ['a logger', { level: 'error', logger: 'db', data: { a: 1 } }, { level: 'error', logger: 'srv/db', data: { a: 1 } }],
    ['a long logger', { level: 'info', logger: 'l'.repeat(500), data: null }, { level: 'info', logger: `srv/${'l'.repeat(128)}…`, data: null }],
    ['data too deep to serialize', { level: 'info', data: deep }, { level: 'info', logger: 'srv', data: '[log data not serializable]' }],
  ] as const)('%s', (_name, params, expected) => {
    expect(shape('srv', params as never)).toEqual(expected);
  });

  it('keeps data up to the bound and cuts larger data to a string', () => {
    const fits = 'a'.repeat(MAX_LOG_DATA_CHARS - 2);
    expect(shape('srv', { level: 'info', data: fits }).data).toBe(fits);
    const big = { text: 'b'.repeat(MAX_LOG_DATA_CHARS) };
    const data = shape('srv', { level: 'info', data: big }).data as string;
    expect(data.startsWith('{"text":"bbb')).toBe(true);
    expect(data).toMatch(new RegExp(`… \\[clipped: ${JSON.stringify(big).length} characters\\]$`));
    expect(data.length).toBeLessThan(MAX_LOG_DATA_CHARS + 40);
  });
});

describe('LogRelay levels', () => {
  it('wants the most verbose level of the listening sessions and tells servers only on change', () => {
    let told = 0;
    const relay = new LogRelay({
      router: new ServerRequestRouter(createLogger('silent')),
      logger: createLogger('silent'),
      mayUse: () => true,
      levelChanged: () => told++,
    });
    const a = session('a');
    const b = session('b');
    expect(relay.wanted()).toBeUndefined();
    relay.setLevel(a, 'error');
    expect([relay.wanted(), told]).toEqual(['error', 1]);
    relay.setLevel(b, 'debug');
    expect([relay.wanted(), told]).toEqual(['debug', 2]);
    relay.setLevel(a, 'warning');
    expect([relay.wanted(), told]).toEqual(['debug', 2]);
    relay.forget(b);
    expect([relay.wanted(), told]).toEqual(['warning', 3]);
    relay.forget(a);
    expect([relay.wanted(), told]).toEqual([undefined, 3]);
  });
});
