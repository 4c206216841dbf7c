import { ClosedError, ConnectError, EngineError, InvalidArgumentError, RelayError } from '../../errors.js';
import { timerMs } from '../../option-checks.js';
import { checkNodeId } from '../../protocol/index.js';
import type { RedisClientLike } from '../../transport/redis/redis-client-like.js';
import { isRedisUrl } from '../../transport/url.js';
import type { MeshDiscovery } from './discovery.js';
import { OutageGrace } from './outage-grace.js';
import { openConnection, withDeadline, type RegistryConnection } from './registry-connection.js';
import { Registry, addressProblem, parseMembers, samePeers, type Members } from './registry-script.js';

/** How long stop() waits for Redis to take this node's leave before it lets go anyway. */
const STOP_DEADLINE_MS = 2_000;
/** The shortest wait for a registry command: a healthy Redis answers in well under this. */
const MIN_COMMAND_DEADLINE_MS = 1_000;

/** Options of {@link RedisDiscovery}. */
export interface RedisDiscoveryOptions {
  /** Prepended to every key and channel, so that several meshes can share a Redis. */
  prefix: string;
  /**
   * How long a node that stops refreshing (it crashed, or lost Redis) stays
   * registered. Nodes refresh every third of it, and see an expiry when it
   * happens. Default 3000 ms.
   */
  livenessMs?: number | undefined;
  /** How long start() waits for Redis before it rejects with `ERR_CONNECT`. Default 5000 ms. */
  connectTimeoutMs?: number | undefined;
  /**
   * Told, as an `ERR_ENGINE` error, of each failure after start(): a refresh
   * Redis refused or did not answer, a reconnect that failed, an `onPeers`
   * that threw. None stops the discovery: it keeps the last map and retries.
   */
  onError?: ((error: RelayError) => void) | undefined;
}

/**
 * Mesh membership in Redis. Each node is a member of the sorted set
 * `<prefix>{mesh}:members`, scored with the (server-clock) time its entry
 * expires, and has its address in the hash `<prefix>{mesh}:addresses`. It
 * refreshes its entry every `livenessMs / 3`; whoever reads after an entry
 * expired removes it. Joins, leaves and expiries are published on
 * `<prefix>{mesh}:changes`, so peers read again at once; each also reads on
 * its refresh, and when the earliest entry it knows expires.
 *
 * What is read from Redis is not trusted: members with an invalid node id,
 * or an address that is not a `tcp://` or `tls://` url of at most 512
 * bytes, are skipped, and one read takes at most 4096 members (a registry
 * flooded beyond that is seen in part). While Redis is unreachable the last
 * map stands; after a failed read or a lost connection, members not yet
 * back are kept for one `livenessMs`, time for them to register again in a
 * Redis that lost them.
 *
 * One instance registers one node, once. A client handed in is left
 * connected by stop(); one made from a url is disconnected.
 */
export class RedisDiscovery implements MeshDiscovery {
  private readonly registry: Registry;
  private readonly livenessMs: number;
  private readonly connectTimeoutMs: number;
  private readonly onError: ((error: RelayError) => void) | undefined;
  private nodeId = '';
  private address = '';
  private onPeers: (peers: ReadonlyMap<string, string>) => void = () => {};
  private connection: RegistryConnection | undefined;
  private started = false;
  private stopped = false;
  private stopping: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  /** A read is under way; `again` asks for another when it ends (reads never overlap). */
  private busy = false;
  private again = false;
  /** A command a handed-in client has not answered yet: none is sent after it until it has. */
  private stuck: Promise<unknown> | undefined;
  private peers: ReadonlyMap<string, string> = new Map();
  private nextExpiryMs: number | undefined;
  /** A read failed or the connection was lost since the last good read. */
  private recovering = false;
  private readonly grace: OutageGrace;

  constructor(
    private readonly target: string | RedisClientLike,
    options: RedisDiscoveryOptions,
  ) {
    if (typeof target === 'string' ? !isRedisUrl(target) : typeof target !== 'object' || target === null) {
      throw new InvalidArgumentError('discovery needs a redis:// or rediss:// url, or an ioredis client');
    }
    if (typeof options?.prefix !== 'string') throw new InvalidArgumentError('discovery prefix must be a string');
    this.registry = new Registry(options.prefix);
    this.livenessMs = timerMs('discovery livenessMs', options.livenessMs ?? 3_000, 30);
    this.connectTimeoutMs = timerMs('discovery connectTimeoutMs', options.connectTimeoutMs ?? 5_000);
    this.grace = new OutageGrace(this.livenessMs);
    this.onError = options.onError;
  }

  async start(nodeId: string, address: string, onPeers: (peers: ReadonlyMap<string, string>) => void): Promise<void> {
    if (this.started) throw new InvalidArgumentError('a RedisDiscovery starts once');
    checkNodeId(nodeId);
    const problem = addressProblem(address);
    if (problem !== undefined) throw new InvalidArgumentError(`discovery address ${problem}: ${JSON.stringify(address)}`);
    this.started = true;
    this.nodeId = nodeId;
    this.address = address;
    this.onPeers = onPeers;
    let members: Members;
    try {
      const timedOut = (): RelayError => new ConnectError(`could not register with redis within ${this.connectTimeoutMs} ms`);
      members = await withDeadline(this.exchange(this.connectTimeoutMs), this.connectTimeoutMs, timedOut);
    } catch (err) {
      // A connection still being made sees `stopped` and releases itself.
      this.stopped = true;
      this.drop(this.connection);
      throw err instanceof RelayError ? err : new ConnectError(`could not register with redis: ${messageOf(err)}`, { cause: err });
    }
    if (this.stopped) throw new ClosedError('the discovery was stopped while starting');
    this.apply(members);
    // onPeers may have stopped it: schedule() checks.
    this.schedule();
  }

