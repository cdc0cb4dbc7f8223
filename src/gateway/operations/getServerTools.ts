import type { CallToolResult } from '@modelcontextprotocol/sdk/types.js';
import { patternProblem } from '../../policy/pattern.js';
import { invalid, optionalInteger, optionalNameList, optionalString, requiredString, type Args } from '../arguments.js';
import type { OperationContext } from '../context.js';
import { jsonResult } from '../results.js';
import { selectTools } from '../toolView.js';
import { authorizeServer } from './access.js';
import { connectionFor } from './connection.js';
import { listToolsOf } from './listTools.js';

export async function getServerTools(ctx: OperationContext, args: Args): Promise<CallToolResult> {
  const server = requiredString(args, 'server', 'a server name from list_servers');
  const names = optionalNameList(args, 'names');
  const pattern = optionalString(args, 'pattern');
  if (pattern !== undefined && pattern !== '') {
    const problem = patternProblem(pattern);
    if (problem) throw invalid('pattern', problem);
  }
  const maxTokens = optionalInteger(args, 'max_schema_tokens', 0);
  authorizeServer(ctx, server);

  const connection = connectionFor(ctx, server);
  const release = ctx.trackCall(server);
  let all;
  try {
    all = await listToolsOf(connection, server);
  } finally {
    release();
  }
  const policy = ctx.snapshot.policy;
  const selected = selectTools(all, {
    ...(names ? { names } : {}),
    ...(pattern ? { pattern } : {}),
    ...(maxTokens !== undefined ? { maxTokens } : {}),
    allowed: (tool) => policy.decideTool(ctx.agentId, server, tool).allow,
  });
  return jsonResult({
    server,
    tools: selected.tools,
    total_available: selected.totalAvailable,
    returned: selected.tools.length,
    tokens_used: selected.tokensUsed,
    truncated: selected.truncated,
  });
}
