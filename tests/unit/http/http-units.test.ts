// The pure pieces of the HTTP mode: credentials, SignalWire's input rules (anchored), the
// router, Origin policy and the REST session registry (with a fake clock).
import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Authenticator, secretEquals, tokenDigest } from '../../../src/http/auth.js';
import { normalizeOrigin, OriginPolicy } from '../../../src/http/origin.js';
import { HttpError } from '../../../src/http/respond.js';
import { addsNothing, RestSessionRegistry } from '../../../src/http/restSessions.js';
import { Router } from '../../../src/http/router.js';
import { callBody, serviceName, sessionId, toolName } from '../../../src/http/validate.js';

const b64 = (s: string) => Buffer.from(s).toString('base64');
const status = (fn: () => unknown): number => {
  try {
    fn();
    return 0;
  } catch (e) {
    return e instanceof HttpError ? e.status : -1;
  }
};

describe('Authenticator', () => {
  const creds = { [tokenDigest('agent-tok')]: 'researcher' };
  const auth = new Authenticator({ basic: { user: 'admin', password: 'pw' }, token: 'shared-tok' }, true);

  it('shared Basic and Bearer; a per-agent token binds; everything else refused', () => {
    expect(auth.authenticate(`Basic ${b64('admin:pw')}`, creds)).toMatchObject({ ok: true, principal: { kind: 'shared', key: 'shared' } });
    expect(auth.authenticate('Bearer shared-tok', creds)).toMatchObject({ ok: true, principal: { kind: 'shared' } });
    expect(auth.authenticate('Bearer agent-tok', creds)).toMatchObject({
      ok: true,
      principal: { kind: 'agent', key: 'agent:researcher', boundAgent: 'researcher' },
    });
    for (const h of [
      undefined,
      '',
      'Bearer x',
      'bearer shared-tok',
      `Basic ${b64('admin:nope')}`,
      `Basic ${b64('admin')}`,
      `Basic ${b64(':pw')}`,
      'Basic ***',
      'Bearer t\u00e9st',
      'Token abc',
    ]) {
      expect(auth.authenticate(h, creds).ok, String(h)).toBe(false);
    }
    // A shared credential configured: anonymous is never allowed.
    expect(auth.authenticate(undefined, {}).ok).toBe(false);
  });

  it('Basic: the text splits at its first colon, so a password may hold colons and a user name never matches with one', () => {
    const colons = new Authenticator({ basic: { user: 'admin', password: 'p:w:' } }, false);
    expect(colons.authenticate(`Basic ${b64('admin:p:w:')}`, undefined).ok).toBe(true);
    for (const wrong of ['admin:p:w', 'admin:p', 'admi:np:w:', 'admin::p:w:', 'Admin:p:w:'])
      expect(colons.authenticate(`Basic ${b64(wrong)}`, undefined).ok, wrong).toBe(false);
    // A configured user name with a colon can never be sent (the first colon ends it), as before.
    const odd = new Authenticator({ basic: { user: 'a:b', password: 'c' } }, false);
    expect(odd.authenticate(`Basic ${b64('a:b:c')}`, undefined)).toMatchObject({ ok: false, reason: 'wrong user name or password' });
    expect(new Authenticator({ basic: { user: 'u', password: 'pw' } }, false).authenticate(`Basic ${b64('u:pw')}`, {})).toMatchObject({ ok: true });
  });

  it('anonymous only where allowed and while no per-agent credential exists', () => {
    const open = new Authenticator({}, true);
    expect(open.authenticate(undefined, undefined)).toMatchObject({ ok: true, principal: { kind: 'anonymous' } });
    expect(open.authenticate(undefined, creds).ok).toBe(false);
    expect(new Authenticator({}, false).authenticate(undefined, undefined).ok).toBe(false);
    // A presented but wrong credential is refused even where anonymous is allowed.
    expect(open.authenticate('Bearer wrong', undefined).ok).toBe(false);
  });

  it('digests match `printf %s TOKEN | sha256sum`; secretEquals handles any lengths', () => {
    expect(tokenDigest('abc')).toBe(createHash('sha256').update('abc').digest('hex'));
    expect(secretEquals('a', 'a')).toBe(true);
    expect(secretEquals('a', 'a'.repeat(1000))).toBe(false);
  });
});

describe('validation (SignalWire rules, anchored)', () => {
  it('names and session ids', () => {
    expect(serviceName('todo_1-x')).toBe('todo_1-x');
    expect(toolName('a'.repeat(64))).toBe('a'.repeat(64));
    for (const bad of ['', 'a'.repeat(65), 'bad.name', 'a b', 'abc\n', 'é', 7, null])
      expect(
        status(() => serviceName(bad)),
        String(bad),
      ).toBe(400);
    expect(sessionId('call.123_x-y')).toBe('call.123_x-y');
    for (const bad of ['', 'a'.repeat(129), 'a/b', 'abc\n', 'a b'])
      expect(
        status(() => sessionId(bad)),
        JSON.stringify(bad),
      ).toBe(400);
  });

  it('call body: defaults, timeout range, agent_id from the body or metadata', () => {
    expect(callBody({ tool: 't', session_id: 's' })).toEqual({ tool: 't', arguments: {}, sessionId: 's', metadata: {} });
    expect(callBody({ tool: 't', session_id: 's', timeout: 3600, metadata: { agent_id: 'a' } })).toMatchObject({ timeout: 3600, agentId: 'a' });
    expect(callBody({ tool: 't', session_id: 's', agent_id: 'b', metadata: { agent_id: 'a' } }).agentId).toBe('b');
    for (const timeout of [0, -1, 3600.5, '1', true, null, Number.NaN])
      expect(
        status(() => callBody({ tool: 't', session_id: 's', timeout })),
        String(timeout),
      ).toBe(400);
    for (const body of [
      null,
      [],
      'x',
      {},
      { tool: 't' },
      { session_id: 's' },
      { tool: 't', session_id: 's', arguments: [] },
      { tool: 't', session_id: 's', metadata: 'm' },
    ]) {
      expect(
        status(() => callBody(body)),
        JSON.stringify(body),
      ).toBe(400);
    }
  });
});

