/**
 * SPUBLISH on a cluster straight to the shard that owns each channel,
 * without ioredis's per-command cluster path (a slot computed per command, a
 * pipeline object per shard per event-loop turn: about a fifth of a node's
 * CPU in the 10-host fan-out over the test cluster).
 *
 * The shard is the master the cluster client's own slot map names for the
 * channel's slot; its socket is corked while the flush's messages for it
 * are written, so that they leave in one write per shard.
 *
 * A reply that says the command was not run there (MOVED, ASK: the slot is
 * elsewhere; TRYAGAIN, CLUSTERDOWN) sends that message again through the
 * cluster client, which follows the redirect and refreshes its map. Any
 * other failure, a connection lost under a command that may have run among
 * them, fails the flush: the link reconnects and writes again what was not
 * answered, and receivers drop what they already had (where the cluster
 * client would have retried such a command on its own). A channel whose
 * shard is unknown, or not connected, goes through the cluster client too.
 * The caller publishes one flush at a time, so a message sent again still
 * reaches its channel before anything of the next flush.
 */
import { nodesByAddress } from './cluster-nodes.js';
import type { SealedFlush } from './outbox.js';
import type { RedisClientLike } from './redis-client-like.js';

/** The redirect and retry errors after which a command is known not to have run. */
const NOT_RUN = /^(MOVED|ASK|TRYAGAIN|CLUSTERDOWN)\b/;

export class ShardPublisher {
  /** Master clients by `host:port`, as the slot map names them. */
  private masters = new Map<string, RedisClientLike>();
  /** The masters were listed again during this flush: a miss does not list them twice. */
  private listed = false;

  constructor(private readonly cluster: RedisClientLike) {}

  /** Publishes every message of `flush`; resolves with the subscriber counts, in the flush's order. */
  publish(flush: SealedFlush): Promise<ArrayLike<number>> {
    const { channels, messages, lanes } = flush;
    const n = messages.length;
    this.listed = false;
    const owners = new Array<RedisClientLike | undefined>(n);
    const corked: RedisClientLike[] = [];
    for (let i = 0; i < n; i++) {
      const owner = this.ownerOf(lanes[i]!.slot);
      owners[i] = owner;
      if (owner !== undefined && !corked.includes(owner)) {
        owner.stream!.cork();
        corked.push(owner);
      }
    }
    const counts = new Array<Promise<number>>(n);
    try {
      for (let i = 0; i < n; i++) {
        const owner = owners[i];
        counts[i] = owner === undefined ? this.viaCluster(channels[i]!, messages[i]!) : this.direct(owner, channels[i]!, messages[i]!);
      }
    } finally {
      for (const owner of corked) owner.stream!.uncork();
    }
    return Promise.all(counts);
  }

  private direct(owner: RedisClientLike, channel: string, message: Buffer): Promise<number> {
    return (owner.spublish!(channel, message) as Promise<number>).then(undefined, (err: unknown) => {
      if (err instanceof Error && NOT_RUN.test(err.message)) return this.viaCluster(channel, message);
      throw err;
    });
  }

  private viaCluster(channel: string, message: Buffer): Promise<number> {
    return this.cluster.spublish!(channel, message) as Promise<number>;
  }

  /** The connected master the slot map names for `slot`, if its client is known. */
  private ownerOf(slot: number): RedisClientLike | undefined {
    const key = this.cluster.slots![slot]?.[0];
    if (key === undefined) return undefined;
    let owner = this.masters.get(key);
    if ((owner === undefined || owner.status === 'end') && !this.listed) {
      this.listMasters();
      owner = this.masters.get(key);
    }
    return owner !== undefined && owner.status === 'ready' && owner.stream !== undefined ? owner : undefined;
  }

  private listMasters(): void {
    this.listed = true;
    this.masters = nodesByAddress(this.cluster);
  }
}
