import type { Decision, RememberedDecisions } from './types.js';

// Server and tool decisions remembered by the compiled policy they come from (a reload
// compiles a new one, so entries never go stale). Decisions are the policy's own frozen
// objects. Keys are length-prefixed, so no name (whatever characters a caller puts in it) can
// collide with another combination. Names come from callers, so a map is emptied when it
// reaches MAX_DECISIONS entries or MAX_KEY_CHARS characters of keys instead of growing (the
// gateway refuses over-long names before they get here; the budget holds whatever does).
const MAX_DECISIONS = 10_000;
const MAX_KEY_CHARS = 2_000_000;

class BoundedDecisions {
  readonly #map = new Map<string, Decision>();
  #keyChars = 0;

  get(key: string): Decision | undefined {
    return this.#map.get(key);
  }

  remember(key: string, decision: Decision): Decision {
    if (this.#map.size >= MAX_DECISIONS || this.#keyChars + key.length > MAX_KEY_CHARS) {
      this.#map.clear();
      this.#keyChars = 0;
    }
    // A key over the whole budget is decided afresh every time instead.
    if (key.length <= MAX_KEY_CHARS) {
      this.#map.set(key, decision);
      this.#keyChars += key.length;
    }
    return decision;
  }
}

/** decideServer and decideTool, remembered: the call path asks the same questions on every call. */
export class DecisionMemo implements RememberedDecisions {
  readonly #servers = new BoundedDecisions();
  readonly #tools = new BoundedDecisions();
  readonly #decideServer: (agentId: string, server: string) => Decision;
  readonly #decideTool: (agentId: string, server: string, tool: string) => Decision;

  constructor(decideServer: (agentId: string, server: string) => Decision, decideTool: (agentId: string, server: string, tool: string) => Decision) {
    this.#decideServer = decideServer;
    this.#decideTool = decideTool;
  }

  server(agentId: string, server: string): Decision {
    const key = `${agentId.length}:${agentId}${server}`;
    return this.#servers.get(key) ?? this.#servers.remember(key, this.#decideServer(agentId, server));
  }

  tool(agentId: string, server: string, tool: string): Decision {
    const key = `${agentId.length}:${agentId}${server.length}:${server}${tool}`;
    return this.#tools.get(key) ?? this.#tools.remember(key, this.#decideTool(agentId, server, tool));
  }
}
