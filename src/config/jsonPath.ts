// JSON paths as users read them in messages: `agents.backend.deny.tools.db[1]`.
// A key that could be misread in dot form (it holds a dot, a space, a quote, or is empty)
// is written in brackets with JSON quoting, so `team.backend` becomes `agents["team.backend"]`
// and an id with a trailing newline shows up as `agents["agent\n"]`.

export type PathSegment = string | number;

const PLAIN_KEY = /^[A-Za-z0-9_$-]+$/;

export function formatPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (PLAIN_KEY.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
