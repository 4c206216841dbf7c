/**
 * Presence kept in Redis, for clusters where the nodes share presence through
 * Redis instead of (or beside) a relay.
 *
 * ioredis is an optional peer dependency: this file types the client it is
 * handed by its shape, so that no published type names ioredis.
 *
 * @packageDocumentation
 */
import { EngineError, InvalidArgumentError } from '../../errors.js';
import type { PresenceStore } from '../../presence/presence-store.js';
import { REDIS_DEFAULTS } from './options.js';

/** An argument of a Redis command. */
export type RedisArg = string | Buffer | number;

/**
 * The few client methods the store calls. An ioredis `Redis` or `Cluster`
 * fits; so does any client with an ioredis-style `call`.
 */
export interface RedisCommandClient {
  /** `true` on a Redis Cluster client: keys of one batch may live on different shards. */
  readonly isCluster?: boolean;
  /** Sends one command, e.g. `call('sadd', key, member)`. */
  call(command: string, ...args: RedisArg[]): Promise<unknown>;
  /** A batch sent in one write; used when present and not on a cluster. */
  pipeline?(): RedisPipelineLike;
}

/** The part of an ioredis pipeline the store uses. */
export interface RedisPipelineLike {
  /** Queues one command. */
  call(command: string, ...args: RedisArg[]): unknown;
  /** Sends the queued commands; one `[error, reply]` per command, in order. */
  exec(): Promise<Array<[error: Error | null, result: unknown]> | null>;
}

/** What {@link RedisPresenceStore} is constructed with: an ioredis `Redis` or `Cluster` fits. */
export type PresenceRedisClient = RedisCommandClient;

/**
 * How presence is laid out in Redis.
 *
 * - `sets`: imrelay's own layout; a user may be online on several nodes.
 * - `legacy-hash`: the hash Go IM servers keep (field = user id, value = the
 *   node's connector id), so that imrelay nodes and Go nodes see each other's
 *   users. One node per user: see {@link RedisPresenceStore}.
 */
export type RedisPresenceMode = 'sets' | 'legacy-hash';

/** Options of a {@link RedisPresenceStore}. */
export interface RedisPresenceOptions {
  /**
   * Prepended to every key imrelay owns. Default `imrelay:`. It may not
   * contain `{` or `}`: the store puts hash tags after it, and a brace in the
   * prefix would move them.
   */
  prefix?: string | undefined;
  /**
   * How long a node stays alive after its last heartbeat (or online/reset),
   * in milliseconds. Nodes should heartbeat a few times within it. Default 15000.
   */
  livenessMs?: number | undefined;
  /** The key layout. Default `sets`. */
  mode?: RedisPresenceMode | undefined;
  /** The Go servers' hash, in `legacy-hash` mode. Default `link:chat:online`. */
  legacyHashKey?: string | undefined;
  /**
   * How long a node's own keys (its set of users; in `legacy-hash` mode its
   * `known` marker) outlive its last heartbeat, in milliseconds, so that a
   * node that crashed for good leaves nothing behind forever. Until then a
   * node that comes back gets its users restored by its next heartbeat. In
   * `legacy-hash` mode, leftovers of a crashed node that nobody located within
   * this time are trusted like a Go node's afterwards. Default 7 days.
   */
  forgetAfterMs?: number | undefined;
}

/** Members per command, so that a huge reset never makes one giant command or Lua call. */
const CHUNK = 1000;

// Lua scripts run through EVAL rather than EVALSHA: each shard of a cluster
// would need the script loaded (and again after a failover), and the scripts
// are a few hundred bytes. Every script touches only keys of one slot.

/**
 * Marks a node alive (and known, in legacy mode), adds users to its set.
 * KEYS: node set, alive, known. ARGV: livenessMs, forgetAfterMs, legacy ('1' or '0'), users...
 * Returns [revived, previous members when revived]: a node whose alive key had
 * expired may have lost entries to lazy cleanup, and the caller restores them.
 */
