import { describe, expect, it } from 'vitest';
import type { FileReloadStatus } from '../../../src/gateway/reload/ledger.js';
import { callerMetrics, callerReload } from '../../../src/gateway/status.js';

const file = (over: Partial<FileReloadStatus>): FileReloadStatus => ({
  attempts: 1,
  successes: 1,
  last_attempt: null,
  last_success: null,
  last_error: null,
  warnings: [],
  revision: 2,
  ...over,
});

describe('callerReload', () => {
  const view = callerReload(
    {
      mcp_config: file({
        warnings: ['mcpServers.db.oauth: ignored', 'mcpServers.secret_db.oauth: ignored', 'mcpServers["a.b"].timeout: ignored', '(top level): odd'],
        failed_servers: ['db', 'secret_db'],
        last_error: 'mcpServers.db.url: postgres://app:S3CR3T@db/x is not http(s)',
      }),
      gateway_rules: file({
        warnings: [
          'agents.alice.allow.servers[1]: server "phantom" is not configured',
          'agents.alice2.allow.servers[0]: server "x" is not configured',
          'agents.mallory.allow.servers[0]: server "ghost" is not configured',
          'agents["odd id"].allow.servers[0]: server "y" is not configured',
          'defaults.debug: set',
        ],
      }),
    },
    'alice',
    (server) => ['db', 'a.b'].includes(server),
  );

  it("keeps the caller's own warnings and those about servers it may use, and no other agent's or server's", () => {
    expect(view.gateway_rules.warnings).toEqual(['agents.alice.allow.servers[1]: server "phantom" is not configured', 'defaults.debug: set']);
    expect(view.mcp_config.warnings).toEqual(['mcpServers.db.oauth: ignored', 'mcpServers["a.b"].timeout: ignored', '(top level): odd']);
    expect(view.mcp_config.failed_servers).toEqual(['db']);
  });

  it('redacts credentials in messages but keeps their paths', () => {
    expect(view.mcp_config.last_error).toBe('mcpServers.db.url: postgres://[REDACTED]@db/x is not http(s)');
  });
});

describe('callerReload: last_error names only what the caller may see', () => {
  it('drops the blocks of failed servers it may not use and the issue lines about other agents', () => {
    const view = callerReload(
      {
        mcp_config: file({
          last_error: [
            '2 server entries in /x/.mcp.json did not load:',
            'server "db" listed as failed, not started:',
            'error   mcpServers.db.env.TOKEN: Environment variable "T" referenced in configuration but not set',
            'server "secret_db" keeps its last good configuration:',
            'error   mcpServers.secret_db.url: not a URL',
          ].join('\n'),
        }),
        gateway_rules: file({
          last_error: [
            'Invalid gateway rules in /x/rules.json (2 errors):',
            'error   agents.alice.allow.servers[0]: bad pattern',
            'error   agents.mallory.allow.servers[0]: bad pattern',
          ].join('\n'),
        }),
      },
      'alice',
      (server) => server === 'db',
    );
    expect(view.mcp_config.last_error).toBe(
      [
        '2 server entries in /x/.mcp.json did not load:',
        'server "db" listed as failed, not started:',
        'error   mcpServers.db.env.TOKEN: Environment variable "T" referenced in configuration but not set',
      ].join('\n'),
    );
    expect(view.gateway_rules.last_error).toBe(
      ['Invalid gateway rules in /x/rules.json (2 errors):', 'error   agents.alice.allow.servers[0]: bad pattern'].join('\n'),
    );
  });
});

describe('callerMetrics', () => {
  it("keeps every operation's totals and only the caller's line of by_agent", () => {
    const metrics = { by_operation: { execute_tool: 3 }, by_agent: { alice: { execute_tool: 1 }, mallory: { execute_tool: 2 } } };
    expect(callerMetrics(metrics, 'alice')).toEqual({ by_operation: { execute_tool: 3 }, by_agent: { alice: { execute_tool: 1 } } });
    expect(callerMetrics(metrics, 'constructor')).toEqual({ by_operation: { execute_tool: 3 }, by_agent: {} });
  });
});
