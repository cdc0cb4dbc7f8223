import type { InputRequiredResult, GetPromptResult } from '@modelcontextprotocol/server';
import { isInputRequiredResult } from '../../downstream/connection.js';
import type { ToolAnswer } from '../calls/toolAnswer.js';
import { GetPromptResultSchema } from '@modelcontextprotocol/core';
import { GatewayError } from '../../errors.js';
import { invalid, optionalObject, optionalString, requiredString, type Args } from '../arguments.js';
import type { OfferLists, OperationContext } from '../context.js';
import { jsonResult } from '../results.js';
import { authorizePrompt, authorizeServer } from './access.js';
import { connectionFor } from './lease.js';
import { downstreamRequestAsking } from './downstreamRequest.js';

/** The get_prompt meta-tool: `server`, `prompt` (the server's own name) and string `arguments`; without `prompt`, the agent's prompts there. */
export function getPromptOperation(catalog: OfferLists): (ctx: OperationContext, args: Args) => Promise<ToolAnswer> {
  return async (ctx, args) => {
    const server = requiredString(args, 'server', 'a server name from list_servers');
    const prompt = optionalString(args, 'prompt');
    if (prompt !== undefined && prompt !== '') {
      const result = await getPromptOn(ctx, server, prompt, promptArguments(args, 'arguments'));
      return isInputRequiredResult(result) ? result : jsonResult(result);
    }
    authorizeServer(ctx, server);
    const connection = connectionFor(ctx, server);
    const release = ctx.trackCall(server);
    try {
      const prompts = await catalog.prompts(connection);
      return jsonResult({ server, prompts: prompts.filter((p) => ctx.snapshot.policy.decidePrompt(ctx.agentId, server, p.name).allow) });
    } finally {
      release();
    }
  };
}

export function promptArguments(args: Args, field: string): Record<string, string> {
  const raw = optionalObject(args, field);
  for (const [key, value] of Object.entries(raw)) {
    if (typeof value !== 'string') throw invalid(`${field}.${key}`, `must be a string, got ${value === null ? 'null' : typeof value}`);
  }
  return raw as Record<string, string>;
}

/** The prompt under the policy: its description and messages. */
export async function getPromptOn(
  ctx: OperationContext,
  server: string,
  prompt: string,
  promptArgs: Record<string, string>,
): Promise<GetPromptResult | InputRequiredResult> {
  const spec = authorizeServer(ctx, server);
  authorizePrompt(ctx, server, prompt);
  const connection = connectionFor(ctx, server);
  return downstreamRequestAsking(
    ctx,
    connection,
    spec,
    { method: 'prompts/get', params: { name: prompt, arguments: promptArgs } },
    GetPromptResultSchema,
    () => new GatewayError('PROMPT_NOT_FOUND', `Prompt '${prompt}' not found on server '${server}'`, { server }),
  );
}
