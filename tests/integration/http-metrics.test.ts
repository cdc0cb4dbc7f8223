// The Prometheus exporter: events in, text exposition out, parsed back and checked. The
// last test wires it to a real Gateway (echo fixture as a real child process), as the HTTP
// server does.
import { Counter, Gauge, Histogram, register as globalRegistry, Registry } from 'prom-client';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { CallEvent } from '../../src/gateway/options.js';
import { CALL_DURATION_BUCKETS, createMetrics, type GatewayMetricsExporter, type ServerStat } from '../../src/http/metrics.js';
import { ALICE_BOB_RULES, buildGateway, closeGateways, ECHO_SERVERS, testExtra, testSession } from '../helpers/inProcessGateway.js';
import { cleanupTmpDirs, writeJson } from '../helpers/tmp.js';
import { ROUTE_CLASSES } from '../../src/http/rateLimitSpec.js';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The text exposition format, enough of it for these tests: comments skipped, labels unescaped. */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)(?: \d+)?$/.exec(line);
    if (!m) throw new Error(`unparsable exposition line: ${line}`);
    const labels: Record<string, string> = {};
    const body = m[2] ?? '';
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)",?/gy;
    let lm: RegExpExecArray | null;
    let consumed = 0;
    while ((lm = re.exec(body)) !== null) {
      labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      consumed = re.lastIndex;
    }
    if (consumed !== body.length) throw new Error(`unparsable labels: ${body}`);
    const raw = m[3]!;
    const value = raw === '+Inf' ? Infinity : raw === '-Inf' ? -Infinity : Number(raw);
    samples.push({ name: m[1]!, labels, value });
  }
  return samples;
}

function find(samples: Sample[], name: string, labels: Record<string, string> = {}): Sample[] {
  return samples.filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v));
}

function value(samples: Sample[], name: string, labels: Record<string, string> = {}): number | undefined {
  const found = find(samples, name, labels);
  if (found.length > 1) throw new Error(`${name} ${JSON.stringify(labels)} matches ${found.length} samples`);
  return found[0]?.value;
}

const exporters: GatewayMetricsExporter[] = [];
function metrics(serverStates: () => readonly ServerStat[] = () => [], maxToolLabels?: number): GatewayMetricsExporter {
  const isConfigured = (server: string): boolean => serverStates().some((d) => d.name === server);
  const m = createMetrics({ serverStates, isConfigured }, maxToolLabels !== undefined ? { maxToolLabels } : {});
  exporters.push(m);
  return m;
}

const call = (fields: Partial<CallEvent>): CallEvent => ({
  operation: 'execute_tool',
  agent: 'researcher',
  server: 'db',
  tool: 'query',
  decision: 'ALLOW',
  code: null,
  latencyMs: 3,
  isError: false,
  ...fields,
});

const servers = (): ServerStat[] => [
  { name: 'db', restarts: 0, state: 'ready' },
  { name: 'search', restarts: 2, state: 'failed' },
];

afterAll(() => {
  for (const m of exporters) m.close();
});

