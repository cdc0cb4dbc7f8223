import type { Tool } from '@modelcontextprotocol/server';
import { FIELDS, serverNameTerms, serverTerms, titleOf, toolTerms } from './toolFields.js';
import { queryWords, type QueryWord } from './tokens.js';
import { compoundParts } from './compounds.js';
import { NEAR_WEIGHT, nearTerms } from './nearTerms.js';

// A BM25F index of tool lists, one entry per server. Each field of a tool (FIELDS) counts its
// terms; a term's frequencies in all fields are weighted and length-normalized per field,
// summed, and saturated once (BM25F), so a word in the name and the description is not
// counted twice as in a sum of per-field BM25 scores. Query words bring their synonyms at a
// lower weight (synonyms.ts); a tool that matches more of the words, or whose server the
// query names, ranks higher. Weights were set on a golden set of real servers' tools and
// agents' requests. Everything is in memory and in process: no network, no model.

export interface SearchHit {
  readonly server: string;
  readonly tool: string;
  readonly title?: string;
  readonly description: string;
  readonly score: number;
}

export interface SearchOptions {
  readonly limit: number;
  /** The policy: a hit it refuses is never returned. */
  readonly allow: (server: string, tool: string) => boolean;
  /** Only servers it accepts are searched. */
  readonly servers?: (server: string) => boolean;
}

/** Per field of FIELDS: how much a match weighs, and how much the field's length discounts it. */
const WEIGHTS = [3, 1.5, 1.5, 0.7, 0.3, 0.4] as const;
const LENGTH_NORMALIZATION = [0.5, 0.3, 0.3, 0.75, 0.75, 0.3] as const;
/** Added to a tool's score for each query word its server's name holds: "in GitHub", "on Sentry". */
const SERVER_NAME_BONUS = 2;
/**
 * How much matching more of the query's words counts beyond their scores: a score is
 * multiplied by (words matched / words) to this power (Lucene's old coordination factor).
 */
const COVERAGE = 0.5;
/**
 * Added, times the share of a tool's name the query says (synonyms at their weight): a name
 * is the tool's own summary, so "list the tables" is list_tables more than create_table.
 */
const NAME_BONUS = 3;
/** How fast repeated matches saturate. */
const K1 = 2;
/** A larger list is indexed up to here: the search stays fast, whatever a server sends. */
const MAX_TOOLS_PER_SERVER = 5_000;
const MAX_HITS = 100;
/**
 * A hit's server, tool, title and description together take about this many characters: the
 * description is clipped to what the others leave (within the bounds below), so that five
 * hits and the answer around them stay under 500 tokens (characters / 4).
 */
const HIT_TEXT_CHARS = 240;
const MIN_DESCRIPTION_CHARS = 40;
const MAX_DESCRIPTION_CHARS = 180;
const TITLE_CHARS = 60;

interface Doc {
  readonly server: string;
  readonly tool: string;
  readonly title: string | undefined;
  readonly description: string;
  readonly lengths: readonly number[];
  /** The distinct terms of the name. */
  readonly name: readonly string[];
}

interface Posting {
  readonly doc: Doc;
  /** Occurrences of the term per field. */
  readonly counts: readonly number[];
}

interface ServerEntry {
  readonly docs: readonly Doc[];
  readonly nameTerms: ReadonlySet<string>;
  readonly terms: readonly string[];
}

export class ToolIndex {
  /** term -> server -> the postings of that server's tools. */
  readonly #postings = new Map<string, Map<string, Posting[]>>();
  readonly #servers = new Map<string, ServerEntry>();
  /** Sum of the field lengths over all tools, for the average lengths. */
  readonly #totalLengths: number[] = FIELDS.map(() => 0);
  #size = 0;

