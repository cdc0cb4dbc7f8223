import { describe, expect, it } from 'vitest';
import {
  DEFAULT_RATE_LIMIT_SPECS,
  DEFAULT_RATE_LIMITS,
  MAX_WINDOW_SECONDS,
  parseRateLimits,
  parseRateLimitStorage,
  policyItem,
  RateLimitSpecError,
} from '../../../src/http/rateLimitSpec.js';

const rules = (spec: string | readonly string[]): string[] => parseRateLimits(spec, '--rate-limit-call').map((r) => `${r.limit}/${r.windowSeconds}s ${r.text}`);

describe('parseRateLimits', () => {
  it.each([
    // SignalWire's shipped values
    ['30 per minute', ['30/60s 30 per minute']],
    ['10 per minute', ['10/60s 10 per minute']],
    ['200 per day', ['200/86400s 200 per day']],
    ['50 per hour', ['50/3600s 50 per hour']],
    // the rest of the limits-library notation
    ['5 per second', ['5/1s 5 per second']],
    ['10/second', ['10/1s 10 per second']],
    ['10/minute', ['10/60s 10 per minute']],
    ['10 / hour', ['10/3600s 10 per hour']],
    ['10 per minutes', ['10/60s 10 per minute']],
    ['10 per seconds', ['10/1s 10 per second']],
    ['3 per days', ['3/86400s 3 per day']],
    ['30 PER Minute', ['30/60s 30 per minute']],
    ['  30 per minute  ', ['30/60s 30 per minute']],
    ['30per minute', ['30/60s 30 per minute']],
    ['10 per 2 hours', ['10/7200s 10 per 2 hours']],
    ['10/2minute', ['10/120s 10 per 2 minutes']],
    ['10 per 1 minute', ['10/60s 10 per minute']],
    ['1 per 24 days', ['1/2073600s 1 per 24 days']],
    // lists: ";" (limits' documented separator), "," and "|"
    ['200 per day; 50 per hour', ['200/86400s 200 per day', '50/3600s 50 per hour']],
    ['200 per day, 50 per hour', ['200/86400s 200 per day', '50/3600s 50 per hour']],
    ['200 per day|50/hour', ['200/86400s 200 per day', '50/3600s 50 per hour']],
    ['10/second;100/minute;1000/hour', ['10/1s 10 per second', '100/60s 100 per minute', '1000/3600s 1000 per hour']],
    // exact duplicates would count each request twice against one quota
    ['30 per minute; 30/minute', ['30/60s 30 per minute']],
    ['30 per minute; 60 per minute', ['30/60s 30 per minute', '60/60s 60 per minute']],
  ] as const)('%j', (spec, expected) => {
    expect(rules(spec)).toEqual(expected);
  });

  it("accepts SignalWire's default_limits list form and names the element in errors", () => {
    expect(rules(['200 per day', '50 per hour'])).toEqual(['200/86400s 200 per day', '50/3600s 50 per hour']);
    expect(() => parseRateLimits(['200 per day', 'lots'], 'rate_limiting.default_limits')).toThrow('rate_limiting.default_limits[1]: "lots" is not');
    expect(() => parseRateLimits([], 'rate_limiting.default_limits')).toThrow('rate_limiting.default_limits: an empty list');
    expect(() => parseRateLimits([5 as unknown as string], 'x')).toThrow('x[0]: expected a string');
  });

  it.each([
    ['30 per fortnight', '--rate-limit-call: "30 per fortnight" is not "<n> per second|minute|hour|day"'],
    ['30 per month', '(month windows are not supported)'],
    ['30 per year', '(year windows are not supported)'],
    ['', '--rate-limit-call: empty'],
    ['   ', '--rate-limit-call: empty'],
    [';', '--rate-limit-call: empty'],
    ['30 per minute;', 'has an empty item'],
    ['30 per minute;;10/second', 'has an empty item'],
    ['per minute', '"per minute" is not'],
    ['thirty per minute', '"thirty per minute" is not'],
    ['30', '"30" is not'],
    ['30 minute', '"30 minute" is not'],
    ['-5 per minute', '"-5 per minute" is not'],
    ['1.5 per minute', '"1.5 per minute" is not'],
    ['0 per minute', 'the amount must be a whole number from 1'],
    ['1000000001 per minute', 'the amount must be a whole number from 1'],
    ['10 per 0 minutes', 'the window multiplier must be a whole number of at least 1'],
    ['1 per 25 days', 'windows longer than 24 days are not supported'],
    ['30 per minute and more', 'is not'],
  ])('%j fails: %s', (spec, message) => {
    let error: unknown;
    try {
      parseRateLimits(spec, '--rate-limit-call');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RateLimitSpecError);
    expect((error as RateLimitSpecError).field).toBe('--rate-limit-call');
    expect((error as Error).message).toContain(message);
    expect((error as Error).message.startsWith('--rate-limit-call: ')).toBe(true);
  });

  it('rejects a value that is neither string nor list', () => {
    expect(() => parseRateLimits(30 as unknown as string, 'GATEWAY_RATE_LIMIT_CALL')).toThrow('GATEWAY_RATE_LIMIT_CALL: expected a string');
  });

  it('keeps windows within what the in-memory store can time', () => {
    expect(MAX_WINDOW_SECONDS * 1000).toBeLessThanOrEqual(2 ** 31 - 1);
  });

  it('writes RateLimit-Policy items', () => {
    expect(parseRateLimits('30 per minute; 1000 per day', 'x').map(policyItem)).toEqual(['30;w=60', '1000;w=86400']);
  });

  it('has generous per-minute defaults for every route class, parsed', () => {
    expect(DEFAULT_RATE_LIMIT_SPECS).toEqual({
      default: '6000 per minute',
      tools: '3000 per minute',
      call: '1200 per minute',
      session_delete: '600 per minute',
    });
    expect(DEFAULT_RATE_LIMITS.call).toEqual([{ limit: 1200, windowSeconds: 60, text: '1200 per minute' }]);
    expect(Object.keys(DEFAULT_RATE_LIMITS).sort()).toEqual(['call', 'default', 'session_delete', 'tools']);
  });
});

