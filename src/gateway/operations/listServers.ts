import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { optionalBoolean, type Args } from '../arguments.js';
import type { OperationContext } from '../context.js';
import { jsonResult } from '../results.js';
import { redactUrl } from '../urls.js';

export async function listServers(ctx: OperationContext, args: Args): Promise<CallToolResult> {
  const includeMetadata = optionalBoolean(args, 'include_metadata');
  const visible = ctx.snapshot.policy.visibleServers(ctx.agentId, ctx.snapshot.serverNames);
  const servers = visible.map((name) => {
    const spec = ctx.snapshot.servers.get(name);
    const entry: Record<string, unknown> = { name, description: spec?.description ?? null };
    if (includeMetadata && spec) {
      entry['transport'] = spec.transport;
      // Never args or env: they routinely carry paths and secrets.
      if (spec.command !== undefined) entry['command'] = spec.command;
      if (spec.url !== undefined) entry['url'] = redactUrl(spec.url);
      entry['status'] = ctx.pool.get(name)?.state ?? 'idle';
    }
    return entry;
  });
  return jsonResult({ servers });
}