  /** Replaces what is indexed for `server` (its description may be undefined). */
  update(server: string, serverDescription: string | undefined, tools: readonly Tool[]): void {
    this.remove(server);
    const serverField = serverTerms(server, serverDescription);
    const docs: Doc[] = [];
    const byTerm = new Map<string, Posting[]>();
    const indexed = tools.length > MAX_TOOLS_PER_SERVER ? tools.slice(0, MAX_TOOLS_PER_SERVER) : tools;
    const allFields = indexed.map((tool) => toolTerms(tool, serverField));
    const vocabulary = new Set(allFields.flat(2));
    indexed.forEach((tool, i) => {
      const fields = withCompoundParts(allFields[i]!, vocabulary);
      const fullTitle = titleOf(tool);
      const title = fullTitle === undefined ? undefined : clip(fullTitle, TITLE_CHARS);
      const room = HIT_TEXT_CHARS - server.length - tool.name.length - (title?.length ?? 0);
      const descriptionChars = Math.min(MAX_DESCRIPTION_CHARS, Math.max(MIN_DESCRIPTION_CHARS, room));
      const doc: Doc = {
        server,
        tool: tool.name,
        title,
        description: typeof tool.description === 'string' ? clip(tool.description, descriptionChars) : '',
        lengths: fields.map((terms) => terms.length),
        name: [...new Set(fields[0])],
      };
      docs.push(doc);
      const counts = new Map<string, number[]>();
      fields.forEach((terms, field) => {
        this.#totalLengths[field]! += terms.length;
        for (const term of terms) {
          let perField = counts.get(term);
          if (!perField) {
            perField = FIELDS.map(() => 0);
            counts.set(term, perField);
          }
          perField[field]!++;
        }
      });
      for (const [term, perField] of counts) {
        let postings = byTerm.get(term);
        if (!postings) {
          postings = [];
          byTerm.set(term, postings);
        }
        postings.push({ doc, counts: perField });
      }
    });
    for (const [term, postings] of byTerm) {
      let byServer = this.#postings.get(term);
      if (!byServer) {
        byServer = new Map();
        this.#postings.set(term, byServer);
      }
      byServer.set(server, postings);
    }
    this.#servers.set(server, { docs, nameTerms: new Set(serverNameTerms(server)), terms: [...byTerm.keys()] });
    this.#size += docs.length;
  }

