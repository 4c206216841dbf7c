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
  /** Users reported back to senders as not handed to any node. */
  usersOffline: number;
  /** Hosts refused because their outbound buffer was full. */
  overflows: number;
  /** Connections closed for malformed or out-of-turn frames. */
  protocolErrors: number;
  /** Connections refused for bad credentials. */
  authFailures: number;
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
    overflows: 0,
    protocolErrors: 0,
    authFailures: 0,
  };
}