describe('parseRateLimitStorage', () => {
  it.each([
    ['memory', { kind: 'memory', display: 'memory' }],
    ['memory://', { kind: 'memory', display: 'memory' }],
    ['', { kind: 'memory', display: 'memory' }],
    ['redis://localhost:6379', { kind: 'redis', url: 'redis://localhost:6379', display: 'redis://localhost:6379' }],
    ['redis://127.0.0.1:6390/2', { kind: 'redis', url: 'redis://127.0.0.1:6390/2', display: 'redis://127.0.0.1:6390/2' }],
    ['rediss://cache.internal', { kind: 'redis', url: 'rediss://cache.internal', display: 'rediss://cache.internal' }],
    // credentials never reach the display form
    ['redis://gw:s3cret-pw@cache.internal:6380/1', { kind: 'redis', url: 'redis://gw:s3cret-pw@cache.internal:6380/1', display: 'redis://cache.internal:6380/1' }],
    ['redis://:s3cret-pw@cache.internal', { kind: 'redis', url: 'redis://:s3cret-pw@cache.internal', display: 'redis://cache.internal' }],
  ])('%j', (spec, expected) => {
    expect(parseRateLimitStorage(spec, '--rate-limit-storage')).toEqual(expected);
  });

  it.each([
    ['memcached://cache:11211', '--rate-limit-storage: unsupported scheme "memcached:"'],
    ['http://user:s3cret-pw@cache', '--rate-limit-storage: unsupported scheme "http:"'],
    ['not a url s3cret-pw', '--rate-limit-storage: expected "memory" or a redis://'],
    ['redis://:s3cret-pw@cache/abc', '--rate-limit-storage: the redis URL path must be a database number'],
  ])('%j fails without echoing the value', (spec, message) => {
    let error: unknown;
    try {
      parseRateLimitStorage(spec, '--rate-limit-storage');
    } catch (err) {
      error = err;
    }
    expect(error).toBeInstanceOf(RateLimitSpecError);
    expect((error as Error).message).toContain(message);
    expect((error as Error).message).not.toContain('s3cret-pw');
  });
});