const ONLINE = `
local revived = redis.call('set', KEYS[2], '1', 'PX', ARGV[1], 'GET') == false
if ARGV[3] == '1' then redis.call('set', KEYS[3], '1', 'PX', ARGV[2]) end
local previous = {}
if revived then previous = redis.call('smembers', KEYS[1]) end
for i = 4, #ARGV, ${CHUNK} do
  redis.call('sadd', KEYS[1], unpack(ARGV, i, math.min(i + ${CHUNK - 1}, #ARGV)))
end
redis.call('pexpire', KEYS[1], ARGV[2])
return {revived and 1 or 0, previous}`;

/**
 * Replaces a node's set and marks it alive (and known, in legacy mode).
 * KEYS: node set, alive, known. ARGV: livenessMs, forgetAfterMs, legacy, users...
 * Returns the previous members.
 */
const RESET = `
redis.call('set', KEYS[2], '1', 'PX', ARGV[1])
if ARGV[3] == '1' then redis.call('set', KEYS[3], '1', 'PX', ARGV[2]) end
local previous = redis.call('smembers', KEYS[1])
redis.call('del', KEYS[1])
for i = 4, #ARGV, ${CHUNK} do
  redis.call('sadd', KEYS[1], unpack(ARGV, i, math.min(i + ${CHUNK - 1}, #ARGV)))
end
redis.call('pexpire', KEYS[1], ARGV[2])
return previous`;

/**
 * Forgets a node: deletes its set and alive key (the known marker stays, so
 * that entries left behind by a race are still filtered as dead).
 * KEYS: node set, alive. Returns the members it had.
 */
const LEAVE = `
local previous = redis.call('smembers', KEYS[1])
redis.call('del', KEYS[1], KEYS[2])
return previous`;

/**
 * Of the given users, those still members of a node that is alive now.
 * KEYS: node set, alive. ARGV: users...
 */
const ALIVE_MEMBERS = `
if redis.call('exists', KEYS[2]) == 0 then return {} end
local kept = {}
for i = 1, #ARGV do
  if redis.call('sismember', KEYS[1], ARGV[i]) == 1 then kept[#kept + 1] = ARGV[i] end
end
return kept`;

/**
 * Whether a node is alive (1), an imrelay node past its bound (2), or unknown
 * to imrelay, i.e. a Go node (0). KEYS: alive, known.
 */
const NODE_STATE = `
if redis.call('exists', KEYS[1]) == 1 then return 1 end
if redis.call('exists', KEYS[2]) == 1 then return 2 end
return 0`;

/**
 * Deletes hash fields whose value is still the given node: a user who since
 * came online elsewhere (a Go node, or another imrelay node) is left alone.
 * KEYS: hash. ARGV: node, users... Returns how many fields were deleted.
 */
const COMPARE_AND_DELETE = `
local n = 0
for i = 2, #ARGV do
  if redis.call('hget', KEYS[1], ARGV[i]) == ARGV[1] then n = n + redis.call('hdel', KEYS[1], ARGV[i]) end
end
return n`;

const NODE_ALIVE = 1;
const NODE_DEAD = 2;

