// What a call to an untrusted tool or prompt answers, and how a change of the pins in force
// reaches the lists the gateway has cached.

import type { DownstreamConnection } from '../../downstream/connection.js';
import type { ToolVetter } from '../../downstream/toolList.js';
import { MAX_DEFINITION_DEPTH, MAX_PINNED_ITEMS, MAX_PINNED_NAME_CHARS } from '../../config/lockFile.js';
import { GatewayError } from '../../errors.js';
import type { OperationContext } from '../context.js';
import type { PinStore } from './pinStore.js';

const WHY: Readonly<Record<string, string>> = {
  new: 'it is not in the lockfile (a new or renamed item)',
  changed: 'its definition differs from the one in the lockfile',
  'too-deep': `its definition nests deeper than ${MAX_DEFINITION_DEPTH} levels, so it cannot be pinned`,
  'name-too-long': `its name is longer than ${MAX_PINNED_NAME_CHARS} characters, so it cannot be pinned`,
  'too-many': `the lockfile already pins ${MAX_PINNED_ITEMS} items of this kind for the server`,
};
/** Reasons no `pin --accept` can lift: the server must change the item. */
const UNPINNABLE = new Set(['too-deep', 'name-too-long']);

/** TOOL_QUARANTINED for an item withheld for `reason`, saying how to review and accept it. */
export function quarantined(kind: 'tool' | 'prompt', server: string, name: string, reason: string): GatewayError {
  const why = WHY[reason] ?? 'it is not trusted';
  const how = UNPINNABLE.has(reason)
    ? 'It stays quarantined until the server changes it.'
    : `Review it with \`agent-mcp-gateway pin --diff\`, then accept it with \`agent-mcp-gateway pin --accept ${server}/${name}\`.`;
  return new GatewayError(
    'TOOL_QUARANTINED',
    `The ${kind} '${name}' of server '${server}' is quarantined: ${why}. ${how}`,
    kind === 'tool' ? { server, tool: name } : { server },
  );
}

/** TOOL_QUARANTINED when `tool` was withheld from the connection's list, else undefined (the tool does not exist). */
export function quarantinedTool(connection: DownstreamConnection, server: string, tool: string): GatewayError | undefined {
  const reason = connection.withheldTools?.get(tool);
  return reason === undefined ? undefined : quarantined('tool', server, tool, reason);
}

/**
 * TOOL_QUARANTINED for a native name that no listed tool has but a withheld one would
 * (`nameOf` makes native names), when the agent's rules allow that tool; else undefined.
 */
export function quarantinedNative(ctx: OperationContext, name: string, nameOf: (server: string, tool: string) => string): GatewayError | undefined {
  const { policy, serverNames } = ctx.snapshot;
  for (const server of policy.visibleServers(ctx.agentId, serverNames)) {
    for (const [tool, reason] of ctx.pool.get(server)?.withheldTools ?? []) {
      if (nameOf(server, tool) !== name || !policy.decideTool(ctx.agentId, server, tool).allow) continue;
      ctx.note.server = server;
      ctx.note.tool = tool;
      return quarantined('tool', server, tool, reason);
    }
  }
  return undefined;
}

/**
 * The pins changed: every cached tool list is vetted again (without asking the servers), prompt
 * lists are fetched again when next needed, and native clients hear of what changed.
 */
export function vetAgain(
  connections: readonly DownstreamConnection[],
  native: { readonly catalog: { invalidate(connection: DownstreamConnection, kind: 'prompts'): void }; toolsChanged(): void },
): void {
  for (const connection of connections) {
    connection.revetTools();
    native.catalog.invalidate(connection, 'prompts');
  }
  native.toolsChanged();
}

/** The connections' hook into the pins: each tool list fetched is vetted before it is cached. */
export function toolVetter(pins: PinStore): ToolVetter {
  return (server, tools) => {
    const vetted = pins.vet('tools', server, tools);
    return { tools: vetted.items as typeof tools, withheld: vetted.withheld };
  };
}
