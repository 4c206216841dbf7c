import { FrameTooLargeError, InvalidArgumentError } from '../errors.js';
import { DEFAULT_COPY_THRESHOLD, type FrameWriter } from '../codec/frame-writer.js';
import { writeUtf8 } from '../codec/text.js';
import { FrameType, MAX_HOSTS_PER_ROUTE } from './constants.js';
import { idBound, putId } from './id-writer.js';
import { WrittenIds } from './unique-ids.js';
import { userIdToString, type UserId } from './user-id.js';
import { putU32LE } from '../codec/put-u32.js';

/** Host (node id) -> the user ids on that host, as a plain object or a Map. */
export type RouteTable = Readonly<Record<string, readonly UserId[]>> | ReadonlyMap<string, readonly UserId[]>;

/** Bytes before the routing table: type, flags, seq, host count. */
export const ROUTE_FIXED_BYTES = 8;

/** The hosts of `table`, in its order. Throws `ERR_INVALID_ARGUMENT` for something that is no table. */
function hostsOf(table: RouteTable): readonly string[] {
  if (table instanceof Map) return Array.from(table.keys());
  if (typeof table === 'object' && table !== null) return Object.keys(table);
  throw invalid('usersByHost must be an object or a Map');
}

/** The users `table` gives `host`, checked to be an array. */
function usersAt(table: RouteTable, host: string): readonly UserId[] {
  const users: unknown = table instanceof Map ? table.get(host) : (table as Record<string, unknown>)[host];
  if (!Array.isArray(users)) throw invalid(`users of host ${JSON.stringify(host)} must be an array`);
  return users as readonly UserId[];
}

/**
 * Validates the shape of `table` and returns the most bytes its routing
 * table can take (0 when no host has users: there is nothing to send).
 * Sizing a table before writing it lets it be written in place, with no
 * intermediate copy, however large it is. Throws `ERR_INVALID_ARGUMENT` for a
 * malformed table.
 */
export function routeTableBound(table: RouteTable): number {
  const hosts = hostsOf(table);
  let bound = 0;
  let written = 0;
  for (let k = 0; k < hosts.length; k++) {
    const host = hosts[k]!;
    const users = usersAt(table, host);
    if (users.length === 0) continue;
    if (++written > MAX_HOSTS_PER_ROUTE) throw tooManyHosts();
    bound += idBound(host, 'host') + 4;
    for (let i = 0; i < users.length; i++) bound += idBound(users[i]!, 'user id');
  }
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
  putU32LE(buf, off + 2, seq);
  let pos = off + ROUTE_FIXED_BYTES;
  let count = 0;
  const hosts = hostsOf(table);
  for (let k = 0; k < hosts.length; k++) {
    const host = hosts[k]!;
    const users = usersAt(table, host);
    if (users.length === 0) continue;
    if (++count > MAX_HOSTS_PER_ROUTE) throw tooManyHosts();
    pos = putHost(buf, pos, limit, host, users);
    if (pos === OUT_OF_ROOM) return OUT_OF_ROOM;
    written?.push(host);
  }
  buf.writeUInt16LE(count, off + 6);
  return pos;
}

/**
 * {@link putRouteHeader} into room sized by {@link routeTableBound}. Only a
 * table whose arrays change between the sizing and the writing (a getter, a
 * proxy) can outgrow it; it is refused, and what it wrote is never committed.
 */
export function putSizedRouteHeader(
  buf: Buffer,
  off: number,
  room: number,
  flags: number,
  seq: number,
  table: RouteTable,
  written?: string[],
): number {
  const end = putRouteHeader(buf, off, off + room, flags, seq, table, written);
  if (end === OUT_OF_ROOM) throw invalid('usersByHost changed while the route was being encoded');
  return end;
}

// Writing is synchronous, so one table serves every list in turn.
const writtenIds = new WrittenIds();

/**
 * Writes one host and its users; a user named twice (`[42, '42']`) is
 * written once, at its first place, so the host's node hands the message to
 * each of its users once.
 */