/**
 * A {@link PresenceStore} in Redis, standalone or Redis Cluster.
 *
 * Key layout (`P` = prefix; the braces are Redis hash tags, so that what must
 * change atomically lives in one cluster slot):
 *
 * - `P user:{U}`: set of the node ids holding user U (`sets` mode). Each user
 *   is in its own slot, so users spread over the shards.
 * - `P node:{N}`: set of the users of node N (both modes); expires
 *   `forgetAfterMs` after N's last heartbeat.
 * - `P alive:{N}`: exists while N is alive; written with `PX livenessMs`.
 * - `P known:{N}`: `legacy-hash` mode: N is an imrelay node, whose entries are
 *   subject to liveness (a Go node's are not); expires like `P node:{N}`.
 * - the legacy hash (`link:chat:online`): field = user id, value = node id.
 *
 * A node's own keys share the `{N}` tag, so its set and liveness change
 * together in one Lua script. Keys of different users are never touched by
 * one command: they are sent as a batch of single-key commands (one pipeline
 * on a standalone server; on a cluster, concurrent commands that ioredis
 * groups per shard when the Cluster has `enableAutoPipelining`).
 *
 * Liveness: `online`, `reset` and `heartbeat` mark the node alive for
 * `livenessMs`. `locate` skips nodes whose mark expired and removes them from
 * the located users' entries on the way. A node that was presumed dead (a long
 * pause) and heartbeats again has its users restored from its node set (in
 * `legacy-hash` mode only where no other node took the user meanwhile).
 *
 * `legacy-hash` mode, for mixed clusters with Go IM servers: the hash has one
 * value per user, so a user online on several nodes is located on the node
 * that wrote last (last writer wins, as between Go servers). `offline` and
 * `reset` delete a field only while it still names this node, so they never
 * undo a newer login elsewhere. Entries of imrelay nodes are filtered by
 * liveness; a node id without the `known` marker is a Go node's connector id
 * and is trusted as Go clusters do.
 *
 * Node ids must be non-empty and not start with `}` (an empty `{}` hash tag
 * would split a node's keys across slots).
 */
export class RedisPresenceStore implements PresenceStore {
  private readonly client: RedisCommandClient;
  private readonly prefix: string;
  private readonly livenessMs: number;
  private readonly legacy: boolean;
  private readonly hashKey: string;
  private readonly forgetAfterMs: number;

  constructor(client: PresenceRedisClient, options: RedisPresenceOptions = {}) {
    this.client = client;
    this.prefix = options.prefix ?? REDIS_DEFAULTS.prefix;
    this.livenessMs = options.livenessMs ?? REDIS_DEFAULTS.livenessMs;
    this.legacy = (options.mode ?? REDIS_DEFAULTS.presence) === 'legacy-hash';
    this.hashKey = options.legacyHashKey ?? REDIS_DEFAULTS.legacyHashKey;
    this.forgetAfterMs = options.forgetAfterMs ?? REDIS_DEFAULTS.forgetAfterMs;
    if (/[{}]/.test(this.prefix)) {
      throw new InvalidArgumentError(`presence prefix may not contain braces: ${JSON.stringify(this.prefix)}`);
    }
    for (const [name, value] of [
      ['livenessMs', this.livenessMs],
      ['forgetAfterMs', this.forgetAfterMs],
    ] as const) {
      if (!Number.isInteger(value) || value <= 0) {
        throw new InvalidArgumentError(`${name} must be a positive integer, got ${value}`);
      }
    }
    if (options.mode !== undefined && options.mode !== 'sets' && options.mode !== 'legacy-hash') {
      throw new InvalidArgumentError(`unknown presence mode ${JSON.stringify(options.mode)}`);
    }
  }

  /** Adds `users` to `node` and marks it alive; restores its users if it had been presumed dead. */
  async online(node: string, users: readonly string[]): Promise<void> {
    const [revived, previous] = (await this.eval(ONLINE, this.nodeKeys(node), [...this.nodeArgs(), ...users])) as [number, string[]];
    if (this.legacy) {
      await this.hset(node, users);
      // Restored entries never overwrite a login that happened elsewhere meanwhile.
      if (revived === 1)
        await this.batch(
          previous.map((user) => ['hsetnx', this.hashKey, user, node]),
          true,
        );
    } else {
      const all = revived === 1 ? new Set([...previous, ...users]) : users;
      await this.batch([...all].map((user) => ['sadd', this.userKey(user), node]));
    }
  }

  /** Removes `users` from `node`; in `legacy-hash` mode only the fields that still name `node`. */
  async offline(node: string, users: readonly string[]): Promise<void> {
    if (users.length === 0) return;
    // The node set first: a repair (see online) reads it, and must not bring back
    // a user whose own entry is being removed.
    const nodeKey = this.nodeKey(node);
    await this.batch(
      chunks(users).map((chunk) => ['srem', nodeKey, ...chunk]),
      true,
    );
    await this.unlink(node, users);
  }

