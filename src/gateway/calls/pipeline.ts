import { ProtocolError, ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { Logger } from 'pino';
import type { AuditSink } from '../../audit/auditLog.js';
import { callRecord, clip } from '../../audit/callRecord.js';
import type { CallMetrics } from '../../audit/callMetrics.js';
import type { AuditDecision } from '../../audit/record.js';
import type { InstanceRegistry } from '../../downstream/instances.js';
import type { DownstreamPool } from '../../downstream/pool.js';
import { CODE_MEANINGS, GatewayError } from '../../errors.js';
import { resolveIdentity } from '../../policy/identity.js';
import type { IdentitySource } from '../../policy/types.js';
import { asForeignProtocolError, protocolError } from '../../protocolError.js';
import { asArgs, type Args } from '../arguments.js';
import type { AuditNote, CallSettings, OperationContext, ProgressSink, Snapshot } from '../context.js';
import { argumentDepthProblem, nameProblem } from '../inputBounds.js';
import { toGatewayError } from '../results.js';
import { forwardedEnvelope } from './envelope.js';
import type { CallPeer, ServerRequestRouter } from '../serverRequests.js';
import type { CallEvent } from '../options.js';
import type { CallOutcome, CallRequest, Operation } from './request.js';
import { TaskTable } from './taskTable.js';

export interface PipelineOptions extends CallSettings {
  /** `--agent`: every call acts as this agent. */
  readonly boundAgent?: string;
  /** Used only when agent_id is missing and the rules allow a fallback. */
  readonly fallbackAgent?: string;
  /** Every call acts as this agent, whatever `agent_id` it names. */
  readonly soleAgent?: string;
  readonly audit: AuditSink;
  readonly auditArgs: 'hash' | 'full';
  /** Told of every finished call. Must not throw or block. */
  readonly onCall?: (event: CallEvent) => void;
}

/** What the pipeline reads of the Gateway at each call (reload replaces the snapshot). */
export interface PipelineHost {
  readonly snapshot: Snapshot;
  readonly pool: DownstreamPool;
  readonly instances: InstanceRegistry;
}

/** The metrics entry of every call to a tool the gateway does not offer. */
const UNKNOWN_OPERATION = '(unknown tool)';

/**
 * One gateway call, start to finish: input bounds, identity, operation, audit line, metrics
 * and the call observer. Every front end goes through run(); the reply waits for the audit write.
 */
export class CallPipeline {
  readonly #options: PipelineOptions;
  readonly #host: PipelineHost;
  readonly #router: ServerRequestRouter;
  readonly #metrics: CallMetrics;
  readonly #logger: Logger;
  /** The tasks downstream servers handed out through calls (tasks extension). */
  readonly tasks = new TaskTable();

  constructor(options: PipelineOptions, host: PipelineHost, router: ServerRequestRouter, metrics: CallMetrics, logger: Logger) {
    this.#options = options;
    this.#host = host;
    this.#router = router;
    this.#metrics = metrics;
    this.#logger = logger;
  }

  /** `operation` undefined: the gateway does not offer what the request names, a protocol error. */
  async run<T>(request: CallRequest, operation: Operation<T> | undefined): Promise<CallOutcome<T>> {
    const started = performance.now();
    const snapshot = this.#host.snapshot;
    const { operation: name, caller, ownArgs, fields } = request;
    const note: AuditNote = {};
    let agentId: string | null = null;
    let source: IdentitySource | null = null;
    let args: Args = {};
    // False for arguments refused as too deep: walking them again could exhaust the stack.
    let hashable = true;
    let outcome: CallOutcome<T> | undefined;
    let failure: GatewayError | undefined;
    try {
      if (!operation) {
        failure = new GatewayError('TOOL_NOT_FOUND', `Unknown tool: ${name}`, { tool: name });
        throw protocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name}`);
      }
      args = asArgs(request.args);
      const tooDeep = argumentDepthProblem(name, args, ownArgs, fields);
      hashable = tooDeep === undefined;
      // What the caller asked for, so a call refused before the operation ran still says where it aimed.
      if (ownArgs) noteTarget(note, name, args);
      if (tooDeep) throw tooDeep;
      const badName = ownArgs ? nameProblem(name, args, fields) : undefined;
      if (badName) {
        if (badName.code === 'INVALID_AGENT_ID' && typeof args['agent_id'] === 'string') note.requestedAgent = clip(args['agent_id']);
        throw badName;
      }
      const options = this.#options;
      const bound = caller.boundAgent ?? options.boundAgent;
      const identity = resolveIdentity({
        requested: ownArgs ? args['agent_id'] : undefined,
        ...(options.soleAgent !== undefined ? { sole: options.soleAgent } : {}),
        ...(bound !== undefined ? { bound } : {}),
        ...(options.fallbackAgent ? { fallbackAgent: options.fallbackAgent } : {}),
        policy: snapshot.policy,
      });
      if (!identity.ok) {
        if (identity.rule !== undefined) note.rule = identity.rule;
        if (ownArgs && typeof args['agent_id'] === 'string') note.requestedAgent = clip(args['agent_id']);
        throw new GatewayError(identity.code, identity.message, identity.rule !== undefined ? { rule: identity.rule } : {});
      }
      agentId = identity.agentId;
      source = identity.source;
      if (ownArgs && source === 'sole' && typeof args['agent_id'] === 'string' && args['agent_id'] !== agentId) note.requestedAgent = clip(args['agent_id']);
      if (request.refusal) throw request.refusal;
      const peer = request.peer;
      const relay = peer === undefined ? undefined : progressRelay(peer, this.#logger);
      const agent = agentId;
      const ctx: OperationContext = {
        snapshot,
        pool: this.#host.pool,
        instances: this.#host.instances,
        instanceScope: caller.instanceScope,
        agentId,
        identitySource: source,
        signal: request.signal,
        forward: peer === undefined ? undefined : forwardedEnvelope(peer),
        peer,
        progress: relay?.sink,
        fields,
        settings: options,
        logger: this.#logger,
        note,
        trackCall: (server) => this.#router.track(server, peer, agent),
        currentSnapshot: () => this.#host.snapshot,
        tasks: { table: this.tasks, owner: caller.boundAgent ?? '' },
      };
      const value = await operation(ctx, args);
      // The downstream's last progress came before its result: it must reach the caller before
      // the answer too, or the caller drops it as progress of a finished request.
      if (relay !== undefined) await relay.sent();
      outcome = { kind: 'value', value, agent: agentId, decision: 'ALLOW' };
    } catch (err) {
      const foreign = asForeignProtocolError(err);
      if (err instanceof ProtocolError || foreign !== undefined) {
        outcome = { kind: 'protocol', error: foreign ?? (err as ProtocolError), agent: agentId, decision: decisionOf(failure) };
      } else if (request.signal.aborted) {
        // The caller cancelled: the SDK sends no response, so there is nothing to shape.
        outcome = { kind: 'cancelled', reason: err, agent: agentId, decision: 'ERROR' };
      } else {
        failure = toGatewayError(err);
        if (failure.code === 'INTERNAL_ERROR') this.#logger.error({ err, tool: clip(name) }, 'unexpected error in tool call');
        outcome = { kind: 'failed', error: failure, agent: agentId, decision: decisionOf(failure) };
      }
    }
    const latency = performance.now() - started;
    const cancelled = outcome.kind === 'cancelled';
    const isError = outcome.kind === 'value' ? note.isError === true : outcome.kind !== 'protocol' || failure !== undefined;
    const code = failure ? failure.code : cancelled ? 'CANCELLED' : undefined;
    const decision = outcome.decision;
    // A tool the gateway does not offer is named by the caller: one entry for all of them.
    this.#metrics.record(agentId, operation ? name : UNKNOWN_OPERATION, latency, isError);
    const sessionId = caller.auditSessionId;
    // Nothing is built for the audit or the observer when nobody takes it.
    let audited: Promise<void> | undefined;
    if (this.#options.audit.enabled) {
      const record = callRecord(
        {
          operation: name,
          args,
          hashable,
          agentId,
          source,
          requestedAgent: note.requestedAgent,
          server: note.server,
          tool: note.tool,
          rule: note.rule,
          latency,
          isError,
          revision: snapshot.revision,
          code,
          sessionId,
          decision,
          approval: note.approval,
        },
        this.#options.auditArgs,
        this.#logger,
      );
      audited = this.#options.audit.write(record);
    }
    if (this.#options.onCall !== undefined) {
      this.#observe({
        operation: name,
        agent: agentId,
        server: note.server ?? null,
        tool: note.tool ?? null,
        decision,
        code: code ?? null,
        latencyMs: latency,
        isError,
        ...(sessionId !== undefined ? { sessionId } : {}),
      });
    }
    // The reply waits until the call's audit line is in the kernel (group commit, see JsonlAuditSink).
    if (audited !== undefined) await audited;
    return outcome;
  }

  #observe(event: CallEvent): void {
    const observer = this.#options.onCall;
    if (!observer) return;
    try {
      observer(event);
    } catch (err) {
      this.#logger.warn({ err }, 'call observer failed');
    }
  }
}

function decisionOf(failure: GatewayError | undefined): AuditDecision {
  return failure ? CODE_MEANINGS[failure.code].decision : 'ALLOW';
}

/** Progress relayed under the caller's own token: the SDK rewrote it to its own id downstream. */
function progressRelay(peer: CallPeer, logger: Logger): { sink: ProgressSink; sent: () => Promise<void> } | undefined {
  const progressToken = peer.extra.mcpReq._meta?.progressToken;
  if (progressToken === undefined) return undefined;
  // Notifications go out in the order they are sent: the last one settling means all have.
  let last: Promise<void> = Promise.resolve();
  return {
    sent: () => last,
    sink: (p) => {
      last = peer.extra.mcpReq
        .notify({ method: 'notifications/progress', params: { ...p, progressToken } })
        .catch((err: unknown) => logger.debug({ err }, 'progress relay failed'));
    },
  };
}

function noteTarget(note: AuditNote, operation: string, args: Args): void {
  const server = args['server'];
  if (typeof server === 'string' && operation !== 'list_servers' && operation !== 'search_tools') note.server = clip(server);
  const tool = args['tool'];
  if (typeof tool === 'string' && operation === 'execute_tool') note.tool = clip(tool);
}
