import type { RelayClient } from '../../src/index.js';
import type { DeliveryCollector } from './collector.js';

let tags = 0;

/**
 * Sends to `to` until a send is reported delivered and that very message
 * arrives; resolves with the time it took from `startedAt`. Sends reported
 * offline meanwhile are the truthful answer while the path is down.
 */
export async function flowsAgain(from: RelayClient, to: string, inbox: DeliveryCollector, startedAt: number): Promise<number> {
  for (;;) {
    const tag = `flows-again-${++tags}`;
    const report = await from.send({ [to]: ['u'] }, tag).catch(() => undefined);
    // Over a cluster in failover, a send can be counted by a subscription that is going away (see
    // docs/scaling.md, what Redis cannot promise): it is not taken as the path working again.
    if (report?.delivered.includes(to) && (await arrives(inbox, tag))) return Date.now() - startedAt;
    if (Date.now() - startedAt > 10_000) throw new Error(`no delivery to ${to} for 10 s`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function arrives(inbox: DeliveryCollector, tag: string): Promise<boolean> {
  try {
    await inbox.until(() => inbox.messages.includes(tag), 500, tag);
    return true;
  } catch {
    return false;
  }
}
