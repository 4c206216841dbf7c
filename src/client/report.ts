import { ProtocolError } from '../errors.js';
import { FailureReason } from '../protocol/constants.js';
import type { ReportFrame } from '../protocol/report.js';

/** Why a host's users were not handed to a node. */
export type FailureKind = 'offline' | 'overflow' | 'refused';

/** What the relay did with one send. */
export interface SendReport {
  /** Hosts that were handed their users. */
  delivered: string[];
  /** Hosts that were not, with their users: store these users' messages offline. */
  offline: Record<string, string[]>;
  /**
   * Why each host in `offline` failed; present only when `offline` is not empty.
   * `offline`: no such node connected; `overflow`: the node is connected but
   * too far behind; `refused`: the node cannot take this message.
   */
  reasons?: Record<string, FailureKind>;
  /**
   * Set by the legacy dialect, whose hubs send no reports: the send was
   * written and nothing more is known; failures arrive as `offline` events.
   */
  unconfirmed?: true;
}

/** What the relay did with one `sendToUsers`. */
export interface UsersReport {
  /** Nodes that were handed their users. */
  delivered: string[];
  /** Users online on no node: store their messages offline. */
  offline: string[];
  /** Users located on nodes that could not take the message (down, or too far behind), by node. */
  undelivered: Record<string, string[]>;
  /** Why each node in `undelivered` failed; present only when it is not empty. */
  reasons?: Record<string, FailureKind>;
}

/** What an `offline` event carries, for sends made with `{ report: false }` and legacy notices. */
export interface OfflineNotice {
  /** Host -> users it did not take. */
  offline: Record<string, string[]>;
  reasons: Record<string, FailureKind>;
  /** Users online on no node (from `sendToUsers`). */
  nowhere?: string[];
  /** The message id, when a legacy hub named it. */
  messageId?: string;
}

const KIND: Record<number, FailureKind> = {
  [FailureReason.OFFLINE]: 'offline',
  [FailureReason.OVERFLOW]: 'overflow',
  [FailureReason.REFUSED]: 'refused',
};

/**
 * The report of a `send`. `named` is the hosts the send named (with users),
 * in the order written: an IMPLIED report leaves the delivered list out, and
 * the delivered hosts are the named ones it does not list as failed.
 */
export function toSendReport(frame: ReportFrame, named: readonly string[] | undefined): SendReport {
  const delivered = frame.implied === true ? impliedDelivered(frame, named) : frame.delivered;
  if (frame.failed.length === 0) return { delivered, offline: {} };
  const { offline, reasons } = toOfflineNotice(frame);
  return { delivered, offline, reasons };
}

function impliedDelivered(frame: ReportFrame, named: readonly string[] | undefined): string[] {
  if (named === undefined) throw new ProtocolError(`report ${frame.seq}: an implied report answers a send that named no hosts`);
  if (frame.failed.length === 0) return named.slice();
  const failed = new Set<string>();
  for (const f of frame.failed) failed.add(f.host);
  return named.filter((host) => !failed.has(host));
}

/** The report of a `sendToUsers`: it names the nodes, so it is never implied. */
export function toUsersReport(frame: ReportFrame): UsersReport {
  if (frame.implied === true) throw new ProtocolError(`report ${frame.seq}: a sendToUsers report cannot be implied`);
  const { offline, reasons, nowhere } = toOfflineNotice(frame);
  const report: UsersReport = { delivered: frame.delivered, offline: nowhere ?? [], undelivered: offline };
  if (Object.keys(offline).length > 0) report.reasons = reasons;
  return report;
}

export function toOfflineNotice(frame: ReportFrame): OfflineNotice {
  const notice: OfflineNotice = { offline: {}, reasons: {} };
  for (const f of frame.failed) {
    if (f.reason === FailureReason.NOWHERE) {
      (notice.nowhere ??= []).push(...f.users);
      continue;
    }
    (notice.offline[f.host] ??= []).push(...f.users);
    notice.reasons[f.host] = KIND[f.reason] ?? 'refused';
  }
  return notice;
}

/** The answer to a send that named no users: nothing to do, nothing failed. */
export function emptyReply(reply: 'hosts' | 'users' | 'none'): SendReport | UsersReport | undefined {
  if (reply === 'hosts') return { delivered: [], offline: {} };
  if (reply === 'users') return { delivered: [], offline: [], undelivered: {} };
  return undefined;
}
