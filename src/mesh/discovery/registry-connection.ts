import { ClosedError, ConnectError, type RelayError } from '../../errors.js';
import { connectRedis, whenReady } from '../../transport/redis/connect.js';
import type { RedisClientLike } from '../../transport/redis/redis-client-like.js';

/** A discovery's two connections: commands on `pub`, the changes channel on `sub`. */
export interface RegistryConnection {
  readonly pub: RedisClientLike;
  /** True when `pub` was made from a url (and is ours to disconnect). */
  readonly owned: boolean;
  /** Leaves the channel (bounded by the caller) before `close`. */
  unsubscribe(): Promise<unknown>;
  /** Disconnects what is ours and removes every listener of ours from what is not. */
  close(): void;
}

export interface ConnectionHooks {
  /** A message arrived on the changes channel (its content is not trusted, nor read). */
  changed(): void;
  /** A connection of ours ended for good: a new one is needed. */
  lost(connection: RegistryConnection): void;
  /** True when the discovery stopped while connecting: what was made is released. */
  abandoned(): boolean;
}

/**
 * Opens both connections within `timeoutMs`. The subscriber is always a
 * duplicate of ours: a client handed in keeps its own connection free of
 * subscriptions, and only a url-made `pub` is disconnected by `close`.
 */
export async function openConnection(
  target: string | RedisClientLike,
  channel: string,
  timeoutMs: number,
  hooks: ConnectionHooks,
): Promise<RegistryConnection> {
  const deadline = Date.now() + timeoutMs;
  const left = (): number => Math.max(1, deadline - Date.now());
  const owned = typeof target === 'string';
  const pub = owned ? await connectRedis(target) : target;
  let sub: RedisClientLike | undefined;
  const onMessage = (from: unknown): void => {
    if (String(from) === channel) hooks.changed();
  };
  const onEnd = (): void => hooks.lost(connection);
  const connection: RegistryConnection = {
    pub,
    owned,
    unsubscribe: () => sub?.unsubscribe(channel) ?? Promise.resolve(),
    close() {
      sub?.off('message', onMessage);
      sub?.off('end', onEnd);
      pub.off('end', onEnd);
      sub?.disconnect();
      if (owned) pub.disconnect();
    },
  };
  const check = (): void => {
    if (hooks.abandoned()) throw new ClosedError('the discovery was stopped while connecting');
  };
  // Our own clients report failures through commands and 'end'; an 'error'
  // event without a listener would only be logged by ioredis.
  if (owned) pub.on('error', ignore);
  try {
    check();
    await whenReady(pub, left());
    check();
    sub = pub.duplicate();
    sub.on('error', ignore);
    await whenReady(sub, left());
    check();
    sub.on('message', onMessage);
    await withDeadline(sub.subscribe(channel), left(), () => new ConnectError('redis did not confirm the subscription in time'));
    check();
  } catch (err) {
    connection.close();
    throw err;
  }
  // A client handed in reconnects by itself (or never): only ours end for good.
  if (owned) pub.on('end', onEnd);
  sub.on('end', onEnd);
  return connection;
}

/** `promise`, or the error `timedOut` makes when it has not settled within `ms`. */
export function withDeadline<T>(promise: Promise<T>, ms: number, timedOut: () => RelayError): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(timedOut()), ms);
  });
  return Promise.race([promise, deadline]).finally(() => clearTimeout(timer));
}

function ignore(): void {}
