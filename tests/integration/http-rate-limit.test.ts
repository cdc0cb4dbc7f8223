import { Writable } from 'node:stream';
import { Redis } from 'ioredis';
import { pino, type Logger } from 'pino';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { createRateLimiter, parseRateLimits, type RateDecision, type RateLimiter, type RateLimiterOptions, type RouteClass } from '../../src/http/rateLimit.js';
import { waitFor } from '../helpers/processes.js';
import { needsRedis, startRedis, stopAllRedis, type RedisHandle } from '../helpers/redis.js';

function captureLogger(): { logger: Logger; text: () => string } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), text: () => lines.join('') };
}

const limiters: RateLimiter[] = [];
function limiter(limits: Partial<Record<RouteClass, string>>, rest: Partial<RateLimiterOptions> = {}): RateLimiter {
  const parsed: RateLimiterOptions['limits'] = Object.fromEntries(Object.entries(limits).map(([k, v]) => [k, parseRateLimits(v, `--rate-limit-${k}`)]));
  const l = createRateLimiter({ limits: parsed, storage: 'memory', logger: captureLogger().logger, ...rest });
  limiters.push(l);
  return l;
}

async function times(l: RateLimiter, cls: RouteClass, key: string, n: number): Promise<RateDecision[]> {
  const out: RateDecision[] = [];
  for (let i = 0; i < n; i++) out.push(await l.check(cls, key));
  return out;
}

afterAll(async () => {
  await Promise.all(limiters.map((l) => l.close()));
});

/**
 * The in-memory counters read Date.now and expire records with setTimeout: faked, a window
 * ends when the test says so. Call before the limiter is made.
 */
function fakeClock(): void {
  vi.useFakeTimers({ toFake: ['Date', 'setTimeout', 'clearTimeout'] });
}

describe('rate limiter, in memory', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('allows N requests in the window, then refuses with Retry-After and RateLimit headers', async () => {
    const l = limiter({ call: '3 per minute' });
    const decisions = await times(l, 'call', 'agent:researcher', 4);
    expect(decisions.map((d) => [d.allowed, d.limit, d.remaining])).toEqual([
      [true, 3, 2],
      [true, 3, 1],
      [true, 3, 0],
      [false, 3, 0],
    ]);
    const first = decisions[0]!;
    expect(first.resetSeconds).toBeGreaterThanOrEqual(59);
    expect(first.resetSeconds).toBeLessThanOrEqual(60);
    expect(first.retryAfterSeconds).toBeUndefined();
    expect(l.headers(first)).toEqual({
      'RateLimit-Limit': '3',
      'RateLimit-Remaining': '2',
      'RateLimit-Reset': String(first.resetSeconds),
      'RateLimit-Policy': '3;w=60',
    });

    const refused = decisions[3]!;
    expect(refused.retryAfterSeconds).toBe(refused.resetSeconds);
    expect(refused.retryAfterSeconds).toBeGreaterThanOrEqual(59);
    expect(l.headers(refused)).toEqual({
      'RateLimit-Limit': '3',
      'RateLimit-Remaining': '0',
      'RateLimit-Reset': String(refused.resetSeconds),
      'RateLimit-Policy': '3;w=60',
      'Retry-After': String(refused.retryAfterSeconds),
    });
  });

  it('counts each identity and each route class separately', async () => {
    const l = limiter({ call: '1 per minute', tools: '1 per minute' });
    expect((await l.check('call', 'agent:a')).allowed).toBe(true);
    expect((await l.check('call', 'agent:a')).allowed).toBe(false);
    expect((await l.check('call', 'agent:b')).allowed).toBe(true);
    expect((await l.check('call', 'ip:127.0.0.1')).allowed).toBe(true);
    expect((await l.check('tools', 'agent:a')).allowed).toBe(true);
    expect((await l.check('tools', 'agent:a')).allowed).toBe(false);
  });

  it('opens again when the window ends', async () => {
    fakeClock();
    const l = limiter({ call: '2 per second' });
    const [a, b, c] = await times(l, 'call', 'k', 3);
    expect([a!.allowed, b!.allowed, c!.allowed]).toEqual([true, true, false]);
    expect(c!.retryAfterSeconds).toBe(1);
    vi.advanceTimersByTime(1100);
    const d = await l.check('call', 'k');
    expect(d.allowed).toBe(true);
    expect(d.remaining).toBe(1);
  });

  it('evaluates every rule of the class; the tightest decides the headers; the policy lists all', async () => {
    const l = limiter({ call: '10 per second; 3 per minute' });
    const [first, , third, fourth] = await times(l, 'call', 'k', 4);
    expect([first!.limit, first!.remaining, first!.policy]).toEqual([3, 2, '10;w=1, 3;w=60']);
    expect(first!.rule.text).toBe('3 per minute');
    expect([third!.allowed, third!.remaining]).toEqual([true, 0]);
    // Refused by the minute rule: Retry-After is its reset, not the second rule's.
    expect(fourth!.allowed).toBe(false);
    expect(fourth!.limit).toBe(3);
    expect(fourth!.retryAfterSeconds).toBeGreaterThan(50);
    expect(l.headers(fourth!)['RateLimit-Policy']).toBe('10;w=1, 3;w=60');
  });

  it('does not charge a refused request to the windows that still had room', async () => {
    fakeClock();
    const l = limiter({ call: '2 per second; 4 per minute' });
    const [, , refused] = await times(l, 'call', 'k', 3);
    expect(refused!.allowed).toBe(false);
    expect(refused!.rule.text).toBe('2 per second');
    vi.advanceTimersByTime(1100);
    const next = await l.check('call', 'k');
    // Two requests were counted in the minute window, not three: one remains after this one.
    expect(next.allowed).toBe(true);
    expect([next.limit, next.remaining]).toEqual([4, 1]);
  });

  it('fills omitted route classes from the defaults', async () => {
    const l = limiter({ call: '5 per minute' });
    expect((await l.check('default', 'k')).policy).toBe('6000;w=60');
    expect((await l.check('tools', 'k')).policy).toBe('3000;w=60');
    expect((await l.check('session_delete', 'k')).policy).toBe('600;w=60');
    expect((await l.check('call', 'k')).policy).toBe('5;w=60');
  });

  it('bounds long identity keys without merging different identities', async () => {
    const l = limiter({ call: '1 per minute' });
    const long = 'agent:' + 'x'.repeat(500);
    expect((await l.check('call', long + 'a')).allowed).toBe(true);
    expect((await l.check('call', long + 'b')).allowed).toBe(true);
    expect((await l.check('call', long + 'a')).allowed).toBe(false);
  });

  it('rejects unknown route classes and empty rule lists; close is idempotent', async () => {
    const l = limiter({});
    await expect(l.check('bogus' as RouteClass, 'k')).rejects.toThrow('unknown rate-limit route class "bogus"');
    expect(() => createRateLimiter({ limits: { call: [] }, storage: 'memory', logger: captureLogger().logger })).toThrow(
      'rate limits for "call": at least one rule is required',
    );
    expect(l.status()).toEqual({ store: 'memory', display: 'memory', shared: false });
    await l.ready();
    await l.close();
    await l.close();
  });
});