  remove(server: string): void {
    const entry = this.#servers.get(server);
    if (!entry) return;
    for (const term of entry.terms) {
      const byServer = this.#postings.get(term);
      byServer?.delete(server);
      if (byServer?.size === 0) this.#postings.delete(term);
    }
    for (const doc of entry.docs) doc.lengths.forEach((length, field) => (this.#totalLengths[field]! -= length));
    this.#size -= entry.docs.length;
    this.#servers.delete(server);
  }

  has(server: string): boolean {
    return this.#servers.has(server);
  }

  /** Tools indexed. */
  get size(): number {
    return this.#size;
  }

  /** Best first, at most `limit` (and at most MAX_HITS); ties go by server, then tool name. */
  search(query: string, options: SearchOptions): SearchHit[] {
    const limit = Math.min(Math.floor(options.limit), MAX_HITS);
    if (!(limit > 0) || this.#size === 0) return [];
    const words = queryWords(query).map((word) => this.#withNearTerms(word));
    const { scores, matched } = this.#match(words, options.servers);
    const wanted = new Map<string, number>();
    for (const { alternatives } of words) for (const { term, weight } of alternatives) wanted.set(term, Math.max(wanted.get(term) ?? 0, weight));
    const serverBonuses = new Map<string, number>();
    for (const [doc, score] of scores) {
      let serverBonus = serverBonuses.get(doc.server);
      if (serverBonus === undefined) {
        serverBonus = this.#serverBonus(doc.server, words);
        serverBonuses.set(doc.server, serverBonus);
      }
      let said = 0;
      for (const term of doc.name) said += wanted.get(term) ?? 0;
      const nameBonus = doc.name.length === 0 ? 0 : (NAME_BONUS * said) / doc.name.length;
      scores.set(doc, (score + serverBonus + nameBonus) * (matched.get(doc)! / words.length) ** COVERAGE);
    }
    const ranked = [...scores].sort(([a, x], [b, y]) => y - x || compare(a.server, b.server) || compare(a.tool, b.tool));
    const hits: SearchHit[] = [];
    for (const [doc, score] of ranked) {
      if (hits.length >= limit) break;
      if (!options.allow(doc.server, doc.tool)) continue;
      hits.push({
        server: doc.server,
        tool: doc.tool,
        ...(doc.title !== undefined ? { title: doc.title } : {}),
        description: doc.description,
        score: Math.round(score * 1000) / 1000,
      });
    }
    return hits;
  }

  /**
   * The BM25F score of every tool that matches a word, and how many words it matches. A
   * word's synonyms are alternatives: each word adds its best match, so a tool that says
   * both "find" and "search" is not counted twice for "find".
   */
  #match(words: readonly QueryWord[], servers: ((server: string) => boolean) | undefined): { scores: Map<Doc, number>; matched: Map<Doc, number> } {
    const averages = this.#totalLengths.map((total) => Math.max(total / this.#size, 1));
    const searched = new Map<string, boolean>();
    const scores = new Map<Doc, number>();
    const matched = new Map<Doc, number>();
    for (const { alternatives } of words) {
      const best = new Map<Doc, number>();
      for (const { term, weight } of alternatives) {
        const byServer = this.#postings.get(term);
        if (!byServer) continue;
        let found = 0;
        for (const postings of byServer.values()) found += postings.length;
        const idf = Math.log(1 + (this.#size - found + 0.5) / (found + 0.5));
        for (const [server, postings] of byServer) {
          if (servers) {
            let accepted = searched.get(server);
            if (accepted === undefined) {
              accepted = servers(server);
              searched.set(server, accepted);
            }
            if (!accepted) continue;
          }
          for (const { doc, counts } of postings) {
            let frequency = 0;
            for (let field = 0; field < counts.length; field++) {
              const count = counts[field]!;
              if (count === 0) continue;
              const b = LENGTH_NORMALIZATION[field as 0]!;
              frequency += (WEIGHTS[field as 0]! * count) / (1 - b + (b * doc.lengths[field]!) / averages[field]!);
            }
            const score = (weight * idf * frequency * (K1 + 1)) / (K1 + frequency);
            if (score > (best.get(doc) ?? 0)) best.set(doc, score);
          }
        }
      }
      for (const [doc, score] of best) {
        scores.set(doc, (scores.get(doc) ?? 0) + score);
        matched.set(doc, (matched.get(doc) ?? 0) + 1);
      }
    }
    return { scores, matched };
  }

  /** A word no tool says looks for the indexed terms near it (nearTerms.ts). */
  #withNearTerms(word: QueryWord): QueryWord {
    const said = word.alternatives[0]!.term;
    if (this.#postings.has(said)) return word;
    const near = nearTerms(said, this.#postings.keys());
    if (near.length === 0) return word;
    return { alternatives: [...word.alternatives, ...near.map((term) => ({ term, weight: NEAR_WEIGHT }))] };
  }

  /** SERVER_NAME_BONUS for each query word (or synonym, at its weight) the server's name holds. */
  #serverBonus(server: string, words: readonly QueryWord[]): number {
    const nameTerms = this.#servers.get(server)!.nameTerms;
    let bonus = 0;
    for (const { alternatives } of words) {
      let best = 0;
      for (const { term, weight } of alternatives) if (nameTerms.has(term)) best = Math.max(best, weight);
      bonus += SERVER_NAME_BONUS * best;
    }
    return bonus;
  }
}

/** The fields with the name's compound terms followed by their parts (the name is fields[0]). */
function withCompoundParts(fields: readonly (readonly string[])[], vocabulary: ReadonlySet<string>): readonly (readonly string[])[] {
  const name = fields[0]!;
  const parts = name.flatMap((term) => compoundParts(term, vocabulary)).filter((part) => !name.includes(part));
  return parts.length === 0 ? fields : [[...name, ...parts], ...fields.slice(1)];
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** At most `max` characters, cut at a word boundary when one is near, marked with an ellipsis. */
export function clip(text: string, max: number): string {
  const flat = text
    .slice(0, max * 2)
    .replace(/\s+/g, ' ')
    .trim();
  if (flat.length <= max) return flat;
  const cut = flat.slice(0, max - 1);
  const space = cut.lastIndexOf(' ');
  return `${space > max * 0.6 ? cut.slice(0, space) : cut}…`;
}
