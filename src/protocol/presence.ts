import { InvalidArgumentError, ProtocolError } from '../errors.js';
import { FrameType } from './constants.js';
import { id8 } from './id-writer.js';
import { Reader } from './reader.js';
import { readUserList, skipUserList } from './user-list.js';

/** PRESENCE operations. */
export const PresenceOp = {
  /** These users are now online on the sending node. */
  ONLINE: 1,
  /** These users are no longer online on the sending node. */
  OFFLINE: 2,
  /** These are all the users online on the sending node (sent after a reconnect). */
  RESET: 3,
  /**
   * The first users of a RESET too large for one frame: held by the relay
   * until the RESET that ends the set, then applied with it as one.
   */
  RESET_PART: 4,
} as const;
export type PresenceOp = (typeof PresenceOp)[keyof typeof PresenceOp];

/** Encodes a PRESENCE payload: type, op, user list. Throws `ERR_INVALID_ARGUMENT` for an id it cannot carry. */
export function encodePresence(op: PresenceOp, users: readonly string[]): Buffer {
  return Buffer.concat([Buffer.of(FrameType.PRESENCE, op), encodeUserList(users)]);
}

/** Decodes a PRESENCE payload. The user list is validated; `usersStart` points at it. */
export function decodePresence(p: Buffer): { op: PresenceOp; usersStart: number } {
  if (p.length < 2 || p[0] !== FrameType.PRESENCE) throw new ProtocolError('presence: frame truncated');
  const op = p[1]!;
  if (op < PresenceOp.ONLINE || op > PresenceOp.RESET_PART) {
    throw new ProtocolError(`presence: unknown operation ${op}`);
  }
  if (skipUserList(p, 2) !== p.length) throw new ProtocolError('presence: trailing bytes');
  return { op: op as PresenceOp, usersStart: 2 };
}

/** Where the parts of a SEND_USERS payload lie. */
export interface SendUsersSpans {
  flags: number;
  seq: number;
  usersStart: number;
  payloadStart: number;
}

/** Validates a SEND_USERS payload and locates its parts, without reading the message. */
export function scanSendUsers(p: Buffer): SendUsersSpans {
  if (p.length < 10 || p[0] !== FrameType.SEND_USERS) throw new ProtocolError('send-users: frame truncated');
  return { flags: p[1]!, seq: p.readUInt32LE(2), usersStart: 6, payloadStart: skipUserList(p, 6) };
}

/** Encodes a LOCATE payload: type, seq, users. Throws `ERR_INVALID_ARGUMENT` for an id it cannot carry. */
export function encodeLocate(seq: number, users: readonly string[]): Buffer {
  const head = Buffer.allocUnsafe(5);
  head[0] = FrameType.LOCATE;
  head.writeUInt32LE(seq >>> 0, 1);
  return Buffer.concat([head, encodeUserList(users)]);
}

/** Decodes a LOCATE payload. */
export function decodeLocate(p: Buffer): { seq: number; users: string[]; usersStart: number } {
  if (p.length < 9 || p[0] !== FrameType.LOCATE) throw new ProtocolError('locate: frame truncated');
  if (skipUserList(p, 5) !== p.length) throw new ProtocolError('locate: trailing bytes');
  return { seq: p.readUInt32LE(1), users: readUserList(p, 5), usersStart: 5 };
}

/**
 * Encodes a LOCATED payload: type, seq, count, then per user its id and its
 * nodes. Throws `ERR_INVALID_ARGUMENT` for an id it cannot carry or more than
 * 65535 nodes for one user.
 */
export function encodeLocated(seq: number, located: ReadonlyArray<readonly [string, readonly string[]]>): Buffer {
  const parts: Buffer[] = [];
  const head = Buffer.allocUnsafe(9);
  head[0] = FrameType.LOCATED;
  head.writeUInt32LE(seq >>> 0, 1);
  head.writeUInt32LE(located.length, 5);
  parts.push(head);
  for (const [user, nodes] of located) {
    parts.push(id8(user, 'user id'));
    if (nodes.length > 0xffff) throw new InvalidArgumentError(`a user is located on at most 65535 nodes, got ${nodes.length}`);
    const count = Buffer.allocUnsafe(2);
    count.writeUInt16LE(nodes.length, 0);
    parts.push(count);
    for (const node of nodes) parts.push(id8(node, 'node id'));
  }
  return Buffer.concat(parts);
}

/**
 * One user's entry in a LOCATED answer: its id, then its nodes. Throws
 * `ERR_INVALID_ARGUMENT` for an id it cannot carry or more than 65535 nodes.
 */
export function encodeLocatedEntry(user: string, nodes: readonly string[]): Buffer {
  if (nodes.length > 0xffff) throw new InvalidArgumentError(`a user is located on at most 65535 nodes, got ${nodes.length}`);
  const parts = [id8(user, 'user id'), Buffer.allocUnsafe(2)];
  parts[1]!.writeUInt16LE(nodes.length, 0);
  for (const node of nodes) parts.push(id8(node, 'node id'));
  return Buffer.concat(parts);
}

/** Bytes of a LOCATED (or LOCATED_PART) payload before its entries: type, seq, count. */
export const LOCATED_HEAD_BYTES = 9;

/** A LOCATED or LOCATED_PART payload from entries made by {@link encodeLocatedEntry}. */
export function assembleLocated(
  type: typeof FrameType.LOCATED | typeof FrameType.LOCATED_PART,
  seq: number,
  entries: readonly Buffer[],
): Buffer {
  const head = Buffer.allocUnsafe(LOCATED_HEAD_BYTES);
  head[0] = type;
  head.writeUInt32LE(seq >>> 0, 1);
  head.writeUInt32LE(entries.length, 5);
  return Buffer.concat([head, ...entries]);
}

/**
 * Decodes a LOCATED or LOCATED_PART payload into user -> nodes; `more` is
 * true for a part that further parts follow.
 */
export function decodeLocated(p: Buffer): { seq: number; located: Map<string, string[]>; more: boolean } {
  const r = new Reader(p);
  const type = r.u8();
  if (type !== FrameType.LOCATED && type !== FrameType.LOCATED_PART) throw new ProtocolError('not a located frame');
  const seq = r.u32();
  const count = r.u32();
  if (count * 3 > r.remaining) throw new ProtocolError('located: count exceeds the frame');
  const located = new Map<string, string[]>();
  for (let i = 0; i < count; i++) {
    const user = r.str8();
    const nodes = new Array<string>(r.u16());
    for (let j = 0; j < nodes.length; j++) nodes[j] = r.str8();
    located.set(user, nodes);
  }
  r.end('located');
  return { seq, located, more: type === FrameType.LOCATED_PART };
}

/** A user list: u32 count, then id8 per user. Throws `ERR_INVALID_ARGUMENT` for an id it cannot carry. */
export function encodeUserList(users: readonly string[]): Buffer {
  if (!Array.isArray(users)) throw new InvalidArgumentError('users must be an array');
  const ids = users.map((u) => id8(u, 'user id'));
  const count = Buffer.allocUnsafe(4);
  count.writeUInt32LE(ids.length, 0);
  return Buffer.concat([count, ...ids]);
}
