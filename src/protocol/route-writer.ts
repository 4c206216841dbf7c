import { ErrorCodes, FrameTooLargeError, RelayError } from '../errors.js';
import { DEFAULT_COPY_THRESHOLD, type FrameWriter } from '../codec/frame-writer.js';
import { writeUtf8 } from '../codec/text.js';
import { FrameType, MAX_HOSTS_PER_ROUTE } from './constants.js';
import { idBound, putId } from './id-writer.js';
import { userIdToString, type UserId } from './user-id.js';

/** Host (node id) -> the user ids on that host, as a plain object or a Map. */
export type RouteTable =
  | Readonly<Record<string, readonly UserId[]>>
  | ReadonlyMap<string, readonly UserId[]>;

/** Bytes before the routing table: type, flags, seq, host count. */
export const ROUTE_FIXED_BYTES = 8;

/**
 * Validates the shape of `table` and returns the most bytes its routing
 * table can take (0 when no host has users: there is nothing to send).
 * Sizing a table before writing it lets it be written in place, with no
 * intermediate copy, however large it is. Throws `ERR_INVALID_ARGUMENT` for a malformed table.
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
  if (hosts > MAX_HOSTS_PER_ROUTE) throw tooManyHosts();
  return bound;
}

function hostBound(host: string, users: readonly UserId[] | undefined): number {
  if (!Array.isArray(users)) throw notAnArray(host);
  const count = users.length;
  if (count === 0) return 0;
  let bound = idBound(host, 'host') + 4;
  for (let i = 0; i < count; i++) bound += idBound(users[i] as UserId, 'user id');
  return bound;
}

/** What {@link putRouteHeader} returns when the header does not fit before its limit. */
export const OUT_OF_ROOM = -1;

/**
 * Writes a ROUTE's header (type, flags, seq, routing table) at `off` of
 * `buf`, using no byte at or past `limit`; returns where it ends, or
 * {@link OUT_OF_ROOM} when it would not fit (what it wrote is garbage then).
 * With `ROUTE_FIXED_BYTES + routeTableBound(table)` bytes of room it always
 * fits. Hosts with no users are left out; the hosts written are appended to
 * `written` when it is given. Throws `ERR_INVALID_ARGUMENT` for a malformed
 * table.
 */
export function putRouteHeader(
  buf: Buffer,
  off: number,
  limit: number,
  flags: number,
  seq: number,
  table: RouteTable,
  written?: string[],
): number {
  if (limit - off < ROUTE_FIXED_BYTES) return OUT_OF_ROOM;
  buf[off] = FrameType.ROUTE;
  buf[off + 1] = flags;
  buf.writeUInt32LE(seq >>> 0, off + 2);
  let pos = off + ROUTE_FIXED_BYTES;
  let hosts = 0;
  if (table instanceof Map) {
    for (const [host, users] of table) {
      if (!Array.isArray(users)) throw notAnArray(host);
      if (users.length === 0) continue;
      if (++hosts > MAX_HOSTS_PER_ROUTE) throw tooManyHosts();
      pos = putHost(buf, pos, limit, host, users);
      if (pos === OUT_OF_ROOM) return OUT_OF_ROOM;
      written?.push(host);
    }
  } else if (typeof table === 'object' && table !== null) {
    const keys = Object.keys(table);
    for (let k = 0; k < keys.length; k++) {
      const host = keys[k]!;
      const users = (table as Record<string, readonly UserId[]>)[host];
      if (!Array.isArray(users)) throw notAnArray(host);
      if (users.length === 0) continue;
      if (++hosts > MAX_HOSTS_PER_ROUTE) throw tooManyHosts();
      pos = putHost(buf, pos, limit, host, users);
      if (pos === OUT_OF_ROOM) return OUT_OF_ROOM;
      written?.push(host);
    }
  } else {
    throw invalid('usersByHost must be an object or a Map');
  }
  buf.writeUInt16LE(hosts, off + 6);
  return pos;
}

function putHost(buf: Buffer, pos: number, limit: number, host: string, users: readonly UserId[]): number {
  if (typeof host === 'string' && pos + 5 + 3 * host.length > limit) return OUT_OF_ROOM;
  pos = putId(buf, pos, host, 'host');
  const count = users.length;
  buf.writeUInt32LE(count, pos);
  pos += 4;
  for (let i = 0; i < count; i++) {
    const user = users[i]!;
    let id: string;
    let need: number;
    if (typeof user === 'string') {
      id = user;
      need = 1 + 3 * id.length;
    } else {
      // The decimal form of a number or bigint is ASCII: a byte per digit.
      id = userIdToString(user);
      need = 1 + id.length;
    }
    if (pos + need > limit) return OUT_OF_ROOM;
    pos = putId(buf, pos, id, 'user id');
  }
  return pos;
}

// Room tried first for a header: whatever the current slab has left, so
// that a table is sized in a separate pass only when it does not fit there.
const MIN_OPTIMISTIC_ROOM = 1024;

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
  const isText = typeof payload === 'string';
  if (isText && payload.length * 3 >= DEFAULT_COPY_THRESHOLD) {
    return writeRoute(writer, flags, seq, table, Buffer.from(payload), maxFrameBytes, written);
  }
  const inline = isText ? payload.length * 3 : payload.length < DEFAULT_COPY_THRESHOLD ? payload.length : 0;
  // One pass over the table in the room the slab has; a table too large for
  // it is sized first and written again in exactly the room it needs.
  if (writer.available < MIN_OPTIMISTIC_ROOM + inline) writer.begin(MIN_OPTIMISTIC_ROOM + inline);
  let room = writer.available - inline;
  let off = writer.begin(room + inline);
  let headerEnd = putRouteHeader(writer.buf, off, off + room, flags, seq, table, written);
  if (headerEnd === OUT_OF_ROOM) {
    if (written) written.length = 0;
    room = ROUTE_FIXED_BYTES + routeTableBound(table);
    off = writer.begin(room + inline);
    headerEnd = putRouteHeader(writer.buf, off, off + room, flags, seq, table, written);
    // Only a table whose arrays change between the sizing and the writing (a
    // getter, a proxy) can outgrow its bound; what it wrote is never committed.
    if (headerEnd === OUT_OF_ROOM) throw invalid('usersByHost changed while the route was being encoded');
  }
  const buf = writer.buf;
  if (buf.readUInt16LE(off + 6) === 0) return 0;
  if (isText) {
    const end = headerEnd + writeUtf8(buf, payload, headerEnd);
    checkSize(end - off, maxFrameBytes);
    writer.commit(end);
    return end - off;
  }
  const total = headerEnd - off + payload.length;
  checkSize(total, maxFrameBytes);
  if (inline > 0 || payload.length === 0) {
    buf.set(payload, headerEnd);
    writer.commit(headerEnd + payload.length);
  } else {
    writer.commit(headerEnd, total);
    writer.appendReference(Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length));
  }
  return total;
}

function checkSize(total: number, max: number): void {
  if (total > max) throw new FrameTooLargeError(`message frame of ${total} bytes exceeds the relay's limit of ${max} bytes`);
}

function notAnArray(host: unknown): RelayError {
  return invalid(`users of host ${JSON.stringify(host)} must be an array`);
}

function tooManyHosts(): RelayError {
  return invalid(`a route holds at most ${MAX_HOSTS_PER_ROUTE} hosts`);
}

function invalid(message: string): RelayError {
  return new RelayError(ErrorCodes.INVALID_ARGUMENT, message);
}
