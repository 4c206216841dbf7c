import type { FrameWriter } from '../codec/frame-writer.js';
import { FrameTooLargeError, InvalidArgumentError } from '../errors.js';
import {
  FrameType,
  PAYLOAD_KIND_SHIFT,
  RouteFlags,
  writeRoute,
  writeUserList,
  writeRouteFrame,
  type RouteTable,
  type Scratch,
  type UserId,
} from '../protocol/index.js';
import { encodeMessage, payloadKindOf, type Serializer } from './serializer.js';

/** Room a users report needs beyond the ids: its head, and the hosts it names the users under. */
const USERS_REPORT_MARGIN = 4096;

// What a send without a report returns: it was written, and no one asks where to.
const UNREPORTED: string[] = [];

/**
 * Encodes a `send` as a ROUTE frame straight into `writer`. Returns the hosts
 * written when it asks for a report (the hosts an ACK speaks of), or undefined, writing
 * nothing, when no host has users.
 */
export function writeRouteSend(
  writer: FrameWriter,
  seq: number,
  wantsReport: boolean,
  table: RouteTable,
  message: unknown,
  serializer: Serializer | undefined,
  maxFrameBytes: number,
  maxAnswerBytes: number,
): string[] | undefined {
  const payload = encodeMessage(message, serializer);
  const flags = (wantsReport ? RouteFlags.REPORT : 0) | (payloadKindOf(message, serializer) << PAYLOAD_KIND_SHIFT);
  const hosts = wantsReport ? [] : undefined;
  if (writeRoute(writer, flags, seq, table, payload, maxFrameBytes, hosts, maxAnswerBytes) === 0) return undefined;
  return hosts ?? UNREPORTED;
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
  maxAnswerBytes: number,
): boolean {
  if (!Array.isArray(userIds)) throw new InvalidArgumentError('userIds must be an array');
  if (userIds.length === 0) return false;
  const payload = encodeMessage(message, serializer);
  scratch.ensure(0, 10);
  const buf = scratch.buf;
  buf[0] = FrameType.SEND_USERS;
  buf[1] = (wantsReport ? RouteFlags.REPORT : 0) | (payloadKindOf(message, serializer) << PAYLOAD_KIND_SHIFT);
  buf.writeUInt32LE(seq >>> 0, 2);
  // Each user once: 42 and '42' are the same user.
  const pos = writeUserList(scratch, 6, userIds);
  // The relay answers a send it cannot report in full with each user once: that much must fit.
  if (pos - 6 + USERS_REPORT_MARGIN > maxAnswerBytes) {
    throw new FrameTooLargeError(
      `a report on this send could take ${pos - 6 + USERS_REPORT_MARGIN} bytes, more than this node's limit of ${maxAnswerBytes}: send to fewer users at once`,
    );
  }
  writeRouteFrame(writer, scratch, pos, payload, maxFrameBytes);
  return true;
}
