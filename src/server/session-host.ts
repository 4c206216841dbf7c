import type { RelayError } from '../errors.js';
import type { Flusher } from './flusher.js';
import type { ResolvedServerOptions } from './options.js';
import type { Session } from './session.js';
import type { RelayStats } from './stats.js';

/** What a {@link Session} needs from the server that owns it. */
export interface SessionHost {
  readonly options: ResolvedServerOptions;
  readonly stats: RelayStats;
  readonly flusher: Flusher;
  /**
   * Adds a session to the registry; returns an error to refuse it. `announce`
   * false keeps a provisional legacy node quiet until it is confirmed.
   */
  register(session: Session, announce: boolean): RelayError | undefined;
  /**
   * Claims the session's node id for a binary node that proved it: calls
   * `then` with a refusal, or `undefined` once the id is the session's (at
   * once, or after checking that an older connection with the id is dead).
   */
  claim(session: Session, then: (refusal: RelayError | undefined) => void): void;
  /** The session passed its hello (`proven`) or was confirmed as a Go node (`legacy`). */
  admitted(session: Session, as: 'proven' | 'legacy'): void;
  /** A handshake from the session failed: returns how long to wait before answering. */
  authFailed(session: Session): number;
  /** Emits `node:up` for a provisional legacy node that turned out to be one. */
  announce(session: Session): void;
  /** Takes a provisional legacy node out of the registry silently: it said hello. */
  withdraw(session: Session): void;
  /**
   * Handles the routing frame (ROUTE, PRESENCE, SEND_USERS, LOCATE) at
   * `[start, end)` of `buf` from a ready binary node; false for any other type.
   */
  route(session: Session, buf: Buffer, start: number, end: number): boolean;
  /** A node was admitted: what was parked for it (it dropped, or the relay restarted) goes out first. */
  unpark(session: Session): void;
  /** Routes a legacy JSON document from a legacy node. */
  routeLegacy(session: Session, payload: Buffer): void;
  /**
   * Takes a session out of routing (idempotent): called as soon as it starts
   * closing, and again when its socket is closed.
   */
  release(session: Session, reason: RelayError | undefined): void;
  /** The session's socket is closed. */
  closed(session: Session): void;
  /** A peer misbehaved: reported before it is closed. */
  onSessionError(session: Session, error: RelayError): void;
}
