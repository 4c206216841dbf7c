import { nodeIdProblem } from '../../protocol/index.js';
import { parseRelayUrl } from '../../transport/url.js';

/** The most members one read takes: a registry flooded beyond it is read in part, never in full. */
export const MAX_MEMBERS = 4096;
/** The longest address taken from the registry, in UTF-8 bytes. */
export const MAX_ADDRESS_BYTES = 512;

/**
 * Refreshes this node, sweeps expired members, and answers
 * `[now, id, address, expiry, ...]` for the live ones.
 * KEYS: members, addresses. ARGV: node id, address, ttl ms, cap, changes channel.
 *
 * Scores come from the server's clock (TIME), so nodes' clocks never meet;
 * on a cluster the keys share one slot, so one server's clock (until a
 * failover hands the slot to another: a skew there shortens or lengthens
 * the entries written before it by as much). Lengths are checked here as
 * well as by the reader, so that a flooded value is never sent over.
 * Joins and sweeps are published: peers read at once instead of at their
 * next poll. (replicate_commands lets Redis before 5 write after TIME.)
 */
const EXCHANGE = `
if redis.replicate_commands then redis.replicate_commands() end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local added = redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
local before = redis.call('HGET', KEYS[2], ARGV[1])
if before ~= ARGV[2] then redis.call('HSET', KEYS[2], ARGV[1], ARGV[2]) end
local changed = added == 1 or before ~= ARGV[2]
local cap = tonumber(ARGV[4])
local dead = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', now, 'LIMIT', 0, cap)
if #dead > 0 then
  redis.call('ZREM', KEYS[1], unpack(dead))
  redis.call('HDEL', KEYS[2], unpack(dead))
  changed = true
end
if changed then redis.call('PUBLISH', ARGV[5], ARGV[1]) end
local live = redis.call('ZRANGEBYSCORE', KEYS[1], string.format('(%d', now), '+inf', 'WITHSCORES', 'LIMIT', 0, cap)
local out = { now }
for i = 1, #live, 2 do
  local id = live[i]
  if #id <= 255 then
    local address = redis.call('HGET', KEYS[2], id)
    if address and #address <= ${MAX_ADDRESS_BYTES} then
      out[#out + 1] = id
      out[#out + 1] = address
      out[#out + 1] = live[i + 1]
    end
  end
end
return out
`;

/** Removes this node and tells the peers. KEYS: members, addresses. ARGV: node id, changes channel. */
const LEAVE = `
redis.call('ZREM', KEYS[1], ARGV[1])
redis.call('HDEL', KEYS[2], ARGV[1])
redis.call('PUBLISH', ARGV[2], ARGV[1])
return 1
`;

/** The registry's keys and channel, and the EVAL arguments of its scripts. */
export class Registry {
  // The `{mesh}` hash tag keeps the keys in one Redis Cluster slot, as a script needs.
  readonly members: string;
  readonly addresses: string;
  readonly changes: string;

  constructor(prefix: string) {
    this.members = `${prefix}{mesh}:members`;
    this.addresses = `${prefix}{mesh}:addresses`;
    this.changes = `${prefix}{mesh}:changes`;
  }

  /** Refresh this node and read every member. */
  exchange(nodeId: string, address: string, ttlMs: number): Array<string | number> {
    return [EXCHANGE, 2, this.members, this.addresses, nodeId, address, ttlMs, MAX_MEMBERS, this.changes];
  }

  /** Remove this node. */
  leave(nodeId: string): Array<string | number> {
    return [LEAVE, 2, this.members, this.addresses, nodeId, this.changes];
  }
}

/** What is wrong with `address` as a registered address, or `undefined` when it is fine. */
export function addressProblem(address: unknown): string | undefined {
  if (typeof address !== 'string') return 'must be a string';
  if (Buffer.byteLength(address, 'utf8') > MAX_ADDRESS_BYTES) return `must be at most ${MAX_ADDRESS_BYTES} bytes`;
  if (!address.startsWith('tcp://') && !address.startsWith('tls://')) return 'must start with tcp:// or tls://';
  try {
    // A peer handed an address it cannot parse would refuse the whole map.
    parseRelayUrl(address);
  } catch {
    return 'is not a valid tcp:// or tls:// url';
  }
  return undefined;
}

/** A read of the registry: its members, and how long (by the server's clock) until the first expires. */
export interface Members {
  peers: Map<string, string>;
  /** Milliseconds until the earliest member expires; `undefined` when none has a finite expiry. */
  nextExpiryMs: number | undefined;
}

/**
 * Parses an EXCHANGE reply. Everything in it was written by whoever can
 * write to Redis: members with an invalid id or address are skipped, and a
 * reply of the wrong shape is `undefined`.
 */
export function parseMembers(reply: unknown): Members | undefined {
  if (!Array.isArray(reply) || typeof reply[0] !== 'number') return undefined;
  const now = reply[0];
  const peers = new Map<string, string>();
  let nextExpiryMs: number | undefined;
  for (let i = 1; i + 2 < reply.length && i < 1 + 3 * MAX_MEMBERS; i += 3) {
    const id: unknown = reply[i];
    const address: unknown = reply[i + 1];
    if (nodeIdProblem(id) !== undefined || addressProblem(address) !== undefined) continue;
    peers.set(id as string, address as string);
    const expiry = Number(reply[i + 2]);
    if (Number.isFinite(expiry)) nextExpiryMs = Math.min(nextExpiryMs ?? Infinity, Math.max(0, expiry - now));
  }
  return { peers: sorted(peers), nextExpiryMs };
}

/** True when both maps hold the same (id, address) pairs. */
export function samePeers(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  if (a.size !== b.size) return false;
  for (const [id, address] of a) if (b.get(id) !== address) return false;
  return true;
}

/** The same map in id order, so that every node hands on its members alike. */
export function sorted(peers: ReadonlyMap<string, string>): Map<string, string> {
  return new Map([...peers].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)));
}
