// Which failure, if any, the gateway itself made of a call. A downstream `isError` result
// and a gateway-made refusal look alike on the wire (both isError, both may carry
// structuredContent); REST must answer 200 for the first and 403/404/503/504 for the second.
// The gateway tells its call observer the code of every call it failed, inside the call's
// own async context, so the REST request that made the call reads it from there.
import { AsyncLocalStorage } from 'node:async_hooks';
import type { CallEvent } from '../gateway/options.js';

export class CallOutcomes {
  readonly #storage = new AsyncLocalStorage<{ event?: CallEvent }>();

  /** Pass to GatewayOptions.onCall (directly or from a composed observer). */
  readonly observe = (event: CallEvent): void => {
    const slot = this.#storage.getStore();
    if (slot && slot.event === undefined) slot.event = event;
  };

  async run<T>(fn: () => Promise<T>): Promise<{ value: T; event: CallEvent | undefined }> {
    const slot: { event?: CallEvent } = {};
    const value = await this.#storage.run(slot, fn);
    return { value, event: slot.event };
  }
}
