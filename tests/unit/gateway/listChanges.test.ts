import { describe, expect, it } from 'vitest';
import { ListChanges, type ListKind } from '../../../src/gateway/native/listChanges.js';
import type { UpstreamSession } from '../../../src/gateway/serverRequests.js';
import { createLogger } from '../../../src/log.js';
import { waitFor } from '../../helpers/processes.js';

function session(id: string, sent: string[]): UpstreamSession {
  return {
    id,
    clientCapabilities: () => ({}),
    request: () => Promise.reject(new Error('none')),
    notifyToolListChanged: () => Promise.resolve(),
    notifyListChanged: (kind) => {
      sent.push(`${id}:${kind}`);
      return Promise.resolve();
    },
  };
}

describe('ListChanges', () => {
  it('checks a burst once, and tells each session only about the lists it was shown that differ', async () => {
    const sent: string[] = [];
    const lists: Record<string, Record<ListKind, unknown>> = {
      s1: { tools: ['a'], resources: [[], []], prompts: [] },
      s2: { tools: ['a'], resources: [[], []], prompts: [] },
    };
    let asked = 0;
    const changes = new ListChanges({
      debounceMs: 10,
      logger: createLogger('silent'),
      current: async (s, kind) => {
        asked++;
        return lists[s.id]![kind];
      },
    });
    const s1 = session('s1', sent);
    const s2 = session('s2', sent);
    changes.shown(s1, 'tools', ['a']);
    changes.shown(s1, 'prompts', []);
    changes.shown(s2, 'tools', ['a']);
    // Nothing differs: a check, no notification.
    for (let i = 0; i < 5; i++) changes.schedule();
    await waitFor(() => asked === 3);
    expect(sent).toEqual([]);

    // s1's tools change; s2's do not; resources were shown to nobody.
    lists['s1']!.tools = ['a', 'b'];
    lists['s1']!.resources = [['r'], []];
    for (let i = 0; i < 5; i++) changes.schedule();
    await waitFor(() => asked === 6);
    expect(sent).toEqual(['s1:tools']);

    // Told once: the same list again is no news. A forgotten session is not asked.
    changes.forget(s2);
    changes.schedule();
    await waitFor(() => asked === 8);
    expect(sent).toEqual(['s1:tools']);
    changes.close();
  });
});
