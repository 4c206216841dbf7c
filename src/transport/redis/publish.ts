/**
 * How a flush's channel messages reach Redis, with one promise per flush
 * rather than one per message where the client allows it.
 *
 * - One server: a pipeline, so that the flush is one socket write and one
 *   reply to wait for (a client made from a url does not auto-pipeline).
 * - A cluster: one SPUBLISH per message, each on the shard that owns its
 *   channel (ioredis groups them per shard when `enableAutoPipelining` is
 *   on). Replies from different shards come back in any order: the caller
 *   orders the answers.
 */
import type { RedisClientLike } from './redis-client-like.js';
import type { SealedFlush } from './outbox.js';

/** Publishes `message` on `channel`; resolves with the number of subscribers that got it. */
export function publishOne(pub: RedisClientLike, channel: string, message: Buffer): Promise<number> {
  return pub.isCluster === true ? (pub.spublish!(channel, message) as Promise<number>) : pub.publish(channel, message);
}

/** Publishes every message of `flush`; resolves with the subscriber counts, in the flush's order. */
export function publishFlush(pub: RedisClientLike, flush: SealedFlush): Promise<ArrayLike<number>> {
  const { channels, messages } = flush;
  if (messages.length === 1) return publishOne(pub, channels[0]!, messages[0]!).then((count) => [count]);
  if (pub.isCluster === true || pub.pipeline === undefined) {
    return Promise.all(messages.map((message, i) => publishOne(pub, channels[i]!, message)));
  }
  const pipeline = pub.pipeline();
  for (let i = 0; i < messages.length; i++) pipeline.publish(channels[i]!, messages[i]!);
  return pipeline.exec().then(countsOf);
}

function countsOf(replies: Array<[error: Error | null, result: unknown]> | null): number[] {
  if (replies === null) throw new Error('the pipeline was discarded');
  const counts = new Array<number>(replies.length);
  for (let i = 0; i < replies.length; i++) {
    const [error, result] = replies[i]!;
    if (error) throw error;
    counts[i] = Number(result);
  }
  return counts;
}
