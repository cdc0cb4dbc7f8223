import { describe, expect, it } from 'vitest';
import { CODE_MEANINGS, ERROR_CODES, GatewayError, JSON_RPC_INTERNAL_ERROR, JSON_RPC_INVALID_PARAMS, JSON_RPC_INVALID_REQUEST } from '../../src/errors.js';

describe('CODE_MEANINGS', () => {
  it('has exactly one entry per error code', () => {
    expect(Object.keys(CODE_MEANINGS).sort()).toEqual([...ERROR_CODES].sort());
    for (const code of ERROR_CODES) {
      const meaning = CODE_MEANINGS[code];
      expect(meaning.http, code).toBeGreaterThanOrEqual(400);
      expect([JSON_RPC_INVALID_REQUEST, JSON_RPC_INVALID_PARAMS, JSON_RPC_INTERNAL_ERROR], code).toContain(meaning.jsonRpc);
      expect(['DENY', 'TIMEOUT', 'ERROR'], code).toContain(meaning.decision);
    }
  });

  it('identity and policy refusals are DENY, a timeout TIMEOUT, the rest ERROR', () => {
    const deny = ERROR_CODES.filter((c) => CODE_MEANINGS[c].decision === 'DENY');
    expect(deny.sort()).toEqual(
      [
        'AGENT_MISMATCH',
        'APPROVAL_DENIED',
        'APPROVAL_UNAVAILABLE',
        'DENIED_BY_POLICY',
        'FALLBACK_AGENT_NOT_IN_RULES',
        'INVALID_AGENT_ID',
        'MISSING_AGENT_ID',
        'NO_FALLBACK_CONFIGURED',
        'TOOL_QUARANTINED',
      ].sort(),
    );
    expect(ERROR_CODES.filter((c) => CODE_MEANINGS[c].decision === 'TIMEOUT')).toEqual(['TIMEOUT']);
  });

  it('the REST statuses', () => {
    const status = (code: keyof typeof CODE_MEANINGS): number => CODE_MEANINGS[code].http;
    expect([status('INVALID_ARGUMENT'), status('MISSING_AGENT_ID'), status('NO_FALLBACK_CONFIGURED')]).toEqual([400, 400, 400]);
    expect([status('DENIED_BY_POLICY'), status('INVALID_AGENT_ID'), status('AGENT_MISMATCH'), status('FALLBACK_AGENT_NOT_IN_RULES')]).toEqual([403, 403, 403, 403]);
    expect([status('SERVER_NOT_FOUND'), status('TOOL_NOT_FOUND')]).toEqual([404, 404]);
    expect(status('SESSION_CONFLICT')).toBe(409);
    expect(status('TOO_MANY_SESSIONS_FOR_IDENTITY')).toBe(429);
    expect([status('SERVER_UNAVAILABLE'), status('TOO_MANY_SESSIONS')]).toEqual([503, 503]);
    expect(status('RESULT_TOO_LARGE')).toBe(502);
    expect(status('TIMEOUT')).toBe(504);
    expect([status('INTERNAL_ERROR'), status('RESOURCE_NOT_FOUND'), status('PROMPT_NOT_FOUND')]).toEqual([500, 500, 500]);
  });

  it('only refusals that must not reveal a resource or prompt hide the target', () => {
    expect(ERROR_CODES.filter((c) => CODE_MEANINGS[c].hidesTarget).sort()).toEqual(
      ['DENIED_BY_POLICY', 'PROMPT_NOT_FOUND', 'RESOURCE_NOT_FOUND', 'SERVER_NOT_FOUND'].sort(),
    );
  });

  it('a GatewayError carries its code', () => {
    expect(new GatewayError('TIMEOUT', 'late').code).toBe('TIMEOUT');
  });
});
