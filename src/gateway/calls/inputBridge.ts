// A 2025 downstream asks its client for input in the middle of a call (elicitation/create,
// sampling/createMessage, roots/list), but the caller speaks 2026-07-28: it takes no requests
// from the gateway. The question goes back to it as an `input_required` result instead, and
// the call waits, parked, for the caller's retry, whose answers resolve the downstream's
// pending requests; the call then goes on from where it was.
//
// The state handed to the caller is an unguessable token naming the parked call; it works once,
// only for the caller it was given to, and expires when a human would have answered long ago.

import { randomUUID } from 'node:crypto';
import type { InputRequiredResult } from '@modelcontextprotocol/server';
import { ProtocolErrorCode } from '@modelcontextprotocol/server';
import { protocolError } from '../../protocolError.js';
import type { ToolAnswer } from './toolAnswer.js';

const TOKEN_PREFIX = 'agent-mcp-gateway.input.';
/** Calls parked at once, gateway-wide and per caller; each holds a downstream request open until it expires. */
const MAX_PARKED = 1024;
const MAX_PARKED_PER_OWNER = 32;

/** A question a downstream asked, on its way to the caller. */
interface Question {
  readonly key: string;
  readonly method: string;
  readonly params: Record<string, unknown>;
  readonly answer: (value: unknown) => void;
  readonly fail: (err: Error) => void;
}

/** Where a parked call's downstream puts its questions. */
export class InputChannel {
  #questions: Question[] = [];
  #wake: (() => void) | undefined;
  #next = 0;

  /** The downstream's request, answered when the caller retries; `signal`: the downstream gave up asking. */
  ask(method: string, params: Record<string, unknown> | undefined, signal: AbortSignal): Promise<unknown> {
    return new Promise((resolve, reject) => {
      if (signal.aborted) {
        reject(signal.reason);
        return;
      }
      const question: Question = { key: `input-${++this.#next}`, method, params: params ?? {}, answer: resolve, fail: reject };
      signal.addEventListener(
        'abort',
        () => {
          // Not yet handed to the caller: it never will be. Handed: its answer will find nobody.
          this.#questions = this.#questions.filter((q) => q !== question);
          reject(signal.reason);
        },
        { once: true },
      );
      this.#questions.push(question);
      this.#wake?.();
    });
  }

  /** Why the call cannot go on with this caller (it cannot answer what was asked); it fails with it. */
  #refusal: Error | undefined;

  refuse(err: Error): void {
    this.#refusal ??= err;
    this.#wake?.();
  }

  get refusal(): Error | undefined {
    return this.#refusal;
  }

