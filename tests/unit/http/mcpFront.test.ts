// /mcp is loaded at its first request: before that it holds nothing, closes at once, and
// after close() it refuses instead of loading.
import type { IncomingMessage, ServerResponse } from 'node:http';
import { describe, expect, it } from 'vitest';
import { McpFront } from '../../../src/http/mcpFront.js';
import type { McpSessionsOptions } from '../../../src/http/mcpSessions.js';
import type { ModernMcpOptions } from '../../../src/http/modernMcp.js';
import { HttpError } from '../../../src/http/respond.js';

describe('McpFront', () => {
  it('has no sessions and closes at once before any /mcp request, then refuses with 503', async () => {
    const front = new McpFront({} as unknown as McpSessionsOptions, {} as unknown as ModernMcpOptions);
    expect(front.size).toBe(0);
    await front.close();
    await front.close();
    const err = await front.handle({} as IncomingMessage, {} as ServerResponse, { kind: 'anonymous', key: 'anonymous' }, undefined).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(HttpError);
    expect((err as HttpError).status).toBe(503);
    expect((err as HttpError).code).toBe('SHUTTING_DOWN');
  });
});
