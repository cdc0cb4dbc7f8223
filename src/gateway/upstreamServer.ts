import { randomUUID } from 'node:crypto';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  InitializeRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  LoggingLevelSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
} from '@modelcontextprotocol/core';
import { Server, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { HandlerResultTypeMap, RequestMethod, RequestTypeMap, ServerCapabilities, ServerContext, ServerRequest, Transport } from '@modelcontextprotocol/server';
import { z } from 'zod';
import { protocolError } from '../protocolError.js';
import { VERSION } from '../version.js';
import { refuseInvalidParams, type ParamsSchema } from './invalidParams.js';
import type { Gateway } from './gateway.js';
import { CLIENT_REQUEST_TIMEOUT_MS, CLIENT_RESULT_SCHEMAS, isClientRequestMethod, type InstanceScope, type UpstreamSession } from './serverRequests.js';

const INSTRUCTIONS =
  'Gateway to several MCP servers. Call list_servers, then get_server_tools for a server, then execute_tool. ' +
  'Pass agent_id on every call if you were given one.';
const NATIVE_INSTRUCTIONS = 'Gateway to several MCP servers: their tools, resources and prompts are offered directly, named <server>__<name>.';

const SetLevelParams = z.looseObject({ level: z.unknown() });

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
): { server: Server; session: UpstreamSession; detach: () => void; connect: (transport: Transport) => Promise<void> } {
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
      if (!isClientRequestMethod(request.method)) return Promise.reject(new Error(`cannot forward ${request.method}`));
      return server.request(request, CLIENT_RESULT_SCHEMAS[request.method], { signal, timeout: CLIENT_REQUEST_TIMEOUT_MS });
    },
  };
  // The schema of every request served, so bad params are refused before the SDK sees them (invalidParams.ts).
  const schemas = new Map<string, ParamsSchema>([['initialize', InitializeRequestSchema]]);
  const handle = <M extends RequestMethod>(
    method: M,
    schema: ParamsSchema,
    handler: (request: RequestTypeMap[M], ctx: ServerContext) => HandlerResultTypeMap[M] | Promise<HandlerResultTypeMap[M]>,
  ): void => {
    schemas.set(method, schema);
    server.setRequestHandler(method, handler);
  };
  handle('tools/list', ListToolsRequestSchema, async () => ({
    tools: native ? await gateway.native.tools(session) : gateway.listTools(),
  }));
  if (native) {
    const surface = gateway.native;
    handle('resources/list', ListResourcesRequestSchema, async () => ({ resources: await surface.resources(session) }));
    handle('resources/templates/list', ListResourceTemplatesRequestSchema, async () => ({
      resourceTemplates: await surface.resourceTemplates(session),
    }));
    handle('resources/read', ReadResourceRequestSchema, (request, ctx) => surface.readResource(request.params.uri, ctx, session));
    handle('resources/subscribe', SubscribeRequestSchema, async (request, ctx) => {
      await surface.subscribe(request.params.uri, ctx, session, true);
      return {};
    });
    handle('resources/unsubscribe', UnsubscribeRequestSchema, async (request, ctx) => {
      await surface.subscribe(request.params.uri, ctx, session, false);
      return {};
    });
    handle('prompts/list', ListPromptsRequestSchema, async () => ({ prompts: await surface.prompts(session) }));
    handle('prompts/get', GetPromptRequestSchema, (request, ctx) => surface.getPrompt(request.params.name, request.params.arguments, ctx, session));
    handle('completion/complete', CompleteRequestSchema, (request, ctx) => surface.complete(request.params, ctx, session));
  }
  // Replaces the SDK's own handler, which keeps levels where the relay cannot see them. The
  // level is checked here rather than by the SDK, which would answer a bad one with -32603.
  server.setRequestHandler('logging/setLevel', { params: SetLevelParams }, (params) => {
    const level = LoggingLevelSchema.safeParse(params.level);
    if (!level.success) {
      throw protocolError(ProtocolErrorCode.InvalidParams, `logging/setLevel: 'level' must be one of ${LoggingLevelSchema.options.join(', ')}`);
    }
    gateway.setLogLevel(session, level.data);
    return {};
  });
  handle('tools/call', CallToolRequestSchema, (request, ctx) => gateway.callTool(request.params.name, request.params.arguments, ctx, session));
  const detach = gateway.attachSession(session);
  const connect = async (transport: Transport): Promise<void> => {
    await server.connect(transport);
    refuseInvalidParams(transport, schemas);
  };
  return { server, session, detach, connect };
}