describe('metrics exporter', () => {
  it('counts calls by agent, server, tool, decision and operation', async () => {
    const m = metrics(servers);
    m.onCall(call({}));
    m.onCall(call({}));
    m.onCall(call({ agent: 'writer', decision: 'DENY', code: 'DENIED_BY_POLICY' }));
    m.onCall(call({ operation: 'list_servers', server: null, tool: null }));
    const s = parseExposition(await m.render());
    expect(value(s, 'mcp_gateway_calls_total', { agent: 'researcher', server: 'db', tool: 'query', decision: 'ALLOW' })).toBe(2);
    expect(value(s, 'mcp_gateway_calls_total', { agent: 'writer', decision: 'DENY', operation: 'execute_tool' })).toBe(1);
    expect(value(s, 'mcp_gateway_calls_total', { operation: 'list_servers' })).toBe(1);
    // null means "not known when the call ended": the label says none.
    expect(find(s, 'mcp_gateway_calls_total', { operation: 'list_servers' })[0]!.labels).toEqual({
      agent: 'researcher',
      server: 'none',
      tool: 'none',
      decision: 'ALLOW',
      operation: 'list_servers',
    });
    expect(find(s, 'mcp_gateway_calls_total')).toHaveLength(3);
  });

  it('records latency in a histogram from 0.5 ms to 60 s, by operation and server', async () => {
    const m = metrics(servers);
    for (const latencyMs of [0.2, 3, 40, 700, 70_000]) m.onCall(call({ latencyMs }));
    const s = parseExposition(await m.render());
    const labels = { operation: 'execute_tool', server: 'db' };
    const buckets = find(s, 'mcp_gateway_call_duration_seconds_bucket', labels);
    expect(buckets.map((b) => b.labels['le'])).toEqual([...CALL_DURATION_BUCKETS.map(String), '+Inf']);
    const at = (le: string): number | undefined => buckets.find((b) => b.labels['le'] === le)?.value;
    expect(at('0.0005')).toBe(1);
    expect(at('0.005')).toBe(2);
    expect(at('0.05')).toBe(3);
    expect(at('1')).toBe(4);
    expect(at('60')).toBe(4);
    expect(at('+Inf')).toBe(5);
    expect(value(s, 'mcp_gateway_call_duration_seconds_count', labels)).toBe(5);
    expect(value(s, 'mcp_gateway_call_duration_seconds_sum', labels)).toBeCloseTo(70.7432, 4);
  });

  it('keeps caller-chosen names from becoming labels', async () => {
    const m = metrics(servers, 3);
    // An unknown meta-tool name, an unconfigured server, a made-up tool on an unknown server.
    m.onCall(call({ operation: 'rm_rf', agent: null, server: null, tool: null, decision: 'ERROR', code: 'TOOL_NOT_FOUND' }));
    m.onCall(call({ server: 'no-such-server', tool: 'x1', decision: 'DENY', code: 'DENIED_BY_POLICY' }));
    m.onCall(call({ server: 'evil\n"srv"', tool: 'x2', decision: 'ERROR', code: 'SERVER_NOT_FOUND' }));
    // Made-up tool names on a known server: the first ones count, then "other".
    for (let i = 0; i < 10; i++) m.onCall(call({ tool: `probe-${i}`, decision: 'ERROR', code: 'TOOL_NOT_FOUND' }));
    // An allowed tool exists downstream: always its own label.
    m.onCall(call({ tool: 'query' }));
    m.onCall(call({ tool: 'q'.repeat(300) }));
    const s = parseExposition(await m.render());
    expect(value(s, 'mcp_gateway_calls_total', { operation: 'unknown', agent: 'none' })).toBe(1);
    expect(value(s, 'mcp_gateway_calls_total', { server: 'unknown', decision: 'DENY' })).toBe(1);
    expect(find(s, 'mcp_gateway_calls_total', { server: 'unknown', tool: 'unknown' })).toHaveLength(2);
    const probes = find(s, 'mcp_gateway_calls_total', { server: 'db', decision: 'ERROR' });
    expect(probes.map((p) => [p.labels['tool'], p.value])).toEqual([
      ['probe-0', 1],
      ['probe-1', 1],
      ['probe-2', 1],
      ['other', 7],
    ]);
    expect(value(s, 'mcp_gateway_calls_total', { tool: 'query' })).toBe(1);
    expect(value(s, 'mcp_gateway_calls_total', { tool: 'q'.repeat(128) })).toBe(1);
    const allValues = s.flatMap((x) => Object.values(x.labels));
    expect(allValues.some((v) => v.includes('evil') || v.includes('no-such-server') || v.includes('rm_rf'))).toBe(false);
    expect(Math.max(...allValues.map((v) => v.length))).toBeLessThanOrEqual(128);
  });

  it('reads downstream restarts, up and state from the provider at every scrape', async () => {
    let list = servers();
    const m = metrics(() => list);
    let s = parseExposition(await m.render());
    expect(value(s, 'mcp_gateway_downstream_restarts_total', { server: 'search' })).toBe(2);
    expect(value(s, 'mcp_gateway_downstream_restarts_total', { server: 'db' })).toBe(0);
    expect(value(s, 'mcp_gateway_downstream_up', { server: 'db' })).toBe(1);
    expect(value(s, 'mcp_gateway_downstream_up', { server: 'search' })).toBe(0);
    expect(value(s, 'mcp_gateway_downstream_state', { server: 'search', state: 'failed' })).toBe(1);

    list = [
      { name: 'db', restarts: 1, state: 'connecting' },
      { name: 'notes', restarts: 0, state: 'idle' },
    ];
    s = parseExposition(await m.render());
    expect(value(s, 'mcp_gateway_downstream_restarts_total', { server: 'db' })).toBe(1);
    expect(value(s, 'mcp_gateway_downstream_up', { server: 'db' })).toBe(0);
    expect(find(s, 'mcp_gateway_downstream_state', { server: 'db' }).map((x) => x.labels['state'])).toEqual(['connecting']);
    // A server removed by a reload leaves no series behind.
    expect(find(s, 'mcp_gateway_downstream_up', { server: 'search' })).toEqual([]);
    expect(value(s, 'mcp_gateway_downstream_up', { server: 'notes' })).toBe(0);
  });

  it('survives a provider that throws', async () => {
    const m = metrics(() => {
      throw new Error('pool gone');
    });
    m.onCall(call({}));
    const s = parseExposition(await m.render());
    expect(find(s, 'mcp_gateway_downstream_up')).toEqual([]);
    expect(value(s, 'mcp_gateway_calls_total', { server: 'unknown' })).toBe(1);
  });

  it('counts reloads, rate-limit refusals and active sessions, with zero series from the start', async () => {
    const m = metrics();
    let s = parseExposition(await m.render());
    expect(value(s, 'mcp_gateway_config_reloads_total', { file: 'gateway_rules', result: 'failure' })).toBe(0);
    expect(value(s, 'mcp_gateway_rate_limited_total', { route: 'call' })).toBe(0);
    expect(value(s, 'mcp_gateway_active_sessions', { kind: 'mcp' })).toBe(0);

    m.onReload('gateway_rules', 'failure');
    m.onReload('gateway_rules', 'success');
    m.onReload('gateway_rules', 'success');
    m.onReload('mcp_config', 'success');
    m.onRateLimited('call');
    m.onRateLimited('call');
    m.onRateLimited('session_delete');
    m.setActiveSessions('mcp', 4);
    m.setActiveSessions('rest', 7);
    m.setActiveSessions('rest', 6);
    s = parseExposition(await m.render());
    expect(value(s, 'mcp_gateway_config_reloads_total', { file: 'gateway_rules', result: 'success' })).toBe(2);
    expect(value(s, 'mcp_gateway_config_reloads_total', { file: 'gateway_rules', result: 'failure' })).toBe(1);
    expect(value(s, 'mcp_gateway_config_reloads_total', { file: 'mcp_config', result: 'success' })).toBe(1);
    expect(value(s, 'mcp_gateway_rate_limited_total', { route: 'call' })).toBe(2);
    expect(value(s, 'mcp_gateway_rate_limited_total', { route: 'session_delete' })).toBe(1);
    expect(value(s, 'mcp_gateway_rate_limited_total', { route: 'tools' })).toBe(0);
    expect(value(s, 'mcp_gateway_active_sessions', { kind: 'mcp' })).toBe(4);
    expect(value(s, 'mcp_gateway_active_sessions', { kind: 'rest' })).toBe(6);
  });

  it('has its own registry with prefixed process metrics; two exporters do not collide', async () => {
    const a = metrics();
    const b = metrics();
    a.onRateLimited('tools');
    const text = await a.render();
    expect(a.contentType).toMatch(/^text\/plain; version=0\.0\.4/);
    expect(text).toContain('# TYPE mcp_gateway_calls_total counter');
    expect(text).toContain('# TYPE mcp_gateway_call_duration_seconds histogram');
    const s = parseExposition(text);
    expect(find(s, 'mcp_gateway_process_cpu_user_seconds_total')).toHaveLength(1);
    expect(find(s, 'mcp_gateway_nodejs_heap_size_used_bytes')).toHaveLength(1);
    expect(value(parseExposition(await b.render()), 'mcp_gateway_rate_limited_total', { route: 'tools' })).toBe(0);
    expect(globalRegistry.getSingleMetric('mcp_gateway_calls_total')).toBeUndefined();
    b.close();
    b.close();
    expect((await b.render()).trim()).toBe('');
  });
});

