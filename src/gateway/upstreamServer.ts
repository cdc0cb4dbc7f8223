import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  CreateMessageResultSchema,
  ElicitResultSchema,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListRootsResultSchema,
  ListToolsRequestSchema,
  ErrorCode,
  LoggingLevelSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ServerCapabilities,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';
import { protocolError } from '../protocolError.js';
import { VERSION } from '../version.js';
import type { Gateway } from './gateway.js';
import type { InstanceScope, UpstreamSession } from './serverRequests.js';

const INSTRUCTIONS =
  'Gateway to several MCP servers. Call list_servers, then get_server_tools for a server, then execute_tool. ' +
  'Pass agent_id on every call if you were given one.';
const NATIVE_INSTRUCTIONS =
  'Gateway to several MCP servers: their tools, resources and prompts are offered directly, named <server>__<name>.';

const SESSION_REQUEST_TIMEOUT_MS = 10 * 60_000;

// The SDK's SetLevelRequestSchema would answer a bad level with -32603 (a failed parse is an
// internal error to it); the level is checked in the handler instead, for a -32602 naming it.
const SetLevelRequest = z.object({ method: z.literal('logging/setLevel'), params: z.looseObject({ level: z.unknown() }) });

/**
 * One SDK Server per client connection (the SDK binds a Server to one transport): the
 * stdio peer, or one Streamable HTTP session. The low-level Server is used, not McpServer:
 * tool schemas are plain JSON and every error is shaped by the gateway itself.
 */
export interface UpstreamSessionFields {
  /** Default: a random UUID. HTTP mode passes the Mcp-Session-Id. */
  readonly id?: string;
  /** An HTTP session authenticated with a per-agent credential: every call acts as this agent. */
  readonly boundAgent?: string;
  /** Recorded as session_id in the audit lines of this session's calls. */
  readonly auditSessionId?: string;
  /** The session servers with isolation "session" run one instance per (HTTP mode: the MCP session). */
  readonly instanceScope?: InstanceScope;
}

export function createUpstreamServer(
  gateway: Gateway,
  fields: UpstreamSessionFields = {},
): { server: Server; session: UpstreamSession; detach: () => void } {
  const native = gateway.mode !== 'meta';
  // Meta mode offers the gateway's own tools only; resources and prompts are reached through them.
  // Logging in every mode: downstream servers' log messages are relayed (see logRelay.ts).
  const capabilities: ServerCapabilities = native
    ? {
        tools: { listChanged: true },
        resources: { subscribe: true, listChanged: true },
        prompts: { listChanged: true },
        completions: {},
        logging: {},
      }
    : { tools: { listChanged: true }, logging: {} };
  const server = new Server(
    { name: 'agent-mcp-gateway', version: VERSION },
    { capabilities, instructions: gateway.mode === 'native' ? NATIVE_INSTRUCTIONS : INSTRUCTIONS },
  );
  const session: UpstreamSession = {
    id: fields.id ?? randomUUID(),
    mcp: true,
    ...(fields.boundAgent !== undefined ? { boundAgent: fields.boundAgent } : {}),
    ...(fields.auditSessionId !== undefined ? { auditSessionId: fields.auditSessionId } : {}),
    ...(fields.instanceScope !== undefined ? { instanceScope: fields.instanceScope } : {}),
    clientCapabilities: () => server.getClientCapabilities(),
    notifyToolListChanged: () => server.sendToolListChanged(),
    notifyListChanged: (kind) =>
      kind === 'tools' ? server.sendToolListChanged() : kind === 'resources' ? server.sendResourceListChanged() : server.sendPromptListChanged(),
    notifyResourceUpdated: (uri) => server.sendResourceUpdated({ uri }),
    notifyLog: (params) => server.sendLoggingMessage(params),
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
  server.setRequestHandler(ListToolsRequestSchema, async () => ({
    tools: native ? await gateway.native.tools(session) : gateway.listTools(),
  }));
  if (native) {
    const surface = gateway.native;
    server.setRequestHandler(ListResourcesRequestSchema, async () => ({ resources: await surface.resources(session) }));
    server.setRequestHandler(ListResourceTemplatesRequestSchema, async () => ({
      resourceTemplates: await surface.resourceTemplates(session),
    }));
    server.setRequestHandler(ReadResourceRequestSchema, (request, extra) => surface.readResource(request.params.uri, extra, session));
    server.setRequestHandler(SubscribeRequestSchema, async (request, extra) => {
      await surface.subscribe(request.params.uri, extra, session, true);
      return {};
    });
    server.setRequestHandler(UnsubscribeRequestSchema, async (request, extra) => {
      await surface.subscribe(request.params.uri, extra, session, false);
      return {};
    });
    server.setRequestHandler(ListPromptsRequestSchema, async () => ({ prompts: await surface.prompts(session) }));
    server.setRequestHandler(GetPromptRequestSchema, (request, extra) =>
      surface.getPrompt(request.params.name, request.params.arguments, extra, session),
    );
    server.setRequestHandler(CompleteRequestSchema, (request, extra) => surface.complete(request.params, extra, session));
  }
  // Replaces the SDK's own handler, which keeps levels where the relay cannot see them.
  server.setRequestHandler(SetLevelRequest, (request) => {
    const level = LoggingLevelSchema.safeParse(request.params.level);
    if (!level.success) {
      throw protocolError(ErrorCode.InvalidParams, `logging/setLevel: 'level' must be one of ${LoggingLevelSchema.options.join(', ')}`);
    }
    gateway.setLogLevel(session, level.data);
    return {};
  });
  server.setRequestHandler(CallToolRequestSchema, (request, extra) =>
    gateway.callTool(request.params.name, request.params.arguments, extra, session),
  );
  const detach = gateway.attachSession(session);
  return { server, session, detach };
}
