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
import type {
  HandlerResultTypeMap,
  RequestMethod,
  RequestTypeMap,
  ServerCapabilities,
  ServerContext,
  ServerRequest,
  Tool,
  Transport,
} from '@modelcontextprotocol/server';
import { z } from 'zod';
import { TASKS_EXTENSION } from '../downstream/tasks.js';
import { protocolError } from '../protocolError.js';
import { VERSION } from '../version.js';
import { refuseInvalidParams, type ParamsSchema } from './invalidParams.js';
import type { Gateway } from './gateway.js';
import type { FirstAnswers } from './stdioFastCalls.js';
import { CLIENT_REQUEST_TIMEOUT_MS, CLIENT_RESULT_SCHEMAS, isClientRequestMethod, type InstanceScope, type UpstreamSession } from './serverRequests.js';

const INSTRUCTIONS =
  'Gateway to several MCP servers. Call list_servers, then get_server_tools for a server, then execute_tool. ' +
  'Pass agent_id on every call if you were given one.';
const NATIVE_INSTRUCTIONS = 'Gateway to several MCP servers: their tools, resources and prompts are offered directly, named <server>__<name>.';

const SetLevelParams = z.looseObject({ level: z.unknown() });
const TaskIdParams = z.looseObject({ taskId: z.unknown() });

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
  /**
   * The protocol era the SDK's entry made this server for. Default legacy (2025-11-25: an
   * initialize handshake, one session). A modern (2026-07-28) server reads the caller's
   * capabilities from each request's envelope and answers lists in name order.
   */
  readonly era?: 'legacy' | 'modern';
  /** Calls the stdio fast path already made, answered from here when it hands them over. */
  readonly firstAnswers?: FirstAnswers;
}

/** Per-agent lists: never to be shared between callers, and re-read every time. */
const PRIVATE_LISTS = { ttlMs: 0, cacheScope: 'private' } as const;

/**
 * The schema of every request served, so bad params are refused before the SDK sees them
 * (invalidParams.ts). The same for both eras: the 2026 envelope rides in `_meta`, which the
 * schemas let through.
 */
export function requestSchemas(native: boolean): ReadonlyMap<string, ParamsSchema> {
  const schemas = new Map<string, ParamsSchema>([
    ['initialize', InitializeRequestSchema],
    ['tools/list', ListToolsRequestSchema],
    ['tools/call', CallToolRequestSchema],
  ]);
  if (native) {
    schemas.set('resources/list', ListResourcesRequestSchema);
    schemas.set('resources/templates/list', ListResourceTemplatesRequestSchema);
    schemas.set('resources/read', ReadResourceRequestSchema);
    schemas.set('resources/subscribe', SubscribeRequestSchema);
    schemas.set('resources/unsubscribe', UnsubscribeRequestSchema);
    schemas.set('prompts/list', ListPromptsRequestSchema);
    schemas.set('prompts/get', GetPromptRequestSchema);
    schemas.set('completion/complete', CompleteRequestSchema);
  }
  return schemas;
}

function byName<T extends { name: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

function byUri<T extends { uri: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.uri < b.uri ? -1 : a.uri > b.uri ? 1 : 0));
}

function byTemplate<T extends { uriTemplate: string }>(items: readonly T[]): T[] {
  return [...items].sort((a, b) => (a.uriTemplate < b.uriTemplate ? -1 : a.uriTemplate > b.uriTemplate ? 1 : 0));
}

/**
 * tasks/get and tasks/cancel reach a 2026 handler only when registered with a schema of their
 * own (the SDK took them out of the 2026 registry); tasks/update is in no registry, so it is
 * registered as a custom method. A malformed taskId is answered as an unknown one (taskRelay.ts).
 */
function serveTasks(server: Server, gateway: Gateway, session: UpstreamSession): void {
  const byId = { params: TaskIdParams };
  server.setRequestHandler('tasks/get', byId, (params, ctx) => gateway.tasks.handle('tasks/get', params, ctx, session));
  server.setRequestHandler('tasks/cancel', byId, (params, ctx) => gateway.tasks.handle('tasks/cancel', params, ctx, session));
  // A method of no registry: registered as a custom one, so that unknown methods keep the
  // SDK's own answer (HTTP 404 with -32601 over /mcp), which a fallback handler would replace.
  server.setRequestHandler('tasks/update', byId, (params, ctx) => gateway.tasks.handle('tasks/update', params, ctx, session));
}

