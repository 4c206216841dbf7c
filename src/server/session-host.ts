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
  /** Adds a session that passed its handshake; returns an error to refuse it. */
  register(session: Session): RelayError | undefined;
  /** Routes one ROUTE frame from a ready session. */
  route(session: Session, payload: Buffer): void;
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
