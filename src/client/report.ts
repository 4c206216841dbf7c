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
}

/** What an `offline` event carries, for sends made with `{ report: false }`. */
export interface OfflineNotice {
  offline: Record<string, string[]>;
  reasons: Record<string, FailureKind>;
}

const KIND: Record<number, FailureKind> = {
  [FailureReason.OFFLINE]: 'offline',
  [FailureReason.OVERFLOW]: 'overflow',
  [FailureReason.REFUSED]: 'refused',
};

export function toSendReport(frame: ReportFrame): SendReport {
  if (frame.failed.length === 0) return { delivered: frame.delivered, offline: {} };
  const { offline, reasons } = toOfflineNotice(frame);
  return { delivered: frame.delivered, offline, reasons };
}

export function toOfflineNotice(frame: ReportFrame): OfflineNotice {
  const offline: Record<string, string[]> = {};
  const reasons: Record<string, FailureKind> = {};
  for (const f of frame.failed) {
    (offline[f.host] ??= []).push(...f.users);
    reasons[f.host] = KIND[f.reason] ?? 'refused';
  }
  return { offline, reasons };
}
