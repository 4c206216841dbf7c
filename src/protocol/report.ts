import { InvalidArgumentError, ProtocolError } from '../errors.js';
import type { FrameWriter } from '../codec/frame-writer.js';
import { FailureReason, FrameType, ReportFlags } from './constants.js';
import { id8 } from './id-writer.js';
import { Reader } from './reader.js';
import type { RouteSpans } from './route.js';
import { readUserList, skipUserList } from './user-list.js';
import { putU32LE } from '../codec/put-u32.js';

/** A host whose users were not handed to a live node. */
export interface FailedHost {
  host: string;
  reason: FailureReason;
  users: string[];
}

/** A REPORT as decoded by the sending node. */
export interface ReportFrame {
  seq: number;
  /** True for a full report; false for a failure-only notice. */
  full: boolean;
  /** The hosts handed their users; empty when {@link implied}. */
  delivered: string[];
  failed: FailedHost[];
  /**
   * Set (`ReportFlags.IMPLIED`) when the relay left the delivered list out:
   * every host the send named that {@link failed} does not name took its
   * users, and only the sender, who knows the hosts it named, can list them.
   */
  implied?: true;
}

/** Outcome per host recorded by the router: 0 delivered, else a {@link FailureReason}. */
export type Outcomes = Uint8Array;

/**
 * Appends a REPORT for a routed ROUTE to `writer`, copying host and user list
 * bytes straight from the ROUTE: nothing is decoded.
 */
export function writeReport(writer: FrameWriter, route: Buffer, spans: RouteSpans, outcomes: Outcomes, full: boolean): void {
  let size = 1 + 1 + 4 + 2 + 2;
  for (let i = 0; i < spans.hostCount; i++) {
    const hostBytes = 1 + spans.hostEnd(i) - spans.hostStart(i);
    size += outcomes[i] === 0 ? hostBytes : hostBytes + 1 + (spans.usersEnd(i) - spans.usersStart(i));
  }
  const off = writer.reserve(size);
  const buf = writer.buf;
  buf[off] = FrameType.REPORT;
  buf[off + 1] = full ? ReportFlags.FULL : 0;
  putU32LE(buf, off + 2, spans.seq);
  let pos = off + 8;
  let delivered = 0;
  for (let i = 0; i < spans.hostCount; i++) {
    if (outcomes[i] !== 0) continue;
    pos = copyHost(buf, pos, route, spans, i);
    delivered++;
  }
  buf.writeUInt16LE(delivered, off + 6);
  const failedAt = pos;
  pos += 2;
  for (let i = 0; i < spans.hostCount; i++) {
    if (outcomes[i] === 0) continue;
    pos = copyHost(buf, pos, route, spans, i);
    buf[pos++] = outcomes[i]!;
    pos += route.copy(buf, pos, spans.usersStart(i), spans.usersEnd(i));
  }
  buf.writeUInt16LE(spans.hostCount - delivered, failedAt);
}

function copyHost(buf: Buffer, pos: number, route: Buffer, spans: RouteSpans, i: number): number {
  const start = spans.hostStart(i);
  const end = spans.hostEnd(i);
  buf[pos] = end - start;
  return pos + 1 + route.copy(buf, pos + 1, start, end);
}

/**
 * Encodes a REPORT payload from parts (for tests and transports without a
 * relay). Throws `ERR_INVALID_ARGUMENT` for an id it cannot carry (a host may
 * be empty only in a NOWHERE entry, which names no host) or more than 65535
 * hosts in either list.
 */
export function encodeReport(report: ReportFrame): Buffer {
  if (report.delivered.length > 0xffff || report.failed.length > 0xffff) {
    throw new InvalidArgumentError('a report lists at most 65535 delivered and 65535 failed hosts');
  }
  if (report.implied === true && report.delivered.length > 0) {
    throw new InvalidArgumentError('an implied report leaves the delivered list out: it must be empty');
  }
  const parts: Buffer[] = [];
  const head = Buffer.allocUnsafe(8);
  head[0] = FrameType.REPORT;
  head[1] = (report.full ? ReportFlags.FULL : 0) | (report.implied === true ? ReportFlags.IMPLIED : 0);
  head.writeUInt32LE(report.seq >>> 0, 2);
  head.writeUInt16LE(report.delivered.length, 6);
  parts.push(head);
  for (const host of report.delivered) parts.push(id8(host, 'host'));
  parts.push(u16(report.failed.length));
  for (const f of report.failed) {
    // Empty only for the NOWHERE entry of a SEND_USERS report, which names no host.
    parts.push(id8(f.host, 'host', f.reason === FailureReason.NOWHERE), Buffer.of(f.reason), u32(f.users.length));
    for (const user of f.users) parts.push(id8(user, 'user id'));
  }
  return Buffer.concat(parts);
}

/**
 * Decodes a REPORT payload. Throws `ERR_PROTOCOL` when malformed, including
 * an IMPLIED report whose delivered count is not 0 (the flag says the list
 * was left out: a list there would contradict it).
 */
export function decodeReport(p: Buffer): ReportFrame {
  const r = new Reader(p);
  if (r.u8() !== FrameType.REPORT) throw new ProtocolError('not a report frame');
  const flags = r.u8();
  const full = (flags & ReportFlags.FULL) !== 0;
  const implied = (flags & ReportFlags.IMPLIED) !== 0;
  const seq = r.u32();
  const delivered = new Array<string>(r.u16());
  if (implied && delivered.length > 0) throw new ProtocolError('report: an implied report lists delivered hosts');
  for (let i = 0; i < delivered.length; i++) delivered[i] = r.id8();
  const failed = new Array<FailedHost>(r.u16());
  for (let i = 0; i < failed.length; i++) {
    const host = r.id8();
    const reason = r.u8() as FailureReason;
    const users = readUserList(p, r.pos);
    r.pos = skipUserList(p, r.pos);
    failed[i] = { host, reason, users };
  }
  r.end('report');
  const report: ReportFrame = { seq, full, delivered, failed };
  if (implied) report.implied = true;
  return report;
}

function u16(v: number): Buffer {
  const b = Buffer.allocUnsafe(2);
  b.writeUInt16LE(v, 0);
  return b;
}

function u32(v: number): Buffer {
  const b = Buffer.allocUnsafe(4);
  b.writeUInt32LE(v, 0);
  return b;
}