  /** Makes `users` exactly `node`'s users, never hiding from a concurrent locate those who stay. */
  async reset(node: string, users: readonly string[]): Promise<void> {
    const unique = [...new Set(users)];
    const previous = (await this.eval(RESET, this.nodeKeys(node), [...this.nodeArgs(), ...unique])) as string[];
    const next = new Set(unique);
    const gone = previous.filter((user) => !next.has(user));
    // Add before removing, and never remove a user who stays: a locate running
    // meanwhile always finds the users that are in both the old and new lists.
    if (this.legacy) await this.hset(node, unique);
    else await this.batch(unique.map((user) => ['sadd', this.userKey(user), node]));
    await this.unlink(node, gone);
  }

  /** Each user's live nodes; entries naming dead nodes are removed on the way. */
  async locate(users: readonly string[]): Promise<Map<string, string[]>> {
    const unique = [...new Set(users)];
    const located = new Map<string, string[]>();
    if (unique.length === 0) return located;
    const entries = this.legacy ? await this.readHash(unique) : await this.readSets(unique);

    const candidates = new Set<string>();
    for (const nodes of entries) for (const node of nodes) candidates.add(node);
    // In the legacy hash, a value no imrelay node could have written (see
    // checkNode) is some Go node's: trusted, and never looked up.
    const nodes = this.legacy ? [...candidates].filter(isValidNode) : [...candidates];
    const states = this.legacy
      ? ((await this.batch(nodes.map((node) => ['eval', NODE_STATE, 2, this.aliveKey(node), this.knownKey(node)]))) as number[])
      : ((await this.batch(nodes.map((node) => ['exists', this.aliveKey(node)]))) as number[]).map((n) =>
          n === 1 ? NODE_ALIVE : NODE_DEAD,
        );
    const dead = new Set(nodes.filter((_, i) => states[i] === NODE_DEAD));

    const deadEntries = new Map<string, string[]>(); // dead node -> its located users
    unique.forEach((user, i) => {
      const live: string[] = [];
      for (const node of entries[i]!) {
        if (!dead.has(node)) live.push(node);
        else (deadEntries.get(node) ?? deadEntries.set(node, []).get(node)!).push(user);
      }
      located.set(user, live);
    });
    if (deadEntries.size > 0) await this.dropDeadEntries(deadEntries);
    return located;
  }

  /** Marks `node` alive for `livenessMs`; restores its users if it had been presumed dead. */
  async heartbeat(node: string): Promise<void> {
    await this.online(node, []);
  }

  /** Forgets `node` and its users at once (the `known` marker stays, see LEAVE). */
  async leave(node: string): Promise<void> {
    const previous = (await this.eval(LEAVE, [this.nodeKey(node), this.aliveKey(node)], [])) as string[];
    await this.unlink(node, previous);
  }

  /** The user-side entries naming `node` for `users`: removed from their sets, or compare-and-deleted from the hash. */
  private async unlink(node: string, users: readonly string[]): Promise<void> {
    if (users.length === 0) return;
    if (this.legacy) {
      await this.batch(
        chunks(users).map((chunk) => ['eval', COMPARE_AND_DELETE, 1, this.hashKey, node, ...chunk]),
        true,
      );
    } else {
      await this.batch(users.map((user) => ['srem', this.userKey(user), node]));
    }
  }

