// tools/call from a 2025-11-25 client on stdio, served past the SDK Server.
//
// Why: on the SDK's path a request is parsed against the JSON-RPC message schema, the SDK's
// message-kind guards and the tools/call schema (twice), each a zod parse, and the result once
// more before it is written; with the client side's own parses that was the largest part of
// the gateway's CPU per call (docs/performance.md, issue 20). Here the common request (a
// well-formed tools/call after initialize: name, arguments, _meta, nothing else) is recognised
// by hand and handed to the same Gateway.callTool, with a context built as the SDK builds it
// (its signal, its progress token, notifications and requests to the client sent through the
// SDK Server with the request's id). A result of the common shape (toolResultShape.ts) is
// written as the SDK writes it; an error as the SDK's Server answers one. Everything else takes
// the SDK's own path unchanged: any other message or request, a tools/call with anything
// unusual, a 2026 client. A result of another shape goes to the SDK too, as the answer of the
// call already made (FirstAnswers), so its validation and the 2025 input_required shim are the
// SDK's own. An answer that cannot be serialized gets -32603 (the SDK's path sent nothing).

import { randomUUID } from 'node:crypto';
import { isInputRequiredResult, ProtocolErrorCode, SdkError, SdkErrorCode } from '@modelcontextprotocol/server';
import type { JSONRPCMessage, RequestId, RequestMeta, Server, ServerContext, StandardSchemaV1 } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import { hasOnlyKeys, isPlainMeta, isPlainToolResult } from '../toolResultShape.js';
import { errorMessage, isPlainObject } from '../values.js';
import type { ToolAnswer } from './calls/toolAnswer.js';
import type { Gateway } from './gateway.js';
import { isRequestId } from './stdioServerTransport.js';
import type { UpstreamSession } from './serverRequests.js';

/** The ways onto the wire and into the SDK that the fast path needs of the stdio transport. */
export interface FastCallWire {
  send(message: JSONRPCMessage): Promise<void>;
  /** Hands a JSON value to the SDK's side as if it had just been read. */
  dispatch(value: unknown): void;
}

/** Where a request handed to the SDK carries the token of the answer already obtained for it. */
export const FIRST_ANSWER_META_KEY = 'agent-mcp-gateway/first-answer';
/** A handed-over request is served within microtasks; an answer left longer was refused before the handler. */
const FIRST_ANSWER_TTL_MS = 60_000;

/**
 * Answers of calls the fast path made, for the SDK's tools/call handler to return when the
 * request is handed to it afterwards: the call is never made twice. Each is found by a token
 * the handed-over request carries in its `_meta` (unique per connection, never forwarded:
 * envelope.ts takes only known keys), not by the request id, which a client may reuse.
 */
export class FirstAnswers {
  readonly #answers = new Map<string, ToolAnswer>();
  readonly #prefix = randomUUID();
  #next = 0;

  /** `request` carrying the token of `answer`, to hand to the SDK. */
  keep(request: Record<string, unknown>, answer: ToolAnswer): Record<string, unknown> {
    const token = `${this.#prefix}:${this.#next++}`;
    this.#answers.set(token, answer);
    setTimeout(() => this.#answers.delete(token), FIRST_ANSWER_TTL_MS).unref();
    const params = request['params'] as Record<string, unknown>;
    const meta = isPlainObject(params['_meta']) ? params['_meta'] : {};
    return { ...request, params: { ...params, _meta: { ...meta, [FIRST_ANSWER_META_KEY]: token } } };
  }

  /** The answer kept for the request whose `_meta` this is, once; undefined: the call has not been made. */
  take(meta: unknown): Promise<ToolAnswer> | undefined {
    const token = isPlainObject(meta) ? meta[FIRST_ANSWER_META_KEY] : undefined;
    if (typeof token !== 'string') return undefined;
    const answer = this.#answers.get(token);
    if (answer === undefined) return undefined;
    this.#answers.delete(token);
    return Promise.resolve(answer);
  }
}

const REQUEST_KEYS = new Set(['jsonrpc', 'id', 'method', 'params']);
const PARAMS_KEYS = new Set(['name', 'arguments', '_meta']);

export class StdioFastCalls {
  readonly firstAnswers = new FirstAnswers();
  readonly #gateway: Gateway;
  readonly #wire: FastCallWire;
  readonly #logger: Logger;
  readonly #inFlight = new Map<RequestId, AbortController>();
  #served: { readonly server: Server; readonly session: UpstreamSession } | undefined;
  #closed = false;