function putHost(buf: Buffer, pos: number, limit: number, host: string, users: readonly UserId[]): number {
  // A host that is no string is refused by putId, whatever the room.
  if (typeof host === 'string' && pos + 4 + idBound(host, 'host') > limit) return OUT_OF_ROOM;
  pos = putId(buf, pos, host, 'host');
  const countAt = pos;
  pos += 4;
  const n = users.length;
  if (n > 1) writtenIds.reset(n);
  let kept = 0;
  for (let i = 0; i < n; i++) {
    const user = users[i]!;
    if (pos + idBound(user, 'user id') > limit) return OUT_OF_ROOM;
    const end = putId(buf, pos, typeof user === 'string' ? user : userIdToString(user), 'user id');
    // A repeat is left where it is: the next id is written over it.
    if (n > 1 && writtenIds.repeats(buf, pos, end)) continue;
    pos = end;
    kept++;
  }
  putU32LE(buf, countAt, kept);
  return pos;
}

/** A payload as a frame carries it: a string too large to encode into a slab becomes bytes first. */
export function routePayload(payload: string | Uint8Array): string | Uint8Array {
  return typeof payload === 'string' && payload.length * 3 >= DEFAULT_COPY_THRESHOLD ? Buffer.from(payload) : payload;
}

/** Slab bytes a {@link routePayload} takes after the header: none when it goes by reference. */
export function inlinePayloadRoom(payload: string | Uint8Array): number {
  if (typeof payload === 'string') return payload.length * 3;
  return payload.length < DEFAULT_COPY_THRESHOLD ? payload.length : 0;
}

/**
 * Writes the payload of the frame begun at `off` of `writer.buf`, whose
 * header ends at `headerEnd`, and commits the frame; returns its payload
 * length. The frame was begun with {@link inlinePayloadRoom} bytes after the
 * header. Throws `ERR_FRAME_TOO_LARGE`, committing nothing, when the frame
 * would exceed `maxFrameBytes`.
 */
export function finishRouteFrame(
  writer: FrameWriter,
  off: number,
  headerEnd: number,
  payload: string | Uint8Array,
  maxFrameBytes: number,
): number {
  const buf = writer.buf;
  if (typeof payload === 'string') {
    const end = headerEnd + writeUtf8(buf, payload, headerEnd);
    checkSize(end - off, maxFrameBytes);
    writer.commit(end);
    return end - off;
  }
  const total = headerEnd - off + payload.length;
  checkSize(total, maxFrameBytes);
  if (payload.length < DEFAULT_COPY_THRESHOLD) {
    buf.set(payload, headerEnd);
    writer.commit(headerEnd + payload.length);
  } else {
    writer.commit(headerEnd, total);
    writer.appendReference(Buffer.isBuffer(payload) ? payload : Buffer.from(payload.buffer, payload.byteOffset, payload.length));
  }
  return total;
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
  maxAnswerBytes = Infinity,
): number {
  const body = routePayload(payload);
  const inline = inlinePayloadRoom(body);
  // One pass over the table in the room the slab has; a table too large for
  // it is sized first and written again in exactly the room it needs.
  if (writer.available < MIN_OPTIMISTIC_ROOM + inline) writer.begin(MIN_OPTIMISTIC_ROOM + inline);
  let off = writer.begin(writer.available);
  let headerEnd = putRouteHeader(writer.buf, off, off + writer.available - inline, flags, seq, table, written);
  if (headerEnd === OUT_OF_ROOM) {
    if (written) written.length = 0;
    const room = ROUTE_FIXED_BYTES + routeTableBound(table);
    off = writer.begin(room + inline);
    headerEnd = putSizedRouteHeader(writer.buf, off, room, flags, seq, table, written);
  }
  const hostCount = writer.buf.readUInt16LE(off + 6);
  if (hostCount === 0) return 0;
  const answerBytes = reportBound(headerEnd - off, hostCount);
  if (answerBytes > maxAnswerBytes) {
    if (written) written.length = 0;
    throw new FrameTooLargeError(
      `a report on this send could take ${answerBytes} bytes, more than this node's limit of ${maxAnswerBytes}: send to fewer hosts at once`,
    );
  }
  return finishRouteFrame(writer, off, headerEnd, body, maxFrameBytes);
}

/**
 * The largest REPORT a ROUTE with this header can get: every host failed,
 * each with its users and a reason byte (the report header is two bytes
 * longer than the ROUTE's).
 */
export function reportBound(routeHeaderBytes: number, hostCount: number): number {
  return routeHeaderBytes + 2 + hostCount;
}

function checkSize(total: number, max: number): void {
  if (total > max) throw new FrameTooLargeError(`message frame of ${total} bytes exceeds the relay's limit of ${max} bytes`);
}

function tooManyHosts(): InvalidArgumentError {
  return invalid(`a route holds at most ${MAX_HOSTS_PER_ROUTE} hosts`);
}

function invalid(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message);
}
