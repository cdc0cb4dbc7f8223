import { stem } from './stems.js';

// Words that tools and agents use for the same thing. Each group is symmetric: a query word
// also looks for the others, at the group's weight (below 1, so the word the agent used
// ranks first). The table is about the vocabulary of tools in general (CRUD verbs, browser
// actions, the objects of trackers, chats, code hosts and databases), never one server's.

interface Group {
  readonly weight: number;
  readonly words: readonly string[];
}

const GROUPS: readonly Group[] = [
  // verbs
  { weight: 0.6, words: ['create', 'add', 'new', 'make', 'insert', 'generate', 'open', 'write'] },
  { weight: 0.6, words: ['delete', 'remove', 'destroy', 'erase', 'trash', 'purge', 'unlink', 'forget', 'discard'] },
  { weight: 0.35, words: ['list', 'get', 'show', 'find', 'search', 'fetch', 'read', 'retrieve', 'view', 'lookup', 'display', 'query', 'browse'] },
  { weight: 0.6, words: ['list', 'enumerate'] },
  { weight: 0.6, words: ['search', 'find', 'lookup', 'locate', 'grep', 'query', 'filter'] },
  { weight: 0.6, words: ['get', 'fetch', 'read', 'retrieve', 'load', 'download', 'open'] },
  { weight: 0.6, words: ['update', 'edit', 'modify', 'change', 'set', 'patch', 'alter', 'replace', 'rename'] },
  { weight: 0.6, words: ['write', 'save', 'store', 'persist', 'put'] },
  { weight: 0.6, words: ['run', 'execute', 'exec', 'invoke', 'launch', 'trigger', 'start', 'dispatch'] },
  { weight: 0.6, words: ['stop', 'kill', 'terminate', 'cancel', 'abort', 'halt', 'end'] },
  { weight: 0.6, words: ['navigate', 'open', 'go', 'goto', 'browse', 'visit', 'load'] },
  { weight: 0.6, words: ['click', 'press', 'tap'] },
  { weight: 0.6, words: ['type', 'fill', 'enter', 'input'] },
  { weight: 0.6, words: ['screenshot', 'capture', 'snapshot'] },
  { weight: 0.6, words: ['send', 'post', 'publish', 'share'] },
  { weight: 0.6, words: ['reply', 'respond', 'answer', 'comment'] },
  { weight: 0.6, words: ['copy', 'duplicate', 'clone'] },
  { weight: 0.6, words: ['move', 'relocate', 'transfer'] },
  { weight: 0.6, words: ['close', 'resolve', 'finish'] },
  { weight: 0.6, words: ['diff', 'compare', 'difference'] },
  { weight: 0.6, words: ['upload', 'attach'] },
  { weight: 0.6, words: ['download', 'export'] },
  { weight: 0.6, words: ['validate', 'verify', 'check'] },
  { weight: 0.6, words: ['evaluate', 'eval', 'javascript', 'js', 'script'] },
  { weight: 0.6, words: ['wait', 'sleep', 'pause', 'delay'] },
  { weight: 0.6, words: ['notify', 'notification', 'alert'] },
  { weight: 0.6, words: ['watch', 'monitor', 'follow', 'subscribe', 'track'] },
  { weight: 0.6, words: ['approve', 'approval', 'review'] },
  // nouns
  { weight: 0.6, words: ['file', 'document'] },
  { weight: 0.6, words: ['page', 'doc', 'document', 'article', 'note'] },
  { weight: 0.6, words: ['folder', 'directory', 'dir'] },
  { weight: 0.7, words: ['issue', 'ticket', 'bug', 'defect'] },
  { weight: 0.5, words: ['issue', 'task', 'todo'] },
  { weight: 0.8, words: ['pr', 'mr'] },
  { weight: 0.8, words: ['repo', 'repository'] },
  { weight: 0.6, words: ['message', 'chat', 'post', 'msg', 'dm'] },
  { weight: 0.6, words: ['channel', 'room', 'conversation'] },
  { weight: 0.8, words: ['db', 'database'] },
  { weight: 0.6, words: ['sql', 'query'] },
  { weight: 0.6, words: ['table', 'collection'] },
  { weight: 0.6, words: ['record', 'row', 'entry'] },
  { weight: 0.6, words: ['user', 'member', 'person', 'people', 'account', 'profile', 'collaborator', 'teammate'] },
  { weight: 0.6, words: ['org', 'organization', 'organisation', 'workspace', 'team'] },
  { weight: 0.6, words: ['error', 'exception', 'crash', 'failure'] },
  { weight: 0.6, words: ['image', 'picture', 'photo', 'img', 'png', 'jpeg', 'jpg', 'gif', 'media'] },
  { weight: 0.6, words: ['url', 'link', 'address', 'https'] },
  { weight: 0.6, words: ['website', 'site', 'web', 'webpage', 'page', 'homepage'] },
  { weight: 0.6, words: ['http', 'network', 'request', 'traffic'] },
  { weight: 0.8, words: ['email', 'mail', 'inbox'] },
  { weight: 0.6, words: ['event', 'meeting', 'appointment'] },
  { weight: 0.6, words: ['calendar', 'schedule'] },
  { weight: 0.6, words: ['config', 'configuration', 'setting', 'preference', 'option'] },
  { weight: 0.6, words: ['info', 'information', 'metadata', 'detail', 'stat', 'properties'] },
  { weight: 0.6, words: ['status', 'state'] },
  { weight: 0.6, words: ['permission', 'access', 'role', 'restriction'] },
  { weight: 0.6, words: ['label', 'tag'] },
  { weight: 0.6, words: ['relation', 'relationship', 'connection', 'edge', 'link'] },
  { weight: 0.6, words: ['entity', 'node'] },
  { weight: 0.6, words: ['observation', 'fact'] },
  { weight: 0.6, words: ['column', 'field', 'attribute'] },
  { weight: 0.6, words: ['schema', 'structure', 'describe'] },
  { weight: 0.6, words: ['size', 'space', 'bytes'] },
  { weight: 0.6, words: ['multiple', 'several', 'batch', 'bulk'] },
  { weight: 0.6, words: ['secret', 'credential', 'password', 'token'] },
  { weight: 0.6, words: ['discussion', 'forum'] },
  { weight: 0.6, words: ['invoice', 'bill', 'billing'] },
  { weight: 0.6, words: ['charge', 'payment', 'pay'] },
  { weight: 0.6, words: ['subscription', 'plan', 'membership'] },
  { weight: 0.6, words: ['distance', 'far'] },
  { weight: 0.6, words: ['direction', 'route', 'drive', 'travel'] },
  { weight: 0.6, words: ['elevation', 'altitude', 'height'] },
  { weight: 0.6, words: ['latest', 'recent', 'newest', 'last'] },
  { weight: 0.6, words: ['log', 'history'] },
  { weight: 0.6, words: ['reaction', 'emoji'] },
  { weight: 0.6, words: ['favorite', 'star', 'bookmark'] },
  { weight: 0.6, words: ['workflow', 'pipeline'] },
  { weight: 0.6, words: ['time', 'clock', 'date'] },
  { weight: 0.6, words: ['memory', 'remember', 'recall', 'memorize'] },
  { weight: 0.6, words: ['content', 'contents', 'text', 'body'] },
  // a file named by its kind: "what README.md says", "the config.yaml"
  { weight: 0.5, words: ['file', 'readme', 'md', 'txt', 'csv', 'yaml', 'yml', 'toml'] },
  // who the caller is signed in as: get_me, whoami, "the authenticated user"
  { weight: 0.6, words: ['whoami', 'login', 'authenticated', 'signed', 'current'] },
  { weight: 0.5, words: ['repo', 'repository', 'project', 'codebase'] },
  { weight: 0.6, words: ['note', 'observation', 'fact', 'remark'] },
  { weight: 0.6, words: ['balance', 'money', 'funds', 'fund'] },
  { weight: 0.6, words: ['uptime', 'downtime', 'outage', 'availability'] },
];

/** Phrases read as one more word, on both the indexed and the query side (after stemming). */
export const PHRASES: readonly (readonly [string, string, string])[] = [
  ['pull', 'request', 'pr'],
  ['merge', 'request', 'mr'],
  ['web', 'page', 'webpage'],
].map(([a, b, word]) => [stem(a!), stem(b!), stem(word!)] as const);

/** Stem -> its synonyms' stems with the weight of the strongest group they share. */
const TABLE: ReadonlyMap<string, ReadonlyMap<string, number>> = (() => {
  const table = new Map<string, Map<string, number>>();
  for (const group of GROUPS) {
    const stems = [...new Set(group.words.map(stem))];
    for (const from of stems) {
      let entry = table.get(from);
      if (!entry) {
        entry = new Map();
        table.set(from, entry);
      }
      for (const to of stems) if (to !== from) entry.set(to, Math.max(entry.get(to) ?? 0, group.weight));
    }
  }
  return table;
})();

/** The synonyms of a stemmed word and their weights (none for most words). */
export function synonymsOf(term: string): ReadonlyMap<string, number> | undefined {
  return TABLE.get(term);
}
