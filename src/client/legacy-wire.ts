import type { FrameWriter } from '../codec/frame-writer.js';
import { FrameTooLargeError, InvalidArgumentError } from '../errors.js';
import {
  LEGACY_TYPE_HEARTBEAT,
  LEGACY_TYPE_OFFLINE,
  coerceMessage,
  encodeTransmitMap,
  isCanonicalUint64,
  parseTransmitMap,
  type TransmitMessage,
} from '../legacy/index.js';
import { userIdToString, type RouteTable, type UserId } from '../protocol/index.js';
import { dropRepeats } from '../protocol/unique-ids.js';
import type { FailureKind, OfflineNotice } from './report.js';

/**
 * Writes one send as a legacy `TransmitMap` frame; returns the number of
 * hosts written (0, writing nothing, when no host has users).
 *
 * The message is checked first, whatever the table: it must be able to be a
 * `TransmitMap` (see `coerceMessage`: a plain object whose keys are legacy
 * fields of the right types), or the send is refused with `ERR_MESSAGE`.
 * User ids must be unsigned 64-bit integers (`ERR_INVALID_ARGUMENT`); a user
 * named twice for one host is written once. Nothing is written unless all of
 * it is valid.
 */
export function writeLegacySend(writer: FrameWriter, table: RouteTable, message: unknown, maxFrameBytes: number): number {
  const fields = coerceMessage(message);
  if (typeof table !== 'object' || table === null) throw invalid('usersByHost must be an object or a Map');
  const users = new Map<string, string[]>();
  const entries: Iterable<[string, readonly UserId[]]> =
    table instanceof Map ? table : Object.entries(table as Record<string, readonly UserId[]>);
  for (const [host, ids] of entries) {
    if (!Array.isArray(ids)) throw invalid(`users of host ${JSON.stringify(host)} must be an array`);
    if (ids.length === 0) continue;
    users.set(
      host,
      // Canonical decimal strings: equal ids are equal strings ([42, '42', 42n]).
      dropRepeats(
        ids.map((id) => {
          const s = userIdToString(id);
          if (!isCanonicalUint64(s)) throw invalid(`legacy user ids are unsigned 64-bit integers, got ${JSON.stringify(s)}`);
          return s;
        }),
      ),
    );
  }
  if (users.size === 0) return 0;
  const payload = encodeTransmitMap({ users, message: fields });
  if (payload.length > maxFrameBytes) {
    throw new FrameTooLargeError(`message frame of ${payload.length} bytes exceeds the limit of ${maxFrameBytes} bytes`);
  }
  const off = writer.reserve(payload.length);
  payload.copy(writer.buf, off);
  return users.size;
}

/** A frame from a legacy hub, as the client sees it. */
export type LegacyInbound =
  { type: 'delivery'; users: string[]; message: TransmitMessage } | { type: 'offline'; notice: OfflineNotice } | { type: 'heartbeat' };

/**
 * Reads a frame from a legacy hub. A type-100 notice becomes an offline
 * notice; when the hub is imrelay it names the host, its users, the reason
 * and the message id (a Go hub names none of them). A delivery names each
 * user once, however often the document lists it: a Go sender does not
 * check, and the application would write to that user twice.
 */
export function readLegacyFrame(payload: Buffer): LegacyInbound {
  const doc = parseTransmitMap(payload);
  if (doc.message.type === LEGACY_TYPE_OFFLINE && doc.users.size === 0) return { type: 'offline', notice: readNotice(payload) };
  if (doc.message.type === LEGACY_TYPE_HEARTBEAT && doc.users.size === 0) return { type: 'heartbeat' };
  const users: string[] = [];
  for (const ids of doc.users.values()) for (const id of ids) users.push(id);
  return { type: 'delivery', users: dropRepeats(users), message: doc.message };
}

function readNotice(payload: Buffer): OfflineNotice {
  const text = payload.toString('utf8');
  let extra: { host?: unknown; reason?: unknown; msgId?: unknown } = {};
  try {
    extra = JSON.parse(text) as typeof extra;
  } catch {
    // parseTransmitMap accepted it, so this does not happen; keep the bare notice if it does.
  }
  const notice: OfflineNotice = { offline: {}, reasons: {} };
  if (typeof extra.host === 'string') {
    // Read the ids from the text: JSON.parse would round those above 2^53.
    const ids = /"offlineUsers":\[([\d,\s]*)\]/.exec(text)?.[1];
    notice.offline[extra.host] = ids
      ? ids
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean)
      : [];
    notice.reasons[extra.host] = (['offline', 'overflow', 'refused'] as const).includes(extra.reason as FailureKind)
      ? (extra.reason as FailureKind)
      : 'offline';
  }
  if (typeof extra.msgId === 'string') notice.messageId = extra.msgId;
  return notice;
}

function invalid(message: string): InvalidArgumentError {
  return new InvalidArgumentError(message);
}
