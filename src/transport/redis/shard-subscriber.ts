/**
 * The subscriber of a node's channel on a cluster: a plain connection to the
 * master that owns the channel's slot, made from that master's own client
 * (so it connects the way the cluster client does: TLS, credentials, name).
 *
 * A node listens on one channel only, so it needs one shard's connection,
 * not ioredis's subscriber per master. That one is also cheaper: ioredis's
 * sharded subscribers decode every message as a UTF-8 string beside the
 * Buffer they hand on (a listener of theirs asks for both), which for binary
 * batches is wasted work and garbage on every message.
 *
 * The connection never reconnects on its own: losing it, or Redis telling it
 * the slot moved (an unsolicited SUNSUBSCRIBE, which ioredis reports as
 * `moved`), ends the link, and the next link subscribes where the slot is
 * then.
 */
import { ConnectError } from '../../errors.js';
import { nodesByAddress } from './cluster-nodes.js';
import { keySlot } from './key-slot.js';
import type { RedisClientLike } from './redis-client-like.js';

/**
 * A new connection to the master that owns `channel`, and that master's
 * `host:port` (throws ERR_CONNECT when the map names none).
 */
export function shardSubscriber(cluster: RedisClientLike, channel: string): { sub: RedisClientLike; address: string } {
  const slot = keySlot(channel);
  const address = cluster.slots![slot]?.[0];
  const owner = address === undefined ? undefined : nodesByAddress(cluster).get(address);
  if (owner === undefined) throw new ConnectError(`the cluster's slot map names no master for slot ${slot} of ${channel}`);
  // Node clients are made lazy by the cluster client; this one connects now, once.
  const sub = owner.duplicate({ lazyConnect: false, retryStrategy: () => null, autoResubscribe: false, enableOfflineQueue: true });
  return { sub, address: address! };
}

/**
 * Resolves true while the node at `address` is still a master. A failover
 * can demote the master a node subscribed on without unsubscribing it: a
 * replica keeps serving sharded subscribers (what is published on the new
 * master reaches them through replication), but the new master counts none
 * of them, so every send to the node would be reported offline. Asked with
 * ROLE on the cluster client's own connection to that node; false when the
 * client no longer knows the node, undefined when it cannot tell (no answer).
 */
export async function stillMaster(cluster: RedisClientLike, address: string): Promise<boolean | undefined> {
  const node = nodesByAddress(cluster, 'all').get(address);
  if (node === undefined) return false;
  try {
    const role = (await node.call('ROLE')) as unknown[];
    return String(role[0]) === 'master';
  } catch {
    return undefined;
  }
}
