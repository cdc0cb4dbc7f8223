import type { InputRequiredResult, GetPromptResult } from '@modelcontextprotocol/server';
import { isInputRequiredResult } from '../../downstream/connection.js';
import type { ToolAnswer } from '../calls/toolAnswer.js';
import { GetPromptResultSchema } from '@modelcontextprotocol/core';
import { GatewayError } from '../../errors.js';
import { invalid, optionalObject, optionalString, requiredString, type Args } from '../arguments.js';
import { UNLISTED_PROMPT, type OfferLists, type OperationContext } from '../context.js';
import { jsonResult } from '../results.js';
import { authorizePrompt, authorizeServer } from './access.js';
import { connectionFor } from './lease.js';
import { downstreamRequestAsking } from './downstreamRequest.js';
import { quarantined } from '../pins/quarantine.js';

/** The get_prompt meta-tool: `server`, `prompt` (the server's own name) and string `arguments`; without `prompt`, the agent's prompts there. */
export function getPromptOperation(catalog: OfferLists): (ctx: OperationContext, args: Args) => Promise<ToolAnswer> {
  return async (ctx, args) => {
    const server = requiredString(args, 'server', 'a server name from list_servers');
    const prompt = optionalString(args, 'prompt');
    if (prompt !== undefined && prompt !== '') {
      const promptArgs = promptArguments(args, 'arguments');
      await refuseQuarantined(ctx, catalog, server, prompt);
      const result = await getPromptOn(ctx, server, prompt, promptArgs);
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

/**
 * Pins, after the policy's checks: a prompt withheld from the server's list is refused
 * (TOOL_QUARANTINED), and with enforced pins so is one the server never listed (it was never
 * checked against the lockfile): PROMPT_NOT_FOUND, as for a prompt that does not exist.
 */
async function refuseQuarantined(ctx: OperationContext, catalog: OfferLists, server: string, prompt: string): Promise<void> {
  if (catalog.untrustedPrompt === undefined) return;
  authorizeServer(ctx, server);
  authorizePrompt(ctx, server, prompt);
  const reason = await catalog.untrustedPrompt(connectionFor(ctx, server), prompt);
  if (reason === UNLISTED_PROMPT) throw promptNotFound(server, prompt);
  if (reason !== undefined) throw quarantined('prompt', server, prompt, reason);
}

function promptNotFound(server: string, prompt: string): GatewayError {
  return new GatewayError('PROMPT_NOT_FOUND', `Prompt '${prompt}' not found on server '${server}'`, { server });
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
  return downstreamRequestAsking(ctx, connection, spec, { method: 'prompts/get', params: { name: prompt, arguments: promptArgs } }, GetPromptResultSchema, () =>
    promptNotFound(server, prompt),
  );
}
