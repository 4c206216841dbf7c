// A channel that reaches every chat node, built on the relay's presence.
//
// Every node announces the reserved id '#cluster' as one of its "users", so
// the relay locates it on every node: `sendToUsers(['#cluster'], m)` is a
// broadcast to all nodes (the sender's own copy comes back too, and is
// skipped like any delivery from itself), and `locate(['#cluster'])` lists
// the nodes up. No node needs a list of the others.
import type { RelayClient } from '../../src/index.js';
import type { RelayMessage } from './messages.js';

export const CLUSTER_CHANNEL = '#cluster';

/** Joins the channel; the client re-announces it after every reconnect. */
export function joinCluster(relay: RelayClient<RelayMessage>): void {
  relay.online([CLUSTER_CHANNEL]);
}

/** Sends `message` to every node; resolves with how many nodes took it. */
export async function broadcast(relay: RelayClient<RelayMessage>, message: RelayMessage): Promise<number> {
  const report = await relay.sendToUsers([CLUSTER_CHANNEL], message);
  return report.delivered.length;
}

/** The nodes on the channel now, sorted. */
export async function clusterNodes(relay: RelayClient<RelayMessage>): Promise<string[]> {
  const located = await relay.locate([CLUSTER_CHANNEL]);
  return [...(located.get(CLUSTER_CHANNEL) ?? [])].sort();
}
