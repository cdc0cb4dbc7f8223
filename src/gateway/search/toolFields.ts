import type { Tool } from '@modelcontextprotocol/server';
import { isPlainObject } from '../../values.js';
import { termsOf } from './tokens.js';

// What of a tool is searched, field by field, each bounded: a downstream's tool list is not
// trusted to be small (descriptions of many kilobytes, schemas nested without end).

export const FIELDS = ['name', 'title', 'summary', 'description', 'parameters', 'server'] as const;

const LIMITS = {
  name: { chars: 256, terms: 32 },
  title: { chars: 256, terms: 32 },
  summary: { chars: 300, terms: 40 },
  description: { chars: 4_000, terms: 400 },
  parameters: { chars: 4_000, terms: 300 },
  server: { chars: 1_000, terms: 100 },
} as const;
/** Parameters read from inputSchema: this many, at most this deep (a nested object's or an array item's properties). */
const MAX_PARAMETERS = 64;
const MAX_PARAMETER_DEPTH = 2;
const MAX_PARAMETER_DESCRIPTION_CHARS = 300;

/** The title a client shows: `title`, else the annotations' title. */
export function titleOf(tool: Tool): string | undefined {
  if (typeof tool.title === 'string' && tool.title !== '') return tool.title;
  const annotated = isPlainObject(tool.annotations) ? tool.annotations['title'] : undefined;
  return typeof annotated === 'string' && annotated !== '' ? annotated : undefined;
}

/** The terms of each field of FIELDS; `serverTerms` are the same for all of a server's tools, so the caller computes them once. */
export function toolTerms(tool: Tool, serverTerms: readonly string[]): readonly (readonly string[])[] {
  const title = titleOf(tool);
  return [
    termsOf(tool.name, LIMITS.name.chars, LIMITS.name.terms),
    title !== undefined ? termsOf(title, LIMITS.title.chars, LIMITS.title.terms) : [],
    typeof tool.description === 'string' ? termsOf(firstSentence(tool.description), LIMITS.summary.chars, LIMITS.summary.terms) : [],
    typeof tool.description === 'string' ? termsOf(tool.description, LIMITS.description.chars, LIMITS.description.terms) : [],
    termsOf(parameterText(tool.inputSchema), LIMITS.parameters.chars, LIMITS.parameters.terms),
    serverTerms,
  ];
}

/**
 * A description's first sentence: what the tool does, before the usage notes, examples and
 * caveats that long descriptions go on with.
 */
function firstSentence(description: string): string {
  const head = description.slice(0, LIMITS.summary.chars);
  const end = head.search(/[.!?](\s|$)|\n\s*\n/);
  return end < 0 ? head : head.slice(0, end);
}

/** The terms of a server's name, which a query that names the server says. */
export function serverNameTerms(server: string): string[] {
  return termsOf(server, LIMITS.name.chars, LIMITS.name.terms);
}

export function serverTerms(server: string, description: string | undefined): string[] {
  return termsOf(description === undefined ? server : `${server} ${description}`, LIMITS.server.chars, LIMITS.server.terms);
}

/** Parameter names and descriptions as one text, breadth first, bounded in count, depth and length. */
function parameterText(schema: unknown): string {
  const parts: string[] = [];
  let length = 0;
  let level: unknown[] = [schema];
  for (let depth = 0; depth < MAX_PARAMETER_DEPTH && level.length > 0; depth++) {
    const next: unknown[] = [];
    for (const node of level) {
      const properties = isPlainObject(node) ? node['properties'] : undefined;
      if (!isPlainObject(properties)) continue;
      // for-in stops early: a schema may have very many properties.
      for (const name in properties) {
        if (parts.length >= MAX_PARAMETERS || length >= LIMITS.parameters.chars) return parts.join('. ');
        const property = properties[name];
        const description =
          isPlainObject(property) && typeof property['description'] === 'string' ? property['description'].slice(0, MAX_PARAMETER_DESCRIPTION_CHARS) : '';
        const part = `${name} ${description}`;
        parts.push(part);
        length += part.length + 2;
        if (isPlainObject(property)) next.push(property, property['items']);
      }
    }
    level = next;
  }
  return parts.join('. ');
}
