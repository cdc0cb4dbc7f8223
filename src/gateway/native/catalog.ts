import type { Prompt, Resource, ResourceTemplateType } from '@modelcontextprotocol/server';
import { ListPromptsResultSchema, ListResourcesResultSchema, ListResourceTemplatesResultSchema } from '@modelcontextprotocol/core';
import type { DownstreamConnection } from '../../downstream/connection.js';
import { collectPages } from '../../downstream/toolList.js';
import { UNLISTED_PROMPT } from '../context.js';

// What a downstream server offers besides tools (its tools are cached by the connection
// itself). Lists are cached per connection object until the server says the list changed or
// the connection restarts; a replaced connection is a new key, so nothing goes stale.

export type CatalogKind = 'resources' | 'resourceTemplates' | 'prompts';

interface Lists {
  resources?: Promise<readonly Resource[]>;
  resourceTemplates?: Promise<readonly ResourceTemplateType[]>;
  prompts?: Promise<readonly Prompt[]>;
  /** Prompts the vetter withheld from `prompts`, with its reason. */
  promptsWithheld?: ReadonlyMap<string, string>;
  /** The vetter enforces: a prompt not in `prompts` may not be fetched (set by the first vetted listing). */
  promptsEnforced?: boolean;
}

/** What a prompt list is cut down to before anyone sees it (the gateway's pins). */
export type PromptVetter = (
  server: string,
  prompts: readonly Prompt[],
) => { readonly items: readonly Prompt[]; readonly withheld: ReadonlyMap<string, string>; readonly enforced: boolean };

export class Catalog {
  #lists = new WeakMap<DownstreamConnection, Lists>();
  readonly #vetPrompts: PromptVetter | undefined;

  constructor(vetPrompts?: PromptVetter) {
    this.#vetPrompts = vetPrompts;
  }

  /** Forgets the cached lists of a connection: all of them, or those of one kind. */
  invalidate(connection: DownstreamConnection, kind?: CatalogKind): void {
    if (kind === undefined) {
      this.#lists.delete(connection);
      return;
    }
    const lists = this.#lists.get(connection);
    if (!lists) return;
    delete lists[kind];
    // promptsEnforced stays: with it, a prompt asked for while its list is fetched again is
    // refused as unlisted rather than forwarded unchecked.
    if (kind === 'prompts') delete lists.promptsWithheld;
  }

  resources(connection: DownstreamConnection): Promise<readonly Resource[]> {
    return this.#cached(connection, 'resources', async () =>
      (await supports(connection, 'resources')) ? pages(connection, 'resources/list', ListResourcesResultSchema, (r) => r.resources) : [],
    );
  }

  resourceTemplates(connection: DownstreamConnection): Promise<readonly ResourceTemplateType[]> {
    return this.#cached(connection, 'resourceTemplates', async () =>
      (await supports(connection, 'resources')) ? pages(connection, 'resources/templates/list', ListResourceTemplatesResultSchema, (r) => r.resourceTemplates) : [],
    );
  }

  prompts(connection: DownstreamConnection): Promise<readonly Prompt[]> {
    return this.#cached(connection, 'prompts', async () => {
      // Taken before the first await: the entry this listing belongs to (an invalidation may replace it).
      const entry = this.#lists.get(connection);
      const listed = (await supports(connection, 'prompts')) ? await pages(connection, 'prompts/list', ListPromptsResultSchema, (r) => r.prompts) : [];
      if (this.#vetPrompts === undefined) return listed;
      const vetted = this.#vetPrompts(connection.name, listed);
      if (entry) {
        entry.promptsWithheld = vetted.withheld;
        entry.promptsEnforced = vetted.enforced;
      }
      return vetted.items;
    });
  }

  /**
   * Why the prompt `name` may not be fetched from the connection (listing it if needed): the
   * reason it is withheld, or UNLISTED_PROMPT when enforced pins never saw it (a server can serve a
   * prompt it does not list). Undefined when it may be, or nothing is vetted.
   */
  async untrustedPrompt(connection: DownstreamConnection, name: string): Promise<string | undefined> {
    if (this.#vetPrompts === undefined) return undefined;
    const prompts = await this.prompts(connection);
    const lists = this.#lists.get(connection);
    const withheld = lists?.promptsWithheld?.get(name);
    if (withheld !== undefined) return withheld;
    return lists?.promptsEnforced === true && !prompts.some((p) => p.name === name) ? UNLISTED_PROMPT : undefined;
  }

  #cached<K extends CatalogKind>(connection: DownstreamConnection, kind: K, load: () => Promise<NonNullable<Awaited<Lists[K]>>>): NonNullable<Lists[K]> {
    let lists = this.#lists.get(connection);
    if (!lists) {
      lists = {};
      this.#lists.set(connection, lists);
    }
    const entry = lists;
    const existing = entry[kind];
    if (existing) return existing as NonNullable<Lists[K]>;
    const loading = load().then((list) => Object.freeze([...list]));
    // A failure is not remembered: the next listing asks again.
    loading.catch(() => {
      if (entry[kind] === loading) delete entry[kind];
    });
    entry[kind] = loading as Lists[K];
    return loading as NonNullable<Lists[K]>;
  }
}

async function supports(connection: DownstreamConnection, capability: 'resources' | 'prompts'): Promise<boolean> {
  await connection.connect();
  return connection.serverCapabilities?.[capability] !== undefined;
}

function pages<S extends { parse(value: unknown): { nextCursor?: string | undefined } }, T>(
  connection: DownstreamConnection,
  method: string,
  schema: S & Parameters<DownstreamConnection['request']>[1],
  items: (page: ReturnType<S['parse']>) => readonly T[],
): Promise<T[]> {
  return collectPages(
    method,
    async (cursor) => (await connection.request({ method, ...(cursor !== undefined ? { params: { cursor } } : {}) }, schema)) as ReturnType<S['parse']>,
    items,
  );
}
