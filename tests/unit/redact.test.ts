import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { REDACTED, redactCredentials, redactSecrets } from '../../src/redact.js';

const R = REDACTED;

describe('redactSecrets', () => {
  it.each([
    // URLs: user and password, user-only tokens, several @, any scheme
    ['conn postgres://app:S3CR3T@db/x failed', `conn postgres://${R}@db/x failed`],
    ['https://ghp_abc@github.com/o/r.git', `https://${R}@github.com/o/r.git`],
    ['redis://:p@ss@cache:6379/0', `redis://${R}@cache:6379/0`],
    ['mongodb+srv://u:p@cluster0.example.net/db?retryWrites=true', `mongodb+srv://${R}@cluster0.example.net/db?retryWrites=true`],
    // key=value and key: value, in URLs, flags, env dumps, JSON, headers
    ['GET /cb?code=1&token=abc&x=2', `GET /cb?code=1&token=${R}&x=2`],
    ['token=abc', `token=${R}`],
    ['API_KEY=sk_live_123 DEBUG=1', `API_KEY=${R} DEBUG=1`],
    ['--password=hunter2 --user=bob', `--password=${R} --user=bob`],
    ['db.password: hunter2', `db.password: ${R}`],
    ['{"client_secret": "abc def", "name": "x"}', `{"client_secret": "${R}", "name": "x"}`],
    ["secret='two words'", `secret='${R}'`],
    ['Authorization: Bearer eyJhbGciOi.abc', `Authorization: ${R}`],
    ['authorization=Basic dXNlcjpwYXNz', `authorization=${R}`],
    ['x-api-key: abc123', `x-api-key: ${R}`],
    ['Cookie: session_id=abc', `Cookie: ${R}`],
    ['GITHUB_TOKEN=ghp_x ACCESS_TOKEN=y', `GITHUB_TOKEN=${R} ACCESS_TOKEN=${R}`],
    // bare Authorization credentials and unmistakable token shapes
    ['curl -H "Bearer abcdef123456"', `curl -H "Bearer ${R}"`],
    ['using ghp_0123456789abcdefghijABCDEFGHIJ now', `using ${R} now`],
    ['key AKIAIOSFODNN7EXAMPLE', `key ${R}`],
    ['jwt eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.dozjgNryP4J3jVmNHl0w5N_XgL0n3I9PlFUP0THsR8U', `jwt ${R}`],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it.each([
    'Server exited with code 1',
    'basic configuration is loaded',
    'tokens_cached: 3',
    'listening on http://127.0.0.1:8080/mcp',
    'monkey=banana',
    'author=jane',
    'Error: connect ECONNREFUSED 127.0.0.1:5432',
  ])('leaves ordinary text alone: %s', (text) => {
    expect(redactSecrets(text)).toBe(text);
  });

  it('is idempotent and never lets a redacted value back out', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 200 }), fc.constantFrom('token=', 'password: ', 'x://u:', 'Bearer '), fc.string({ maxLength: 40 }), (a, key, b) => {
        const once = redactSecrets(`${a} ${key}${b}`);
        expect(redactSecrets(once)).toBe(once);
      }),
    );
  });

  it('takes linear time on long hostile lines', () => {
    for (const line of ['a.'.repeat(100_000), 'x://'.repeat(50_000), 'a'.repeat(200_000) + '=', 'Bearer '.repeat(30_000), 'k:'.repeat(100_000)]) {
      const started = performance.now();
      redactSecrets(line);
      // Functional bound, not a benchmark: quadratic behavior on 200 kB takes minutes.
      expect(performance.now() - started).toBeLessThan(5_000);
    }
  });
});

describe("redactCredentials (the gateway's own diagnostics)", () => {
  it('keeps configuration paths and messages, removes URL credentials and token shapes', () => {
    const message = 'mcpServers.a.env.TOKEN: Environment variable "X" referenced in configuration but not set';
    expect(redactCredentials(message)).toBe(message);
    expect(redactCredentials('mcpServers.db.url: postgres://app:S3CR3T@db/x is not http(s)')).toBe(`mcpServers.db.url: postgres://${R}@db/x is not http(s)`);
  });
});