  /** Resolves once at least one question waits, or the caller was refused. */
  waitForQuestions(): Promise<void> {
    if (this.#questions.length > 0 || this.#refusal !== undefined) return Promise.resolve();
    return new Promise((resolve) => (this.#wake = resolve));
  }

  take(): Question[] {
    const taken = this.#questions;
    this.#questions = [];
    this.#wake = undefined;
    return taken;
  }
}

/** A call in flight: its result, where its questions arrive, and how to cancel it. */
interface Call {
  readonly result: Promise<ToolAnswer>;
  readonly channel: InputChannel;
  readonly cancel: AbortController;
}

interface Parked extends Call {
  readonly owner: string;
  /** The tool the call is of: a retry must name the same one. */
  readonly name: string;
  readonly asked: ReadonlyMap<string, Question>;
  readonly timer: NodeJS.Timeout;
}

/** The gateway minted this state: it is answered here and never forwarded. */
export function isGatewayState(state: string): boolean {
  return state.startsWith(TOKEN_PREFIX);
}

export class InputBridge {
  readonly #parked = new Map<string, Parked>();
  readonly #expiryMs: number;

  /** `expiryMs`: how long a parked call waits for the caller's retry. */
  constructor(expiryMs: number) {
    this.#expiryMs = expiryMs;
  }

  /**
   * A 2026 caller's tools/call: resumes the parked call its state names, or starts one with a
   * channel for the downstream's questions. `owner` is who may resume it (the credential's agent),
   * `name` the tool called.
   */
  async run(
    owner: string,
    name: string,
    state: unknown,
    inputResponses: Readonly<Record<string, unknown>> | undefined,
    round: AbortSignal,
    start: (channel: InputChannel, signal: AbortSignal) => Promise<ToolAnswer>,
  ): Promise<ToolAnswer> {
    if (typeof state === 'string' && isGatewayState(state)) {
      const parked = this.#parked.get(state);
      if (parked === undefined || parked.owner !== owner || parked.name !== name) {
        throw protocolError(ProtocolErrorCode.InvalidParams, 'Invalid or expired requestState', { reason: 'invalid_request_state' });
      }
      this.#parked.delete(state);
      clearTimeout(parked.timer);
      for (const [key, question] of parked.asked) {
        const answer = inputResponses?.[key];
        if (answer === undefined) question.fail(protocolError(ProtocolErrorCode.InvalidParams, `The client gave no answer to ${question.method}`));
        else question.answer(answer);
      }
      return this.#settle(owner, name, { result: parked.result, channel: parked.channel, cancel: parked.cancel }, round);
    }
    const channel = new InputChannel();
    const cancel = new AbortController();
    return this.#settle(owner, name, { result: start(channel, cancel.signal), channel, cancel }, round);
  }

  /**
   * Fails every parked call's questions: at shutdown, and when a reload changed the
   * configuration (a parked call was authorized under the old one; its caller calls again).
   */
  expireAll(why: string): void {
    for (const [token, parked] of this.#parked) this.#expire(token, parked, why);
  }

  async #settle(owner: string, name: string, call: Call, round: AbortSignal): Promise<ToolAnswer> {
    const { result, channel, cancel } = call;
    // The caller cancelling this round cancels the call; a round that ended (answered) does not.
    const onAbort = (): void => cancel.abort(round.reason);
    if (round.aborted) onAbort();
    else round.addEventListener('abort', onAbort, { once: true });
    let asked: boolean;
    try {
      asked = await Promise.race([result.then(() => false), channel.waitForQuestions().then(() => true)]);
    } finally {
      round.removeEventListener('abort', onAbort);
    }
    if (!asked) return result;
    if (channel.refusal !== undefined) {
      cancel.abort(channel.refusal);
      result.catch(() => undefined);
      throw channel.refusal;
    }
    const questions = channel.take();
    // Every question was withdrawn before it could be handed on: the call goes on.
    if (questions.length === 0) return this.#settle(owner, name, call, round);
    if (this.#parked.size >= MAX_PARKED || this.#parkedBy(owner) >= MAX_PARKED_PER_OWNER) {
      // Bounded: the questions fail at once, and the call goes on without the answers.
      for (const q of questions) q.fail(protocolError(ProtocolErrorCode.InvalidRequest, `Too many calls wait for input: ${q.method} cannot be asked now`));
      return this.#settle(owner, name, call, round);
    }
    const token = TOKEN_PREFIX + randomUUID();
    const parked: Parked = {
      owner,
      name,
      result,
      channel,
      cancel,
      asked: new Map(questions.map((q) => [q.key, q])),
      timer: setTimeout(() => this.#expire(token, parked, 'the client did not answer in time'), this.#expiryMs).unref(),
    };
    // Settled by the timer if the caller never retries: the call's own promise must not go unobserved.
    result.catch(() => undefined);
    this.#parked.set(token, parked);
    return {
      resultType: 'input_required',
      inputRequests: Object.fromEntries(questions.map((q) => [q.key, { method: q.method, params: q.params }])),
      requestState: token,
    } as InputRequiredResult;
  }

  #parkedBy(owner: string): number {
    let count = 0;
    for (const parked of this.#parked.values()) if (parked.owner === owner) count++;
    return count;
  }

  #expire(token: string, parked: Parked, why: string): void {
    if (this.#parked.get(token) !== parked) return;
    this.#parked.delete(token);
    clearTimeout(parked.timer);
    for (const question of parked.asked.values()) question.fail(protocolError(ProtocolErrorCode.InvalidRequest, `Input for ${question.method} never came: ${why}`));
    parked.cancel.abort(new Error(why));
  }
}
