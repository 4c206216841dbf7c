// Gets a message to its recipients wherever they are connected:
//   1. straight to the sockets of recipients connected to this node;
//   2. through the relay to every other node that holds one of them
//      (`sendToUsers`, routed by the relay's presence);
//   3. into this node's offline store for the recipients online nowhere,
//      until one of them comes back (`flush`).
import type WebSocket from 'ws';
import { isRelayError, type RelayClient } from '../../src/index.js';
import type { ChatMessage, DeliveryStatus, RelayMessage, ServerFrame } from './messages.js';
import type { OfflineStore } from './offline-store.js';
import type { Sessions } from './sessions.js';

export class Courier {
  /** Sends whose report has not been handled yet. */
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(
    private readonly relay: RelayClient<RelayMessage>,
    private readonly sessions: Sessions,
    private readonly store: OfflineStore,
    private readonly log: (line: string) => void,
  ) {}

  /**
   * Delivers a new message to `recipients` (the sender included, for the
   * sender's other tabs; `except` is the tab it came from) and stores it for
   * those online nowhere.
   */
  send(message: ChatMessage, recipients: readonly string[], except?: WebSocket): Promise<DeliveryStatus> {
    const done = this.reach(recipients, { type: 'message', message }, { kind: 'chat', message }, except).then((missed) => {
      const stored = missed.filter((user) => user !== message.from);
      for (const user of stored) this.store.put(user, message);
      return { state: stored.length > 0 ? 'stored' : 'delivered', stored } satisfies DeliveryStatus;
    });
    return this.track(done);
  }

  /**
   * `user` came online on some node: sends again what this node kept for
   * them, and tells each message's sender it arrived.
   */
  async flush(user: string): Promise<void> {
    // A send whose report says "online nowhere" may still be on its way to the
    // store while the notice that the user is back is already here: the relay
    // answered the send before it heard of the user, so let those sends land first.
    await Promise.allSettled([...this.inflight]);
    const kept = this.store.take(user);
    if (kept.length === 0) return;
    const outcomes = await Promise.all(
      kept.map(async (message) => {
        const missed = await this.reach([user], { type: 'message', message, stored: true }, { kind: 'chat', message, stored: true });
        return { message, delivered: missed.length === 0 };
      }),
    );
    const back = outcomes.filter((o) => !o.delivered).map((o) => o.message);
    this.store.restore(user, back);
    this.log(`handed ${kept.length - back.length} stored message(s) to ${user}${back.length ? `, ${back.length} kept` : ''}`);
    for (const { message, delivered } of outcomes) {
      if (!delivered) continue;
      const receipt = { id: message.id, user };
      void this.reach([message.from], { type: 'receipt', ...receipt }, { kind: 'receipt', ...receipt });
    }
  }

  /**
   * Hands `frame` to the local sockets of `users` and `envelope` to the relay
   * for the others; resolves with the users reached nowhere. The relay also
   * routes to this node for users connected here (its presence includes this
   * node): that copy is skipped on arrival, as every delivery from this node is.
   */
  private async reach(users: readonly string[], frame: ServerFrame, envelope: RelayMessage, except?: WebSocket): Promise<string[]> {
    const local = new Set(this.sessions.send(users, frame, except));
    let missed: string[];
    try {
      const report = await this.relay.sendToUsers(users, envelope);
      missed = [...report.offline, ...Object.values(report.undelivered).flat()];
    } catch (err) {
      // No report (relay unreachable, or the connection dropped before it came):
      // keep the message for everyone not served here. A copy that did get
      // through is recognised by its id in the page.
      this.log(`relay send failed (${isRelayError(err) ? err.code : String(err)}); keeping the message for users not on this node`);
      missed = [...users];
    }
    return [...new Set(missed)].filter((user) => !local.has(user));
  }

  private track<T>(promise: Promise<T>): Promise<T> {
    this.inflight.add(promise);
    const untrack = (): void => void this.inflight.delete(promise);
    promise.then(untrack, untrack);
    return promise;
  }
}