describe('text exposition', () => {
  it('is byte for byte what prom-client writes for the same events, process metrics aside', async () => {
    const m = createMetrics({ serverStates: servers, isConfigured: (s) => s === 'db' || s === 'search' }, { defaultMetrics: false });
    exporters.push(m);
    const registers = [new Registry()];
    const calls = new Counter({ name: 'mcp_gateway_calls_total', help: 'x', labelNames: ['agent', 'server', 'tool', 'decision', 'operation'], registers });
    const duration = new Histogram({
      name: 'mcp_gateway_call_duration_seconds',
      help: 'x',
      labelNames: ['operation', 'server'],
      buckets: [...CALL_DURATION_BUCKETS],
      registers,
    });
    const restarts = new Counter({ name: 'mcp_gateway_downstream_restarts_total', help: 'x', labelNames: ['server'], registers });
    const up = new Gauge({ name: 'mcp_gateway_downstream_up', help: 'x', labelNames: ['server'], registers });
    const state = new Gauge({ name: 'mcp_gateway_downstream_state', help: 'x', labelNames: ['server', 'state'], registers });
    const sessions = new Gauge({ name: 'mcp_gateway_active_sessions', help: 'x', labelNames: ['kind'], registers });
    const reloads = new Counter({ name: 'mcp_gateway_config_reloads_total', help: 'x', labelNames: ['file', 'result'], registers });
    const limited = new Counter({ name: 'mcp_gateway_rate_limited_total', help: 'x', labelNames: ['route'], registers });
    for (const d of servers()) {
      restarts.inc({ server: d.name }, d.restarts);
      up.set({ server: d.name }, d.state === 'ready' ? 1 : 0);
      state.set({ server: d.name, state: d.state }, 1);
    }
    sessions.set({ kind: 'mcp' }, 2);
    sessions.set({ kind: 'rest' }, 0);
    for (const file of ['mcp_config', 'gateway_rules']) for (const result of ['success', 'failure']) reloads.inc({ file, result }, 0);
    reloads.inc({ file: 'gateway_rules', result: 'success' });
    for (const route of ROUTE_CLASSES) limited.inc({ route }, 0);
    limited.inc({ route: 'call' });
    const events = [
      call({ latencyMs: 0.1 }),
      call({ latencyMs: 2_500.25 }),
      call({ tool: 'a "quoted"\\tool\nname', latencyMs: 99_000 }),
      call({ decision: 'DENY', latencyMs: 7 }),
    ];
    for (const e of events) {
      m.onCall(e);
      calls.inc({ agent: e.agent!, server: e.server!, tool: e.tool!, decision: e.decision, operation: e.operation });
      duration.observe({ operation: e.operation, server: e.server! }, e.latencyMs / 1000);
    }
    m.onReload('gateway_rules', 'success');
    m.onRateLimited('call');
    m.setActiveSessions('mcp', 2);
    const help = (text: string): string => text.replace(/^# HELP (\S+) .*$/gm, '# HELP $1 x');
    expect(help(await m.render())).toBe(await registers[0]!.metrics());
  });
});

describe('metrics exporter on a real Gateway', () => {
  afterEach(closeGateways);
  afterAll(cleanupTmpDirs);

  it('counts the calls and reloads the Gateway reports, and the downstream state of its pool', async () => {
    // Assigned once, after the callbacks that read it are built.
    // eslint-disable-next-line prefer-const
    let exporter: GatewayMetricsExporter | undefined;
    const { gateway, rules } = buildGateway(ECHO_SERVERS, ALICE_BOB_RULES, {
      onCall: (e) => exporter?.onCall(e),
      onReload: (file, outcome) => exporter?.onReload(file, outcome),
    });
    exporter = createMetrics(gateway);
    exporters.push(exporter);

    const session = testSession({ id: 'metrics-test' });
    const extra = testExtra();

    let s = parseExposition(await exporter.render());
    expect(value(s, 'mcp_gateway_downstream_up', { server: 'echo' })).toBe(0);
    expect(value(s, 'mcp_gateway_downstream_state', { server: 'echo', state: 'idle' })).toBe(1);

    const ok = await gateway.callTool('execute_tool', { agent_id: 'alice', server: 'echo', tool: 'echo', args: { message: 'hi' } }, extra, session);
    expect(ok.isError).toBeFalsy();
    await gateway.callTool('execute_tool', { agent_id: 'bob', server: 'echo', tool: 'echo', args: { message: 'hi' } }, extra, session);
    await gateway.callTool('execute_tool', { agent_id: 'mallory', server: 'echo', tool: 'echo', args: {} }, extra, session);
    await gateway.callTool('execute_tool', { agent_id: 'alice', server: 'nope', tool: 'echo', args: {} }, extra, session);
    await gateway.callTool('list_servers', { agent_id: 'alice' }, extra, session);
    writeJson(rules, { agents: { alice: { allow: { servers: ['echo'] } } } });
    gateway.reload(['gateway_rules']);

    s = parseExposition(await exporter.render());
    const calls = find(s, 'mcp_gateway_calls_total').map((x) => `${Object.values(x.labels).join(' ')} = ${x.value}`);
    expect(calls.sort()).toEqual(
      [
        'alice echo echo ALLOW execute_tool = 1',
        'bob echo echo DENY execute_tool = 1',
        // An agent_id not in the rules never becomes a label.
        'none echo echo DENY execute_tool = 1',
        'alice unknown unknown DENY execute_tool = 1',
        'alice none none ALLOW list_servers = 1',
      ].sort(),
    );
    expect(value(s, 'mcp_gateway_call_duration_seconds_count', { operation: 'execute_tool', server: 'echo' })).toBe(3);
    expect(value(s, 'mcp_gateway_downstream_up', { server: 'echo' })).toBe(1);
    expect(value(s, 'mcp_gateway_downstream_restarts_total', { server: 'echo' })).toBe(0);
    expect(value(s, 'mcp_gateway_config_reloads_total', { file: 'gateway_rules', result: 'success' })).toBe(1);
  });
});