  constructor(gateway: Gateway, wire: FastCallWire, logger: Logger) {
    this.#gateway = gateway;
    this.#wire = wire;
    this.#logger = logger;
  }

  /** The connection's 2025 server: calls are taken once it has been initialized. */
  serve(server: Server, session: UpstreamSession): void {
    this.#served = { server, session };
  }

  /** Offered every JSON value read, before the SDK's side; true: it was taken. */
  readonly take = (value: unknown): boolean => {
    if (this.#closed || this.#served === undefined || !isPlainObject(value)) return false;
    if (value['method'] === 'tools/call') return this.#call(value, this.#served);
    if (value['method'] === 'notifications/cancelled') return this.#cancel(value);
    return false;
  };

  /** The connection ended: the calls in flight are abandoned (nobody is left to answer). */
  close(): void {
    this.#closed = true;
    for (const controller of this.#inFlight.values()) controller.abort(new SdkError(SdkErrorCode.ConnectionClosed, 'Connection closed'));
    this.#inFlight.clear();
  }

  #call(message: Record<string, unknown>, served: { readonly server: Server; readonly session: UpstreamSession }): boolean {
    if (served.server.getClientCapabilities() === undefined || message['jsonrpc'] !== '2.0') return false;
    const id = message['id'];
    if (!isRequestId(id) || this.#inFlight.has(id) || !hasOnlyKeys(message, REQUEST_KEYS)) return false;
    const params = message['params'];
    if (!isPlainObject(params) || !hasOnlyKeys(params, PARAMS_KEYS) || typeof params['name'] !== 'string') return false;
    const args = params['arguments'];
    const meta = params['_meta'];
    // The SDK's parse drops an own `__proto__` key of the arguments: such a call is the SDK's.
    if ((args !== undefined && (!isPlainObject(args) || Object.hasOwn(args, '__proto__'))) || (meta !== undefined && !isPlainRequestMeta(meta))) return false;
    const controller = new AbortController();
    this.#inFlight.set(id, controller);
    const ctx = requestContext(served.server, id, meta as RequestMeta | undefined, controller.signal);
    // As the SDK starts a handler: in a microtask, after the messages read before this one.
    void Promise.resolve()
      .then(() => this.#gateway.callTool(params['name'] as string, args, ctx, served.session))
      .then(
        (answer) => {
          if (!controller.signal.aborted) this.#answer(id, answer, message);
        },
        (err: unknown) => {
          if (!controller.signal.aborted) this.#answerError(id, err);
        },
      )
      .catch((err: unknown) => this.#logger.error({ err: errorMessage(err) }, 'stdio: a tools/call could not be answered'))
      .finally(() => {
        if (this.#inFlight.get(id) === controller) this.#inFlight.delete(id);
      });
    return true;
  }

  /** Only a cancellation the SDK would act on: well-formed, naming a fast call in flight. */
  #cancel(message: Record<string, unknown>): boolean {
    const params = message['params'];
    if (message['jsonrpc'] !== '2.0' || 'id' in message || !isPlainObject(params)) return false;
    const requestId = params['requestId'];
    const reason = params['reason'];
    if (!isRequestId(requestId) || (reason !== undefined && typeof reason !== 'string')) return false;
    const controller = this.#inFlight.get(requestId);
    if (controller === undefined) return false;
    this.#inFlight.delete(requestId);
    controller.abort(reason);
    return true;
  }

  #answer(id: RequestId, answer: ToolAnswer, request: Record<string, unknown>): void {
    if (isInputRequiredResult(answer) || !isPlainToolResult(answer as Record<string, unknown>)) {
      // The SDK validates it (or runs its 2025 shim for input_required) as its handler's answer.
      this.#inFlight.delete(id);
      this.#wire.dispatch(this.firstAnswers.keep(request, answer));
      return;
    }
    this.#write(id, { result: answer, jsonrpc: '2.0', id } as JSONRPCMessage);
  }

  /** As the SDK's Server answers a handler's throw. */
  #answerError(id: RequestId, err: unknown): void {
    const thrown = isPlainObject(err) || err instanceof Error ? (err as { code?: unknown; message?: unknown; data?: unknown }) : {};
    const code = Number.isSafeInteger(thrown.code) ? (thrown.code as number) : ProtocolErrorCode.InternalError;
    const error: Record<string, unknown> = {
      // The 2025 wire has no -32002 (resource not found): the SDK answers it as invalid params.
      code: code === -32002 ? ProtocolErrorCode.InvalidParams : code,
      message: typeof thrown.message === 'string' ? thrown.message : 'Internal error',
    };
    if (thrown.data !== undefined) error['data'] = thrown.data;
    this.#write(id, { jsonrpc: '2.0', id, error } as JSONRPCMessage);
  }

  /**
   * An answer that cannot be serialized (a downstream's value nested beyond the stack) is
   * answered with -32603 instead, so the client is not left waiting and the gateway lives on.
   */
  #write(id: RequestId, message: JSONRPCMessage): void {
    const failed = (err: unknown): void => this.#logger.debug({ err: errorMessage(err) }, 'stdio: could not write an answer');
    try {
      this.#wire.send(message).catch(failed);
    } catch (err) {
      this.#logger.warn({ err: errorMessage(err) }, 'stdio: an answer could not be serialized; answering -32603');
      const error = { code: ProtocolErrorCode.InternalError, message: 'Internal error: the answer could not be serialized' };
      this.#wire.send({ jsonrpc: '2.0', id, error } as JSONRPCMessage).catch(failed);
    }
  }
}

/** The context the SDK's Server gives a tools/call handler on a 2025 connection. */
function requestContext(server: Server, id: RequestId, meta: RequestMeta | undefined, signal: AbortSignal): ServerContext {
  const related = { relatedRequestId: id };
  const send = (request: { method: string; params?: Record<string, unknown> }, schemaOrOptions?: unknown, options?: object): Promise<unknown> =>
    isStandardSchema(schemaOrOptions)
      ? server.request(request as never, schemaOrOptions, { ...options, ...related })
      : server.request(request as never, { ...(schemaOrOptions as object | undefined), ...related });
  return {
    mcpReq: {
      id,
      method: 'tools/call',
      ...(meta !== undefined ? { _meta: meta } : {}),
      requestState: () => undefined,
      signal,
      send: send as ServerContext['mcpReq']['send'],
      notify: (notification) => server.notification(notification, related),
      log: (level, data, logger) => server.sendLoggingMessage({ level, data, ...(logger !== undefined ? { logger } : {}) }),
      elicitInput: (params, options) => server.elicitInput(params, { ...options, ...related }),
      requestSampling: (params, options) => server.createMessage(params, { ...options, ...related }),
    },
  };
}

function isStandardSchema(value: unknown): value is StandardSchemaV1 {
  return typeof value === 'object' && value !== null && '~standard' in value;
}

/** `_meta` the fast path takes: plain (toolResultShape.ts), and without a token of its own (FirstAnswers). */
function isPlainRequestMeta(meta: unknown): boolean {
  return isPlainMeta(meta) && !Object.hasOwn(meta, FIRST_ANSWER_META_KEY);
}