  stop(): Promise<void> {
    this.stopping ??= this.leave();
    return this.stopping;
  }

  private async leave(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    const connection = this.connection;
    this.connection = undefined;
    if (connection === undefined) return;
    // Sent after any refresh still under way on the same connection, so Redis applies it last.
    if (connection.pub.status === 'ready' && this.stuck === undefined) {
      const leaving = connection.pub.call('EVAL', ...this.registry.leave(this.nodeId)).then(() => connection.unsubscribe());
      await withDeadline(leaving, STOP_DEADLINE_MS, () => new EngineError('redis did not take the leave in time')).catch(() => {});
    }
    connection.close();
  }

  /** Reads now, or right after the read under way. */
  private readonly read = (): void => {
    if (this.stopped) return;
    if (this.busy) {
      this.again = true;
      return;
    }
    this.busy = true;
    clearTimeout(this.timer);
    void this.readOnce().finally(() => {
      this.busy = false;
      if (!this.again) return this.schedule();
      this.again = false;
      this.read();
    });
  };

  /** Never rejects: it runs from timers and messages, where nothing may throw. */
  private async readOnce(): Promise<void> {
    try {
      this.apply(await this.exchange(Math.max(MIN_COMMAND_DEADLINE_MS, this.livenessMs / 3)));
    } catch (err) {
      this.fail(err);
    }
  }

  /** Refreshes this node and reads every member: connects first when there is no connection. */
  private async exchange(deadlineMs: number): Promise<Members> {
    if (this.connection === undefined) {
      const opened = await openConnection(this.target, this.registry.changes, this.connectTimeoutMs, {
        changed: this.read,
        lost: (connection) => this.drop(connection),
        abandoned: () => this.stopped,
      });
      // Stopped on the way back: registering now would outlive stop().
      if (this.stopped) {
        opened.close();
        throw new ClosedError('the discovery was stopped while connecting');
      }
      this.connection = opened;
    }
    const connection = this.connection;
    if (this.stuck !== undefined) throw new EngineError('redis has not answered the previous registry command yet');
    if (connection.pub.status !== 'ready') throw new EngineError(`the redis client is ${connection.pub.status}, not ready`);
    const args = this.registry.exchange(this.nodeId, this.address, this.livenessMs);
    const command = connection.pub.call('EVAL', ...args).catch((err: unknown) => {
      throw err instanceof RelayError ? err : new EngineError(`the registry command failed: ${messageOf(err)}`, { cause: err });
    });
    const reply = await withDeadline(command, deadlineMs, () => {
      // Ours is replaced; a client handed in is waited for, as it cannot be.
      if (connection.owned) this.drop(connection);
      else this.stuck = command.finally(() => (this.stuck = undefined)).catch(() => {});
      return new EngineError(`redis did not answer the registry command within ${deadlineMs} ms`);
    });
    const members = parseMembers(reply);
    if (members === undefined) throw new EngineError('the registry command answered something unexpected');
    return members;
  }

  private apply(members: Members): void {
    if (this.stopped) return;
    const now = Date.now();
    if (this.recovering) {
      this.recovering = false;
      this.grace.begin(this.peers, now);
    }
    const peers = this.grace.merge(members.peers, now);
    this.nextExpiryMs = members.nextExpiryMs;
    if (samePeers(peers, this.peers)) return;
    this.peers = peers;
    try {
      this.onPeers(peers);
    } catch (err) {
      this.report(new EngineError(`onPeers threw: ${messageOf(err)}`, { cause: err }));
    }
  }

  private fail(err: unknown): void {
    if (this.stopped) return;
    this.recovering = true;
    this.nextExpiryMs = undefined;
    this.report(
      err instanceof RelayError && err.code === 'ERR_ENGINE' ? err : new EngineError(`discovery: ${messageOf(err)}`, { cause: err }),
    );
  }

  /** Next read: the refresh period, or sooner when an entry expires or the grace ends first. */
  private schedule(): void {
    if (this.stopped) return;
    let delay = this.livenessMs / 3;
    if (this.nextExpiryMs !== undefined) delay = Math.min(delay, this.nextExpiryMs + 1);
    const graceLeft = this.grace.msLeft(Date.now());
    if (graceLeft !== undefined) delay = Math.min(delay, graceLeft + 1);
    clearTimeout(this.timer);
    this.timer = setTimeout(this.read, Math.max(1, delay));
    this.timer.unref();
  }

  private drop(connection: RegistryConnection | undefined): void {
    if (connection === undefined) return;
    if (this.connection === connection) {
      this.connection = undefined;
      this.recovering = true;
    }
    connection.close();
  }

  private report(error: RelayError): void {
    try {
      this.onError?.(error);
    } catch {
      // A failing error handler has nowhere left to report to.
    }
  }
}

function messageOf(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