export function createUpstreamServer(
  gateway: Gateway,
  fields: UpstreamSessionFields = {},
): { server: Server; session: UpstreamSession; detach: () => void; connect: (transport: Transport) => Promise<void> } {
  const native = gateway.mode !== 'meta';
  const modern = fields.era === 'modern';
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
  // The tasks extension is a 2026 one; which calls become tasks is for the downstream to say.
  if (modern) capabilities.extensions = { [TASKS_EXTENSION]: {} };
  const server = new Server(
    { name: 'agent-mcp-gateway', version: VERSION },
    {
      capabilities,
      instructions: gateway.mode === 'native' ? NATIVE_INSTRUCTIONS : INSTRUCTIONS,
      // Said explicitly, though it is the SDK's default: what an agent sees is its own.
      cacheHints: {
        'tools/list': PRIVATE_LISTS,
        'resources/list': PRIVATE_LISTS,
        'resources/templates/list': PRIVATE_LISTS,
        'prompts/list': PRIVATE_LISTS,
        'resources/read': PRIVATE_LISTS,
      },
    },
  );
  const session: UpstreamSession = {
    id: fields.id ?? randomUUID(),
    mcp: true,
    ...(fields.boundAgent !== undefined ? { boundAgent: fields.boundAgent } : {}),
    ...(fields.auditSessionId !== undefined ? { auditSessionId: fields.auditSessionId } : {}),
    ...(fields.instanceScope !== undefined ? { instanceScope: fields.instanceScope } : {}),
    // A 2026 client states its capabilities in each request (serverRequests.ts reads them there).
    clientCapabilities: () => (modern ? undefined : server.getClientCapabilities()),
    notifyToolListChanged: () => server.sendToolListChanged(),
    notifyListChanged: (kind) =>
      kind === 'tools' ? server.sendToolListChanged() : kind === 'resources' ? server.sendResourceListChanged() : server.sendPromptListChanged(),
    notifyResourceUpdated: (uri) => server.sendResourceUpdated({ uri }),
    notifyLog: (params) => server.sendLoggingMessage(params),
    request: (request: ServerRequest, signal: AbortSignal) => {
      if (modern) return Promise.reject(new Error(`a 2026-07-28 client takes no ${request.method} request outside a call`));
      if (!isClientRequestMethod(request.method)) return Promise.reject(new Error(`cannot forward ${request.method}`));
      return server.request(request, CLIENT_RESULT_SCHEMAS[request.method], { signal, timeout: CLIENT_REQUEST_TIMEOUT_MS });
    },
  };
  const handle = <M extends RequestMethod>(
    method: M,
    handler: (request: RequestTypeMap[M], ctx: ServerContext) => HandlerResultTypeMap[M] | Promise<HandlerResultTypeMap[M]>,
  ): void => server.setRequestHandler(method, handler);
  // A 2026 list is in a stable order (the spec asks it of cacheable lists); a 2025 one as it always was.
  const ordered = <T>(items: readonly T[], sort: (items: readonly T[]) => T[]): T[] => (modern ? sort(items) : [...items]);
  handle('tools/list', async () => ({
    tools: native ? ordered(await gateway.native.tools(session), byName) : gateway.listTools(),
  }));
  if (native) {
    const surface = gateway.native;
    handle('resources/list', async () => ({ resources: ordered(await surface.resources(session), byUri) }));
    handle('resources/templates/list', async () => ({
      resourceTemplates: ordered(await surface.resourceTemplates(session), byTemplate),
    }));
    handle('resources/read', (request, ctx) => surface.readResource(request.params.uri, ctx, session));
    handle('resources/subscribe', async (request, ctx) => {
      await surface.subscribe(request.params.uri, ctx, session, true);
      return {};
    });
    handle('resources/unsubscribe', async (request, ctx) => {
      await surface.subscribe(request.params.uri, ctx, session, false);
      return {};
    });
    handle('prompts/list', async () => ({ prompts: ordered(await surface.prompts(session), byName) }));
    handle('prompts/get', (request, ctx) => surface.getPrompt(request.params.name, request.params.arguments, ctx, session));
    handle('completion/complete', (request, ctx) => surface.complete(request.params, ctx, session));
  }
  if (modern) serveTasks(server, gateway, session);
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
  handle(
    'tools/call',
    (request, ctx) => fields.firstAnswers?.take(ctx.mcpReq._meta) ?? gateway.callTool(request.params.name, request.params.arguments, ctx, session),
  );
  const detach = gateway.attachSession(session);
  const schemas = requestSchemas(native);
  const connect = async (transport: Transport): Promise<void> => {
    await server.connect(transport);
    refuseInvalidParams(transport, schemas);
  };
  return { server, session, detach, connect };
}

/** The tools a session is offered (tools/list's answer, before any ordering). */
export async function offeredTools(gateway: Gateway, session: UpstreamSession): Promise<readonly Tool[]> {
  return gateway.mode !== 'meta' ? gateway.native.tools(session) : gateway.listTools();
}
