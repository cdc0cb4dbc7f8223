// Reads a V8 .cpuprofile (node --cpu-prof) and says where the time went: self time per
// function and per area (a package, a node internal module, a gateway source folder).

import { readFileSync } from 'node:fs';
import { dirname, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadBundleMap, type BundleMap } from './sourceMap.js';

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
  readonly columnNumber?: number;
}

interface ProfileNode {
  readonly id: number;
  callFrame: CallFrame;
  readonly children?: readonly number[];
}

interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly samples: readonly number[];
  readonly timeDeltas: readonly number[];
  readonly startTime: number;
  readonly endTime: number;
}

export interface ProfileEntry {
  readonly name: string;
  readonly selfMs: number;
  /** Share of the busy (non-idle) time. */
  readonly share: number;
}

export interface ProfileSummary {
  readonly file: string;
  readonly wallMs: number;
  readonly idleMs: number;
  readonly busyMs: number;
  readonly topFunctions: readonly ProfileEntry[];
  readonly areas: readonly ProfileEntry[];
  /** The gateway's own functions (dist/src) by inclusive time: themselves and what they call synchronously. */
  readonly gatewayInclusive: readonly ProfileEntry[];
}

/** Where a script lives, in a few words: `sdk/shared/protocol`, `zod`, `node:streams`, `gateway/src/gateway`. */
export function areaOf(frame: CallFrame): string {
  const { url, functionName } = frame;
  if (!url) {
    if (functionName === '(garbage collector)') return 'GC';
    if (functionName === '(program)') return '(program: V8/native, incl. compile)';
    if (functionName === '(idle)') return '(idle)';
    return `native ${functionName || '(anonymous)'}`;
  }
  if (url.startsWith('node:')) {
    const parts = url.slice(5).split('/');
    return parts[0] === 'internal' ? `node:${parts[1] ?? 'internal'}` : `node:${parts[0]}`;
  }
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) {
    const rest = url.slice(nm + '/node_modules/'.length).split('/');
    const pkg = rest[0]?.startsWith('@') ? `${rest[0]}/${rest[1]}` : (rest[0] ?? '?');
    if (pkg === '@modelcontextprotocol/sdk') {
      // dist/esm/shared/protocol.js -> sdk/shared/protocol
      const file = rest.slice(4).join('/').replace(/\.js$/, '');
      return `sdk/${file}`;
    }
    return pkg;
  }
  const dist = url.indexOf('/dist/');
  if (dist >= 0) {
    const parts = url.slice(dist + 6).split('/');
    return parts.length > 2 ? `gateway/${parts.slice(0, -1).join('/')}` : `gateway/${parts.join('/')}`;
  }
  return url.slice(url.lastIndexOf('/') + 1);
}

function shortUrl(url: string): string {
  const nm = url.lastIndexOf('/node_modules/');
  if (nm >= 0) return url.slice(nm + 14);
  const dist = url.indexOf('/dist/');
  if (dist >= 0) return url.slice(dist + 1);
  return url.replace(/^file:\/\//, '');
}

/**
 * The gateway is one bundle (dist/gateway.cjs, config/bundle.mjs): frames in it are given the
 * URL and line of their source, in the shape of the unbundled build (dist/src/...js,
 * node_modules/...), so areas and the gateway's own functions read as before.
 */
function unbundle(profile: CpuProfile): void {
  const maps = new Map<string, BundleMap | undefined>();
  for (const node of profile.nodes) {
    const { url } = node.callFrame;
    if (!url.endsWith('.cjs') || !url.startsWith('file://')) continue;
    const bundle = fileURLToPath(url);
    if (!maps.has(bundle)) maps.set(bundle, loadBundleMap(bundle));
    const map = maps.get(bundle);
    const at = map?.lookup(node.callFrame.lineNumber, node.callFrame.columnNumber ?? 0);
    if (!at) continue;
    const root = dirname(dirname(bundle));
    const source = at.path.includes('/node_modules/') ? at.path : `${root}/dist/${relative(root, at.path).replace(/\.ts$/, '.js')}`;
    node.callFrame = { ...node.callFrame, url: `file://${source}`, lineNumber: at.line };
  }
}

/**
 * `window` (ms since the profile started, which is within a few ms of the process start)
 * keeps only the samples taken inside it, e.g. the measured calls without the start-up.
 */
export function summarizeProfile(file: string, window?: { fromMs: number; toMs: number }, top = 15): ProfileSummary {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  unbundle(profile);
  const byId = new Map<number, ProfileNode>();
  for (const node of profile.nodes) byId.set(node.id, node);
  const parent = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parent.set(child, node.id);
  const selfUs = new Map<number, number>();
  const from = (window?.fromMs ?? 0) * 1000;
  const to = (window?.toMs ?? Infinity) * 1000;
  let at = 0;
  for (let i = 0; i < profile.samples.length; i++) {
    const delta = profile.timeDeltas[i] ?? 0;
    at += delta;
    if (at < from || at > to) continue;
    const id = profile.samples[i]!;
    selfUs.set(id, (selfUs.get(id) ?? 0) + delta);
  }
  const fnTime = new Map<string, number>();
  const inclusive = new Map<string, number>();
  for (const [id, us] of selfUs) {
    const seen = new Set<string>();
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const frame = byId.get(cur)?.callFrame;
      if (!frame || !frame.url.includes('/dist/src/')) continue;
      const key = `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}`;
      if (seen.has(key)) continue;
      seen.add(key);
      inclusive.set(key, (inclusive.get(key) ?? 0) + us);
    }
  }
  const areaTime = new Map<string, number>();
  let idleUs = 0;
  let totalUs = 0;
  for (const [id, us] of selfUs) {
    const frame = byId.get(id)?.callFrame;
    if (!frame) continue;
    totalUs += us;
    if (frame.functionName === '(idle)') {
      idleUs += us;
      continue;
    }
    const fn = frame.url ? `${frame.functionName || '(anonymous)'} ${shortUrl(frame.url)}:${frame.lineNumber + 1}` : frame.functionName;
    fnTime.set(fn, (fnTime.get(fn) ?? 0) + us);
    const area = areaOf(frame);
    areaTime.set(area, (areaTime.get(area) ?? 0) + us);
  }
  const busyUs = totalUs - idleUs;
  const entries = (m: Map<string, number>, n: number): ProfileEntry[] =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([name, us]) => ({ name, selfMs: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }));
  return {
    file,
    wallMs: window ? Math.min(window.toMs, (profile.endTime - profile.startTime) / 1000) - window.fromMs : (profile.endTime - profile.startTime) / 1000,
    idleMs: idleUs / 1000,
    busyMs: busyUs / 1000,
    topFunctions: entries(fnTime, top),
    areas: entries(areaTime, top),
    gatewayInclusive: entries(inclusive, top),
  };
}
