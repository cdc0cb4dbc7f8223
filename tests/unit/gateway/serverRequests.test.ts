import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { ServerRequestRouter, type CallPeer, type RequestExtra, type UpstreamSession } from '../../../src/gateway/serverRequests.js';

const never = new AbortController().signal;
const ELICIT = { method: 'elicitation/create', params: { message: 'Delete everything?', requestedSchema: { type: 'object', properties: {} } } };

function peer(id: string, answers: unknown[]): CallPeer {
  const session: UpstreamSession = {
    id,
    clientCapabilities: () => ({ elicitation: { form: {} } }),
    request: () => Promise.reject(new Error('not on the session')),
    notifyToolListChanged: () => Promise.resolve(),
  };
  const extra = {
    mcpReq: {
      send: (request: unknown) => {
        answers.push(request);
        return Promise.resolve({ action: 'decline' });
      },
    },
  } as unknown as RequestExtra;
  return { session, extra };
}

describe('ServerRequestRouter', () => {
  it('asks the caller whose call is in flight on the server', async () => {
    const router = new ServerRequestRouter(pino({ level: 'silent' }));
    const asked: unknown[] = [];
    router.track('db', peer('s1', asked), 'alice');
    router.track('db', peer('s2', asked), 'alice');
    expect(await router.route('db', ELICIT, { signal: never })).toEqual({ action: 'decline' });
    expect(asked).toHaveLength(1);
  });

  it('refuses to route when calls of several agents are in flight on the server: no question crosses agents', async () => {
    const router = new ServerRequestRouter(pino({ level: 'silent' }));
    const asked: unknown[] = [];
    const doneAlice = router.track('db', peer('s1', asked), 'alice');
    router.track('db', peer('s2', asked), 'bob');
    await expect(router.route('db', ELICIT, { signal: never })).rejects.toMatchObject({ code: -32600 });
    expect(asked).toEqual([]);
    doneAlice();
    expect(await router.route('db', ELICIT, { signal: never })).toEqual({ action: 'decline' });
  });
});