const redisCheck = needsRedis('the Redis rate-limit tests of tests/integration/http-rate-limit.test.ts');
describe.runIf(redisCheck.run)(`rate limiter, Redis (a real redis-server)${redisCheck.note}`, () => {
  let redis: RedisHandle;
  const prefix = (): string => `test-${Math.random().toString(36).slice(2)}`;

  function redisLimiter(
    url: string,
    limits: Partial<Record<RouteClass, string>>,
    keyPrefix: string,
    logger: Logger = captureLogger().logger,
    extra: Partial<RateLimiterOptions> = {},
  ): RateLimiter {
    return limiter(limits, { storage: url, keyPrefix, logger, ...extra });
  }

  beforeAll(async () => {
    redis = await startRedis();
  });

  afterAll(async () => {
    await Promise.all(limiters.splice(0).map((l) => l.close()));
    await stopAllRedis();
  });

  it('shares counters between two instances (two gateways behind a load balancer)', async () => {
    const p = prefix();
    const a = redisLimiter(redis.url, { call: '5 per minute' }, p);
    const b = redisLimiter(redis.url, { call: '5 per minute' }, p);
    await Promise.all([a.ready(), b.ready()]);
    expect(a.status()).toEqual({ store: 'redis', display: redis.url, shared: true });

    const seen = [...(await times(a, 'call', 'agent:researcher', 3)), ...(await times(b, 'call', 'agent:researcher', 2))].map((d) => [d.allowed, d.remaining]);
    expect(seen).toEqual([
      [true, 4],
      [true, 3],
      [true, 2],
      [true, 1],
      [true, 0],
    ]);
    const refusedA = await a.check('call', 'agent:researcher');
    const refusedB = await b.check('call', 'agent:researcher');
    expect([refusedA.allowed, refusedB.allowed]).toEqual([false, false]);
    expect(refusedB.retryAfterSeconds).toBeGreaterThan(50);
    // Another identity is untouched.
    expect((await b.check('call', 'agent:writer')).allowed).toBe(true);

    // The counter is one Redis key with the window as its TTL.
    const probe = new Redis(redis.url);
    try {
      const key = `${p}:call:5/60:agent:researcher`;
      expect(Number(await probe.get(key))).toBeGreaterThanOrEqual(6);
      const ttl = await probe.pttl(key);
      expect(ttl).toBeGreaterThan(50_000);
      expect(ttl).toBeLessThanOrEqual(60_000);
    } finally {
      probe.disconnect();
    }
  });

  it('never logs the password of the Redis URL', async () => {
    const secured = await startRedis({ password: 'hunter2-s3cret' });
    const good = captureLogger();
    const ok = redisLimiter(`redis://:hunter2-s3cret@127.0.0.1:${secured.port}/0`, { call: '2 per minute' }, prefix(), good.logger);
    await ok.ready();
    expect((await ok.check('call', 'k')).allowed).toBe(true);
    expect(ok.status().display).toBe(`redis://127.0.0.1:${secured.port}/0`);

    const bad = captureLogger();
    const wrong = redisLimiter(`redis://default:wrong-s3cret@127.0.0.1:${secured.port}`, { call: '2 per minute' }, prefix(), bad.logger);
    const err = await wrong.ready(1500).then(
      () => undefined,
      (e: unknown) => e as Error,
    );
    expect(err?.message).toContain(`rate-limit storage redis://127.0.0.1:${secured.port}: not reachable`);
    expect(err?.message).not.toContain('s3cret');
    // Still answers, from memory.
    expect((await wrong.check('call', 'k')).allowed).toBe(true);
    await ok.close();
    await wrong.close();
    await secured.kill();

    expect(good.text()).toContain(`redis://127.0.0.1:${secured.port}/0`);
    expect(bad.text()).toContain('rate-limit storage unavailable');
    for (const text of [good.text(), bad.text()]) expect(text).not.toContain('s3cret');
  });

  it('answers at once from memory when Redis is unreachable from the start', async () => {
    const log = captureLogger();
    const dead = redisLimiter('redis://127.0.0.1:1', { call: '2 per minute' }, prefix(), log.logger);
    const started = performance.now();
    const decisions = await times(dead, 'call', 'k', 3);
    expect(performance.now() - started).toBeLessThan(1000);
    expect(decisions.map((d) => d.allowed)).toEqual([true, true, false]);
    await expect(dead.ready(300)).rejects.toThrow('rate-limit storage redis://127.0.0.1:1: not reachable within 300 ms');
    expect(dead.status().shared).toBe(false);
    await dead.close();
  });

  it('keeps limiting per instance when Redis hangs (command timeout), shared again when it answers', async () => {
    const hung = await startRedis();
    const p = prefix();
    const a = redisLimiter(hung.url, { call: '3 per minute' }, p, captureLogger().logger, { redisCommandTimeoutMs: 200 });
    await a.ready();
    expect((await a.check('call', 'k')).remaining).toBe(2);
    hung.pause();
    try {
      const started = performance.now();
      const d = await a.check('call', 'k');
      expect(performance.now() - started).toBeLessThan(1500);
      expect(d.allowed).toBe(true);
      // The insurance limiter counts from zero in this instance.
      expect(d.remaining).toBe(2);
    } finally {
      hung.resume();
    }
    await a.ready(10_000);
    await hung.kill();
  });

  it('when Redis goes away: each instance limits on its own, then shares again once Redis is back', async () => {
    const volatile = await startRedis();
    const p = prefix();
    const logA = captureLogger();
    const a = redisLimiter(volatile.url, { call: '3 per minute' }, p, logA.logger);
    const b = redisLimiter(volatile.url, { call: '3 per minute' }, p);
    await Promise.all([a.ready(), b.ready()]);
    expect((await a.check('call', 'k')).remaining).toBe(2);
    expect((await b.check('call', 'k')).remaining).toBe(1);

    await volatile.kill();
    // Wait until both clients have noticed (ioredis sees the closed socket).
    await waitFor(() => !a.status().shared && !b.status().shared, { timeoutMs: 5_000 });
    expect([a.status().shared, b.status().shared]).toEqual([false, false]);

    // Fail-local: neither refuses everything nor lets everything through.
    const ra = await times(a, 'call', 'k', 4);
    const rb = await times(b, 'call', 'k', 4);
    expect(ra.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(rb.map((d) => d.allowed)).toEqual([true, true, true, false]);
    expect(logA.text()).toContain('rate-limit storage unavailable; limits are counted per gateway instance');
    // One warning per outage, not one per reconnect attempt: wait for two failed reconnects.
    await waitFor(() => logA.text().split('rate-limit storage still unavailable').length - 1 >= 2, { timeoutMs: 10_000 });
    expect(logA.text().split('rate-limit storage unavailable').length - 1).toBe(1);

    const back = await startRedis({ port: volatile.port });
    await Promise.all([a.ready(10_000), b.ready(10_000)]);
    expect(logA.text()).toContain('rate-limit storage reachable again');
    // A fresh Redis (no persistence): counting starts over, shared by both instances.
    const shared = [...(await times(a, 'call', 'k2', 2)), ...(await times(b, 'call', 'k2', 2))];
    expect(shared.map((d) => [d.allowed, d.remaining])).toEqual([
      [true, 2],
      [true, 1],
      [true, 0],
      [false, 0],
    ]);
    await a.close();
    await b.close();
    await back.kill();
  });
});
