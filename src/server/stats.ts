import { FailureReason } from '../protocol/constants.js';

/** Counters a {@link RelayServer} keeps since it started. */
export interface RelayStats {
  /** Nodes connected and past their hello right now. */
  nodes: number;
  /** Connections accepted that have not completed their hello yet. */
  pendingConnections: number;
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  /** ROUTE frames routed. */
  routes: number;
  /** DELIVER frames handed to target nodes. */
  deliveries: number;
  /** Users reported back to senders as not handed to any node, whatever the reason (the fields below included). */
  usersOffline: number;
  /** Of {@link usersOffline}: users on a node too far behind (`overflow`). */
  usersOverflowed: number;
  /** Of {@link usersOffline}: users on a node that cannot take the message (`refused`). */
  usersRefused: number;
  /** Of {@link usersOffline}: users of a `sendToUsers` online on no node. */
  usersNowhere: number;
  /** Hosts refused because their outbound buffer was full. */
  overflows: number;
  /** Connections closed for malformed or out-of-turn frames. */
  protocolErrors: number;
  /** Connections refused for bad credentials. */
  authFailures: number;
  /**
   * Connections refused at the TLS layer: not speaking TLS, a handshake that
   * failed, timed out or was abandoned, a client certificate missing or not
   * trusted. A node whose certificate does not name it counts in `authFailures`.
   */
  tlsFailures: number;
  /** Nodes that completed their handshake (`node:up`), since the start. */
  nodesUp: number;
  /** Nodes that left (`node:down`), since the start. */
  nodesDown: number;
  /** Connections closed on arrival: too many not past their hello, in total or from their address. */
  connectionsRefused: number;
}

/** Counts `users` reported to their sender as not delivered, for `reason` (off the delivered path: only failures pay). */
export function countUndelivered(stats: RelayStats, reason: FailureReason, users: number): void {
  stats.usersOffline += users;
  if (reason === FailureReason.OVERFLOW) stats.usersOverflowed += users;
  else if (reason === FailureReason.REFUSED) stats.usersRefused += users;
  else if (reason === FailureReason.NOWHERE) stats.usersNowhere += users;
}

export function emptyStats(): RelayStats {
  return {
    nodes: 0,
    pendingConnections: 0,
    framesIn: 0,
    bytesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    routes: 0,
    deliveries: 0,
    usersOffline: 0,
    usersOverflowed: 0,
    usersRefused: 0,
    usersNowhere: 0,
    overflows: 0,
    protocolErrors: 0,
    authFailures: 0,
    tlsFailures: 0,
    nodesUp: 0,
    nodesDown: 0,
    connectionsRefused: 0,
  };
}