describe('Router', () => {
  const r = new Router<string>().add('GET', '/a/:id', 'get').add('DELETE', '/a/:id', 'del');
  it('params, 404, 405 with Allow, OPTIONS, HEAD', () => {
    expect(r.match('GET', '/a/x%20y')).toMatchObject({ handler: 'get', params: { id: 'x y' } });
    expect(r.match('HEAD', '/a/1')).toMatchObject({ handler: 'get' });
    expect(r.match('OPTIONS', '/a/1')).toEqual({ options: true, allow: 'GET, DELETE, HEAD, OPTIONS' });
    expect(status(() => r.match('GET', '/a/'))).toBe(404);
    expect(status(() => r.match('GET', '/a/1/'))).toBe(404);
    expect(status(() => r.match('POST', '/a/1'))).toBe(405);
    expect(status(() => r.match('GET', '/a/%E0%A4%A'))).toBe(400);
  });
  it('a parameter is decoded where it stands: a bad escape before the first difference is a 400, after it a 404', () => {
    const t = new Router<string>().add('GET', '/s/:name/tools', 'tools').add('POST', '/s/:name/call', 'call').add('GET', '/x/:a/b/:c', 'x');
    expect(t.match('POST', '/s/a%2Fb/call')).toMatchObject({ handler: 'call', params: { name: 'a/b' }, pattern: '/s/:name/call' });
    expect(t.match('POST', '/s/plain/call')).toMatchObject({ params: { name: 'plain' } });
    expect(status(() => t.match('GET', '/s/%E0%A4%A/other'))).toBe(400);
    expect(status(() => t.match('GET', '/x/ok/c/%E0%A4%A'))).toBe(404);
    expect(status(() => t.match('GET', '/x/%E0%A4%A/c/1'))).toBe(400);
    expect(status(() => t.match('GET', '/s//call'))).toBe(404);
    expect(t.match('OPTIONS', '/s/n/tools')).toEqual({ options: true, allow: 'GET, HEAD, OPTIONS' });
  });
});

describe('Origin', () => {
  it('normalizes entries and checks the default loopback list', () => {
    expect(normalizeOrigin('https://App.Example.com:443')).toBe('https://app.example.com');
    for (const bad of ['localhost:3000', 'ftp://x', 'https://x/path', 'https://u:p@x', '*', 'https://x/']) expect(normalizeOrigin(bad), bad).toBeUndefined();
    const def = new OriginPolicy(undefined);
    expect(def.allows(undefined)).toBe(true);
    expect(def.allows('http://localhost:5173')).toBe(true);
    expect(def.allows('https://[::1]:8443')).toBe(true);
    expect(def.allows('http://localhost.evil.com')).toBe(false);
    expect(def.allows('null')).toBe(false);
    const list = new OriginPolicy(['https://app.example.com']);
    expect(list.allows('https://APP.example.com')).toBe(true);
    expect(list.allows('http://localhost')).toBe(false);
  });
});

describe('addsNothing', () => {
  it('only the same primitive under every key of what is added', () => {
    const kept = JSON.parse('{"a":1,"b":"x","n":null,"o":{"p":1},"__proto__":2}') as Record<string, unknown>;
    expect(addsNothing(kept, {})).toBe(true);
    expect(addsNothing(kept, JSON.parse('{"a":1,"b":"x","n":null,"__proto__":2}') as Record<string, unknown>)).toBe(true);
    for (const added of ['{"a":2}', '{"c":1}', '{"o":{"p":1}}', '{"a":"1"}', '{"__proto__":3}', '{"a":-0}']) {
      expect(addsNothing(kept, JSON.parse(added) as Record<string, unknown>), added).toBe(false);
    }
    expect(addsNothing({}, JSON.parse('{"__proto__":2}') as Record<string, unknown>)).toBe(false);
  });
});

describe('RestSessionRegistry', () => {
  it('sliding expiry, the last timeout given, merged metadata, per-owner isolation, bounded size', () => {
    let now = 1_000_000;
    const reg = new RestSessionRegistry({ now: () => now, max: 3, defaultTimeoutS: 300 });
    reg.touch('o1', 's1', 'svc', 10, { a: 1 }, 'alice');
    now += 9_000;
    reg.touch('o1', 's1', 'svc', undefined, { b: 2 });
    const pids = () => 42;
    expect(reg.list('o1', pids)['s1']).toMatchObject({ service: 'svc', agent: 'alice', pid: 42, timeout: 10, metadata: { a: 1, b: 2 }, time_remaining: 10 });
    reg.touch('o1', 's1', 'svc', 20, {});
    expect(reg.list('o1', () => undefined)['s1']).toMatchObject({ timeout: 20, pid: null });
    expect(reg.list('o2', pids)).toEqual({});
    expect(reg.delete('o2', 's1')).toBe(false);
    now += 20_001;
    expect(reg.get('o1', 's1')).toBeUndefined();
    expect(reg.size).toBe(0);
    for (const id of ['a', 'b', 'c', 'd']) {
      now += 1;
      reg.touch('o1', id, 'svc', undefined, {});
    }
    expect(Object.keys(reg.list('o1', pids))).toEqual(['b', 'c', 'd']);
    expect(reg.list('o1', pids)['d']).toMatchObject({ timeout: 300, agent: null });
  });
});
