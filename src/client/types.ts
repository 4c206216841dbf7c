import type { RelayError } from '../errors.js';
import type { OfflineNotice } from './report.js';

/** A message for users on this node. */
export interface Delivery<M = unknown> {
  /** The node id of the sender (empty in the legacy dialect, whose hubs do not say). */
  from: string;
  /** The users on this node to hand the message to. */
  users: string[];
  message: M;
}

/** Per-send options. */
export interface SendOptions {
  /**
   * `true` (default): resolve with the relay's report. `false`: resolve once
   * written; users the relay could not hand over arrive on the `offline` event.
   */
  report?: boolean | undefined;
}

/** Events of a {@link RelayClient}. */
export interface RelayClientEvents {
  /** Welcomed by the relay (first connect and every reconnect). */
  connect: () => void;
  /** The connection dropped; the client reconnects unless closed or failed. */
  disconnect: (reason: RelayError | undefined) => void;
  /** A reconnection attempt is scheduled. */
  reconnecting: (info: { attempt: number; delayMs: number; reason: RelayError | undefined }) => void;
  /** Users of a `{ report: false }` send that no node took, or a legacy hub's offline notice. */
  offline: (notice: OfflineNotice) => void;
  /** Something went wrong; a fatal error also ends the delivery loop. */
  error: (error: RelayError) => void;
}
