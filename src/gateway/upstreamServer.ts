import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { VERSION } from '../version.js';
import type { Gateway } from './gateway.js';
import type { UpstreamSession } from './serverRequests.js';

const INSTRUCTIONS =
  'Gateway to several MCP servers. Call list_servers, then get_server_tools for a server, then execute_tool. ' +
  'Pass agent_id on every call if you were given one.';

const SESSION_REQUEST_TIMEOUT_MS = 10 * 60_000;

/**
 * One SDK Server per client connection (the SDK binds a Server to one transport). The
 * low-level Server is used, not McpServer: tool schemas are plain JSON and every error
 * is shaped by the gateway itself.
 */
export function createUpstreamServer(gateway: Gateway): { server: Server; session: UpstreamSession; detach: () => void } {
  const server = new Server(
    { name: 'agent-mcp-gateway', version: VERSION },
    { capabilities: { tools: { listChanged: true } }, instructions: INSTRUCTIONS },
  );
  const session: UpstreamSession = {
    id: randomUUID(),
    clientCapabilities: () => server.getClientCapabilities(),
    notifyToolListChanged: () => server.sendToolListChanged(),
    request: (request: ServerRequest, signal: AbortSignal) => {
      const options = { signal, timeout: SESSION_REQUEST_TIMEOUT_MS };
      switch (request.method) {
        case 'sampling/createMessage':
          return server.request(request, CreateMessageResultSchema, options);
        case 'elicitation/create':
          return server.request(request, ElicitResultSchema, options);
        case 'roots/list':
          return server.request(request, ListRootsResultSchema, options);
        default:
          return Promise.reject(new Error(`cannot forward ${request.method}`));
      }
    },
  };
  server.setRequestHandler(ListToolsRequestSchema, () => ({ tools: gateway.listTools() }));
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    gateway.callTool(request.params.name, request.params.arguments, extra, session),
  );
  const detach = gateway.attachSession(session);
  return { server, session, detach };
}
