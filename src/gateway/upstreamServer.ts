import { randomUUID } from 'node:crypto';
import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  CompleteRequestSchema,
  GetPromptRequestSchema,
  InitializeRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  ErrorCode,
  LoggingLevelSchema,
  ReadResourceRequestSchema,
  SubscribeRequestSchema,
  UnsubscribeRequestSchema,
  type ServerCapabilities,
  type ServerRequest,
} from '@modelcontextprotocol/sdk/types.js';
import type { Transport } from '@modelcontextprotocol/sdk/shared/transport.js';
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
  const handle: typeof server.setRequestHandler = (schema, handler) => {
    // Every schema passed here is one of the SDK's zod objects with a method literal.
    schemas.set((schema as unknown as { shape: { method: { value: string } } }).shape.method.value, schema as unknown as ParamsSchema);
    server.setRequestHandler(schema, handler);
  };
  handle(ListToolsRequestSchema, async () => ({
    tools: native ? await gateway.native.tools(session) : gateway.listTools(),
  }));
  if (native) {
    const surface = gateway.native;
    handle(ListResourcesRequestSchema, async () => ({ resources: await surface.resources(session) }));
    handle(ListResourceTemplatesRequestSchema, async () => ({
      resourceTemplates: await surface.resourceTemplates(session),
    }));
    handle(ReadResourceRequestSchema, (request, extra) => surface.readResource(request.params.uri, extra, session));
    handle(SubscribeRequestSchema, async (request, extra) => {
      await surface.subscribe(request.params.uri, extra, session, true);
      return {};
    });
    handle(UnsubscribeRequestSchema, async (request, extra) => {
      await surface.subscribe(request.params.uri, extra, session, false);
      return {};
    });
    handle(ListPromptsRequestSchema, async () => ({ prompts: await surface.prompts(session) }));
    handle(GetPromptRequestSchema, (request, extra) => surface.getPrompt(request.params.name, request.params.arguments, extra, session));
    handle(CompleteRequestSchema, (request, extra) => surface.complete(request.params, extra, session));
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
  handle(CallToolRequestSchema, (request, extra) => gateway.callTool(request.params.name, request.params.arguments, extra, session));
  const detach = gateway.attachSession(session);
  const connect = async (transport: Transport): Promise<void> => {
    await server.connect(transport);
    refuseInvalidParams(transport, schemas);
  };
  return { server, session, detach, connect };
}
