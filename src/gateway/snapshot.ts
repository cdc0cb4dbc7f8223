// The one way a Snapshot is made, at start and by every reload: frozen, so a call holding one
// can trust it never changes under it.
import type { RulesConfig, ServerSpec, ServersConfig } from '../config/types.js';
import { compilePolicy } from '../policy/engine.js';
import type { Policy } from '../policy/types.js';
import type { Snapshot } from './context.js';

export function buildSnapshot(revision: number, servers: ServersConfig, rules: RulesConfig): Snapshot {
  return freezeSnapshot(revision, compilePolicy(rules), rules, new Map(servers.servers.map((s) => [s.name, s] as const)));
}

export function freezeSnapshot(revision: number, policy: Policy, rules: RulesConfig, servers: ReadonlyMap<string, ServerSpec>): Snapshot {
  return Object.freeze({ revision, policy, rules, servers, serverNames: Object.freeze([...servers.keys()]) });
}
