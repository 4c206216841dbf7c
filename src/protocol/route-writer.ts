import { ErrorCodes, FrameTooLargeError, RelayError } from '../errors.js';
import { DEFAULT_COPY_THRESHOLD, type FrameWriter } from '../codec/frame-writer.js';
import { writeUtf8 } from '../codec/text.js';
import { FrameType, MAX_HOSTS_PER_ROUTE } from './constants.js';
import { idBound, putId, putUserId } from './id-writer.js';
import type { UserId } from './user-id.js';

/** Host (node id) -> the user ids on that host, as a plain object or a Map. */
export type RouteTable =
  | Readonly<Record<string, readonly UserId[]>>
  | ReadonlyMap<string, readonly UserId[]>;

/** Bytes before the routing table: type, flags, seq, host count. */
export const ROUTE_FIXED_BYTES = 8;

/**
 * Validates the shape of `table` and returns the most bytes its routing
 * table can take (0 when no host has users: there is nothing to send).
 * Sizing first lets the frame be written in place, in one pass, with no
 * intermediate copy. Throws `ERR_INVALID_ARGUMENT` for a malformed table.
 */
export function routeTableBound(table: RouteTable): number {
  let bound = 0;
  let hosts = 0;
  if (table instanceof Map) {
    for (const [host, users] of table) {
      const b = hostBound(host, users);
      if (b > 0) hosts++;
      bound += b;
    }
  } else if (typeof table === 'object' && table !== null) {
    const keys = Object.keys(table);
    for (let k = 0; k < keys.length; k++) {
      const host = keys[k]!;
      const b = hostBound(host, (table as Record<string, readonly UserId[]>)[host]);
      if (b > 0) hosts++;
      bound += b;
    }
  } else {
    throw invalid('usersByHost must be an object or a Map');
  }
  if (hosts > MAX_HOSTS_PER_ROUTE) throw invalid(`a route holds at most ${MAX_HOSTS_PER_ROUTE} hosts`);
  return bound;
}

function hostBound(host: string, users: readonly UserId[] | undefined): number {
  if (!Array.isArray(users)) throw invalid(`users of host ${JSON.stringify(host)} must be an array`);
  const count = users.length;
  if (count === 0) return 0;
  let bound = idBound(host, 'host') + 4;
  for (let i = 0; i < count; i++) bound += idBound(users[i] as UserId, 'user id');
  return bound;
}

/**
 * Writes a ROUTE's header (type, flags, seq, routing table) at `off` of
 * `buf`, which has room for `ROUTE_FIXED_BYTES + routeTableBound(table)`
 * bytes; returns where it ends. Hosts with no users are left out; the hosts
 * written are appended to `written` when it is given.
 */
export function putRouteHeader(buf: Buffer, off: number, flags: number, seq: number, table: RouteTable, written?: string[]): number {
  buf[off] = FrameType.ROUTE;
  buf[off + 1] = flags;
  buf.writeUInt32LE(seq >>> 0, off + 2);
  let pos = off + ROUTE_FIXED_BYTES;
  let hosts = 0;
  if (table instanceof Map) {
    for (const [host, users] of table) {
      if (users.length === 0) continue;
      pos = putHost(buf, pos, host, users);
      hosts++;
      written?.push(host);
    }
  } else {
    const keys = Object.keys(table);
    for (let k = 0; k < keys.length; k++) {
      const host = keys[k]!;
      const users = (table as Record<string, readonly UserId[]>)[host]!;
      if (users.length === 0) continue;
      pos = putHost(buf, pos, host, users);
      hosts++;
      written?.push(host);
    }
  }
  buf.writeUInt16LE(hosts, off + 6);
  return pos;
}

function putHost(buf: Buffer, pos: number, host: string, users: readonly UserId[]): number {
  pos = putId(buf, pos, host, 'host');
  const count = users.length;
  buf.writeUInt32LE(count, pos);
  pos += 4;
  for (let i = 0; i < count; i++) pos = putUserId(buf, pos, users[i]!);
  return pos;
}

/**
 * Appends a whole ROUTE frame for `table` and `payload` to `writer`, written
 * in place: small payloads (a string is encoded straight into the writer)
 * follow the header in the same slab, large ones are queued by reference.
 * Returns the frame's payload length, or 0 (writing nothing) when no host
 * has users. Throws `ERR_FRAME_TOO_LARGE` or `ERR_INVALID_ARGUMENT`, writing
 * nothing.
 */
export function writeRoute(
  writer: FrameWriter,
  flags: number,
  seq: number,
  table: RouteTable,
  payload: string | Uint8Array,
  maxFrameBytes: number,
  written?: string[],
): number {
  const bound = routeTableBound(table);
  if (bound === 0) return 0;
  const headerRoom = ROUTE_FIXED_BYTES + bound;
  if (typeof payload === 'string') {
    const worst = payload.length * 3;
    if (worst >= DEFAULT_COPY_THRESHOLD) return writeRoute(writer, flags, seq, table, Buffer.from(payload), maxFrameBytes, written);
    const off = writer.begin(headerRoom + worst);
    const buf = writer.buf;
    const headerEnd = putRouteHeader(buf, off, flags, seq, table, written);
    checkHeader(headerEnd - off, headerRoom);
    const end = headerEnd + writeUtf8(buf, payload, headerEnd);
    checkSize(end - off, maxFrameBytes);
    writer.commit(end);
    return end - off;
  }
  const inline = payload.length < DEFAULT_COPY_THRESHOLD;
  const off = writer.begin(headerRoom + (inline ? payload.length : 0));
  const buf = writer.buf;
  const headerEnd = putRouteHeader(buf, off, flags, seq, table, written);
  checkHeader(headerEnd - off, headerRoom);
  const total = headerEnd - off + payload.length;
  checkSize(total, maxFrameBytes);
  if (inline) {
    buf.set(payload, headerEnd);
    writer.commit(headerEnd + payload.length);
  } else {
    writer.commit(headerEnd, total);
    writer.appendReference(Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length));
  }
  return total;
}

// Only a table whose arrays change between the sizing and the writing (a
// getter, a proxy) can outgrow its bound; what it wrote is never committed.
function checkHeader(bytes: number, room: number): void {
  if (bytes > room) throw invalid('usersByHost changed while the route was being encoded');
}

function checkSize(total: number, max: number): void {
  if (total > max) throw new FrameTooLargeError(`message frame of ${total} bytes exceeds the relay's limit of ${max} bytes`);
}

function invalid(message: string): RelayError {
  return new RelayError(ErrorCodes.INVALID_ARGUMENT, message);
}
