import type { Tool } from '@modelcontextprotocol/server';

// The tools the gateway itself offers. Descriptions teach the three-step workflow in few
// words: the whole tools/list answer must stay under 1,000 tokens (chars / 4), because
// it sits in every conversation's context.

const AGENT_ID = { type: 'string', description: 'Your agent id, if you were given one' } as const;

const LIST_SERVERS: Tool = {
  name: 'list_servers',
  description: 'Step 1: list the MCP servers you may use, with counts of their tools, resources and prompts. Next: get_server_tools, then execute_tool.',
  inputSchema: {
    type: 'object',
    properties: {
      agent_id: AGENT_ID,
      include_metadata: { type: 'boolean', description: 'Add transport, command, url, status' },
    },
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
};

const SEARCH_QUERY = { type: 'string', description: 'What you want to do' } as const;
const SEARCH_LIMIT = { type: 'integer', minimum: 1, description: 'Default 5, at most 20' } as const;
const SEARCH_SERVERS = { type: 'array', items: { type: 'string' }, description: 'Only these servers (globs)' } as const;

const SEARCH_TOOLS: Tool = {
  name: 'search_tools',
  description: 'Find tools for a task on all your servers, best first. get_server_tools with names gives their schemas.',
  inputSchema: {
    type: 'object',
    properties: { agent_id: AGENT_ID, query: SEARCH_QUERY, limit: SEARCH_LIMIT, servers: SEARCH_SERVERS },
    required: ['query'],
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
};

/** Native mode's search_tools (--native-search): `tool` is the name to call. */
export const NATIVE_SEARCH_TOOLS: Tool = {
  ...SEARCH_TOOLS,
  description: 'Find tools for a task, best first: each result names a tool you can call.',
};

const GET_SERVER_TOOLS: Tool = {
  name: 'get_server_tools',
  description: 'Step 2: get the definitions of the tools you may call on a server. Pass them to execute_tool.',
  inputSchema: {
    type: 'object',
    properties: {
      agent_id: AGENT_ID,
      server: { type: 'string', description: 'Server name from list_servers' },
      names: { type: 'string', description: 'Only these tools (comma-separated)' },
      pattern: { type: 'string', description: "Only tools matching this glob, e.g. 'get_*'" },
      max_schema_tokens: { type: 'integer', minimum: 0, description: 'Token budget for the returned definitions' },
    },
    required: ['server'],
  },
  annotations: { readOnlyHint: true, openWorldHint: false },
};

const EXECUTE_TOOL: Tool = {
  name: 'execute_tool',
  description: "Step 3: call a tool on a server. Returns the server's result unchanged.",
  inputSchema: {
    type: 'object',
    properties: {
      agent_id: AGENT_ID,
      server: { type: 'string', description: 'Server name' },
      tool: { type: 'string', description: 'Tool name from get_server_tools' },
      args: { type: 'object', description: "Arguments matching the tool's inputSchema" },
      timeout_ms: { type: 'integer', minimum: 1, description: 'Timeout in milliseconds' },
    },
    required: ['server', 'tool'],
  },
};

const READ_RESOURCE: Tool = {
  name: 'read_resource',
  description: 'Read a resource of a server by URI. Without uri: list the resources and URI templates you may read there.',
  inputSchema: {
    type: 'object',
    properties: {
      agent_id: AGENT_ID,
      server: { type: 'string', description: 'Server name' },
      uri: { type: 'string', description: "The server's resource URI" },
    },
    required: ['server'],
  },
  annotations: { readOnlyHint: true },
};

const GET_PROMPT: Tool = {
  name: 'get_prompt',
  description: "Get a server's prompt filled in with arguments. Without prompt: list the prompts you may get there.",
  inputSchema: {
    type: 'object',
    properties: {
      agent_id: AGENT_ID,
      server: { type: 'string', description: 'Server name' },
      prompt: { type: 'string', description: 'Prompt name' },
      arguments: { type: 'object', description: 'Prompt arguments (string values)' },
    },
    required: ['server'],
  },
  annotations: { readOnlyHint: true },
};

const GET_GATEWAY_STATUS: Tool = {
  name: 'get_gateway_status',
  description: 'Debug: gateway health, servers, reloads and metrics.',
  inputSchema: { type: 'object', properties: { agent_id: AGENT_ID } },
  annotations: { readOnlyHint: true, openWorldHint: false },
};

export function metaTools(debug: boolean): Tool[] {
  const tools = [LIST_SERVERS, SEARCH_TOOLS, GET_SERVER_TOOLS, EXECUTE_TOOL, READ_RESOURCE, GET_PROMPT];
  if (debug) tools.push(GET_GATEWAY_STATUS);
  return tools;
}
