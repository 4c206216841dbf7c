import type { FrameWriter } from '../codec/frame-writer.js';
import { ErrorCodes, RelayError } from '../errors.js';
import {
  FrameType,
  PAYLOAD_KIND_SHIFT,
  RouteFlags,
  encodeRouteHeader,
  routeHostCount,
  userIdToString,
  writeId,
  writeRouteFrame,
  type RouteTable,
  type Scratch,
  type UserId,
} from '../protocol/index.js';
import { encodeMessage, type Serializer } from './serializer.js';

/**
 * Encodes a `send` as a ROUTE frame into `writer`: the routing header into the
 * reused scratch, the message straight into the writer. Returns false (writing
 * nothing) when no host has users.
 */
export function writeRouteSend(
  writer: FrameWriter,
  scratch: Scratch,
  seq: number,
  wantsReport: boolean,
  table: RouteTable,
  message: unknown,
  serializer: Serializer | undefined,
  maxFrameBytes: number,
): boolean {
  const { payload, kind } = encodeMessage(message, serializer);
  const flags = (wantsReport ? RouteFlags.REPORT : 0) | (kind << PAYLOAD_KIND_SHIFT);
  const headerBytes = encodeRouteHeader(scratch, flags, seq, table);
  if (routeHostCount(scratch) === 0) return false;
  writeRouteFrame(writer, scratch, headerBytes, payload, maxFrameBytes);
  return true;
}

/** Encodes a `sendToUsers` as a SEND_USERS frame. Returns false when there are no users. */
export function writeUsersSend(
  writer: FrameWriter,
  scratch: Scratch,
  seq: number,
  wantsReport: boolean,
  userIds: readonly UserId[],
  message: unknown,
  serializer: Serializer | undefined,
  maxFrameBytes: number,
): boolean {
  if (!Array.isArray(userIds)) throw new RelayError(ErrorCodes.INVALID_ARGUMENT, 'userIds must be an array');
  if (userIds.length === 0) return false;
  const { payload, kind } = encodeMessage(message, serializer);
  scratch.ensure(0, 10);
  const buf = scratch.buf;
  buf[0] = FrameType.SEND_USERS;
  buf[1] = (wantsReport ? RouteFlags.REPORT : 0) | (kind << PAYLOAD_KIND_SHIFT);
  buf.writeUInt32LE(seq >>> 0, 2);
  buf.writeUInt32LE(userIds.length, 6);
  let pos = 10;
  for (const id of userIds) pos = writeId(scratch, pos, userIdToString(id), 'user id');
  writeRouteFrame(writer, scratch, pos, payload, maxFrameBytes);
  return true;
}