  /**
   * Lazy cleanup of entries naming dead nodes. The answer to the caller is
   * already decided, so a failure here is not the caller's failure: the next
   * locate tries again.
   */
  private async dropDeadEntries(deadEntries: Map<string, string[]>): Promise<void> {
    try {
      await Promise.all([...deadEntries].map(([node, users]) => this.unlink(node, users)));
      // A node that heartbeated again between our check and our removal restored
      // its entries before or after it: put back what we may have removed after.
      await Promise.all(
        [...deadEntries].map(async ([node, users]) => {
          const back = (await this.eval(ALIVE_MEMBERS, [this.nodeKey(node), this.aliveKey(node)], users)) as string[];
          if (back.length === 0) return;
          if (this.legacy)
            await this.batch(
              back.map((user) => ['hsetnx', this.hashKey, user, node]),
              true,
            );
          else await this.batch(back.map((user) => ['sadd', this.userKey(user), node]));
        }),
      );
    } catch {
      // Left for the next locate: see above.
    }
  }

  /** Each user's node ids from their sets. */
  private async readSets(users: readonly string[]): Promise<string[][]> {
    return (await this.batch(users.map((user) => ['smembers', this.userKey(user)]))) as string[][];
  }

  /** Each user's node id from the legacy hash (none or one). */
  private async readHash(users: readonly string[]): Promise<string[][]> {
    const parts = chunks(users);
    const replies = (await this.batch(
      parts.map((chunk) => ['hmget', this.hashKey, ...chunk]),
      true,
    )) as Array<Array<string | null>>;
    return replies.flat().map((node) => (node === null ? [] : [node]));
  }

  private async hset(node: string, users: readonly string[]): Promise<void> {
    const commands = chunks(users).map((chunk) => ['hset', this.hashKey, ...chunk.flatMap((user) => [user, node])]);
    await this.batch(commands, true);
  }

  private eval(script: string, keys: string[], args: RedisArg[]): Promise<unknown> {
    return this.client.call('eval', script, keys.length, ...keys, ...args);
  }

  /**
   * Runs single-key commands as one batch, resolving to their replies in order.
   * `sameSlot`: every key is in one slot, so a pipeline is safe on a cluster too.
   */
  private async batch(commands: RedisArg[][], sameSlot = false): Promise<unknown[]> {
    if (commands.length === 0) return [];
    const pipeline =
      (sameSlot || this.client.isCluster !== true) && typeof this.client.pipeline === 'function' ? this.client.pipeline() : undefined;
    if (pipeline === undefined) {
      return Promise.all(commands.map(([name, ...args]) => this.client.call(String(name), ...args)));
    }
    for (const [name, ...args] of commands) pipeline.call(String(name), ...args);
    const replies = await pipeline.exec();
    if (replies === null) throw new EngineError('redis discarded the pipeline');
    return replies.map(([err, reply]) => {
      if (err) throw err;
      return reply;
    });
  }

  /** The leading ARGV of ONLINE and RESET. */
  private nodeArgs(): RedisArg[] {
    return [this.livenessMs, this.forgetAfterMs, this.legacy ? '1' : '0'];
  }

  private nodeKeys(node: string): string[] {
    return [this.nodeKey(node), this.aliveKey(node), this.knownKey(node)];
  }

  private userKey(user: string): string {
    return `${this.prefix}user:{${user}}`;
  }

  private nodeKey(node: string): string {
    return `${this.prefix}node:{${checkNode(node)}}`;
  }

  private aliveKey(node: string): string {
    return `${this.prefix}alive:{${checkNode(node)}}`;
  }

  private knownKey(node: string): string {
    return `${this.prefix}known:{${checkNode(node)}}`;
  }
}

/**
 * A node id whose keys share one hash tag. An id that is empty or starts with
 * `}` would make an empty tag `{}`, which Redis ignores: the node's keys would
 * then hash apart and could not change together.
 */
function checkNode(node: string): string {
  if (!isValidNode(node)) {
    throw new InvalidArgumentError(`invalid node id ${JSON.stringify(node)}: empty or starting with '}'`);
  }
  return node;
}

function isValidNode(node: string): boolean {
  return node.length > 0 && !node.startsWith('}');
}

function chunks<T>(items: readonly T[]): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += CHUNK) out.push(items.slice(i, i + CHUNK));
  return out;
}
