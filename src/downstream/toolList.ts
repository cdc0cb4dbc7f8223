// A downstream's tool list, every page of it, and the one paging loop that every list
// request (tools, resources, resource templates, prompts) goes through.

import type { Logger } from 'pino';
import { z } from 'zod';
import type { Client, Tool } from '@modelcontextprotocol/client';
import { isPlainObject } from '../values.js';

/** A server that keeps handing out cursors is broken; stop instead of looping forever. */
const MAX_LIST_PAGES = 1_000;

/**
 * Every item of a paginated `method`: `fetchPage` asks for one page (the first with no
 * cursor). Fails on more than MAX_LIST_PAGES pages or a cursor handed out twice.
 */
export async function collectPages<P extends { nextCursor?: string | undefined }, T>(
  method: string,
  fetchPage: (cursor: string | undefined) => Promise<P>,
  items: (page: P) => readonly T[],
): Promise<T[]> {
  const out: T[] = [];
  const seen = new Set<string>();
  let cursor: string | undefined;
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    const result = await fetchPage(cursor);
    out.push(...items(result));
    cursor = result.nextCursor;
    if (cursor === undefined) return out;
    if (seen.has(cursor)) throw new Error(`${method} repeated cursor ${JSON.stringify(cursor)}`);
    seen.add(cursor);
  }
  throw new Error(`${method} returned more than ${MAX_LIST_PAGES} pages`);
}

/**
 * tools/list pages, validated only as far as we rely on them. The SDK's ToolSchema would
 * strip fields it does not know (newer annotations, vendor keys) and rebuild every schema;
 * the gateway hands tools to models as the server described them.
 */
const ToolsPageSchema = z.looseObject({
  tools: z.array(z.unknown()),
  nextCursor: z.string().optional(),
});

/** All tools of the server behind `client`, frozen; tools without a name or inputSchema are left out. */
export async function fetchToolList(client: Client, timeout: number, log: Logger): Promise<Tool[]> {
  const tools = await collectPages(
    'tools/list',
    // Not client.listTools(): it resets the SDK's per-tool caches on every page.
    (cursor) => client.request({ method: 'tools/list', params: cursor !== undefined ? { cursor } : {} }, ToolsPageSchema, { timeout }),
    (page) =>
      page.tools.filter((tool): tool is Tool => {
        if (isPlainObject(tool) && typeof tool.name === 'string' && isPlainObject(tool.inputSchema)) return true;
        log.warn({ tool: isPlainObject(tool) ? tool.name : undefined }, 'downstream tool without name or inputSchema ignored');
        return false;
      }),
  );
  return Object.freeze(tools) as Tool[];
}

/**
 * What a listing is cut down to before anyone sees it (the gateway's pinned definitions), and
 * why each withheld name is withheld.
 */
export interface VettedTools {
  readonly tools: Tool[];
  readonly withheld: ReadonlyMap<string, string>;
}

export type ToolVetter = (server: string, tools: Tool[]) => VettedTools;

/** A connection's tool list, cached until list_changed or a reconnect. */
export class ToolCache {
  #tools: Tool[] | undefined;
  /** The list as the server gave it, kept so that it can be vetted again without asking. */
  #listed: Tool[] | undefined;
  #withheld: ReadonlyMap<string, string> | undefined;
  #loading: Promise<Tool[]> | undefined;
  /** Bumped on every drop, so a listing that raced one is not kept. */
  #epoch = 0;

  get tools(): Tool[] | undefined {
    return this.#tools;
  }

  /** Names the vetter withheld from `tools`, with its reason. */
  get withheld(): ReadonlyMap<string, string> | undefined {
    return this.#withheld;
  }

  get epoch(): number {
    return this.#epoch;
  }

  drop(): void {
    this.#epoch++;
    this.#tools = undefined;
    this.#listed = undefined;
    this.#withheld = undefined;
    this.#loading = undefined;
  }

  /** Keeps `vetted`, made of `listed` (listed from `epoch` on), unless the cache was dropped since. */
  keep(epoch: number, listed: Tool[], vetted: VettedTools): void {
    if (epoch !== this.#epoch) return;
    this.#listed = listed;
    this.#tools = vetted.tools;
    this.#withheld = vetted.withheld;
  }

  /**
   * Vets the kept listing again; true when what is withheld changed (the list is then a new
   * object). The same withheld names keep the same list object, which consumers key caches by.
   */
  revet(vet: (listed: Tool[]) => VettedTools): boolean {
    if (this.#listed === undefined) return false;
    const vetted = vet(this.#listed);
    if (sameWithheld(vetted.withheld, this.#withheld)) return false;
    this.#tools = vetted.tools;
    this.#withheld = vetted.withheld;
    return true;
  }

  /** The listing in progress, or a new one made by `load`: concurrent callers share one. */
  shared(load: () => Promise<Tool[]>): Promise<Tool[]> {
    if (!this.#loading) {
      const loading = load().finally(() => {
        if (this.#loading === loading) this.#loading = undefined;
      });
      this.#loading = loading;
    }
    return this.#loading;
  }
}

function sameWithheld(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string> | undefined): boolean {
  if (b === undefined || a.size !== b.size) return false;
  for (const [name, reason] of a) if (b.get(name) !== reason) return false;
  return true;
}
