import type { RelayStats } from '../server/stats.js';
import { ExpositionWriter, type Sample } from './exposition.js';

/** What the collector reads of one connection. */
export interface SessionView {
  /** True once past the handshake. */
  readonly ready: boolean;
  readonly nodeId: string;
  /** The registry and presence key of the node. */
  readonly key: string;
  /** Bytes waiting for the node: in the relay's buffer, the socket's, and held beyond its window. */
  readonly outboundBytes: number;
  /** A ONCE node's window: deliveries written and not yet taken by its application. */
  readonly window?: { readonly outstanding: number } | undefined;
}

/** What the relay's metrics are read from, at scrape time. */
export interface ServerMetricsSource {
  /** The relay's counters now, `nodes` and `pendingConnections` included (`server.stats()`). */
  readonly stats: RelayStats;
  readonly sessions: Iterable<SessionView>;
  readonly presence: {
    readonly userCount: number;
    readonly nodeCount: number;
    usersOf(key: string): ReadonlySet<string> | undefined;
  };
  /** The per-node bound on buffered bytes (`maxOutboundBytes`). */
  readonly maxOutboundBytes: number;
  /** When the relay started listening (ms since the epoch), 0 before. */
  readonly startedAt: number;
}

/** Options of {@link RelayServer.metrics}. */
export interface ServerMetricsOptions {
  /**
   * How many nodes, the most loaded first, get a series of their own (label
   * `node`) for their buffered bytes and their unsettled deliveries: enough
   * to name a slow node, few enough to keep the series count bounded
   * whatever the cluster's size. 0 leaves per-node series out. Default 10.
   */
  topNodes?: number | undefined;
}

/** Nodes named in per-node series by default. */
export const DEFAULT_TOP_NODES = 10;

/**
 * The relay's metrics in the Prometheus text format. Counters are the
 * relay's running totals; gauges are computed now, by walking the
 * connections, so that counting costs the routing path nothing.
 */
export function writeServerMetrics(source: ServerMetricsSource, options: ServerMetricsOptions = {}): string {
  const topNodes = options.topNodes ?? DEFAULT_TOP_NODES;
  const s = source.stats;
  let buffered = 0;
  let largest = 0;
  let unsettled = 0;
  let connectedWithUsers = 0;
  const byBytes: Array<{ node: string; value: number }> = [];
  const byUnsettled: Array<{ node: string; value: number }> = [];
  for (const session of source.sessions) {
    if (!session.ready) continue;
    const bytes = session.outboundBytes;
    buffered += bytes;
    if (bytes > largest) largest = bytes;
    if (bytes > 0) byBytes.push({ node: session.nodeId, value: bytes });
    const outstanding = session.window?.outstanding ?? 0;
    unsettled += outstanding;
    if (outstanding > 0) byUnsettled.push({ node: session.nodeId, value: outstanding });
    if ((source.presence.usersOf(session.key)?.size ?? 0) > 0) connectedWithUsers++;
  }
  const undelivered = (reason: string, value: number): Sample => ({ labels: { reason }, value });
  const w = new ExpositionWriter()
    .gauge('imrelay_nodes_connected', 'Nodes connected and past their handshake.', s.nodes)
    .gauge('imrelay_pending_connections', 'Connections accepted that have not completed their handshake.', s.pendingConnections)
    .counter('imrelay_node_connections_total', 'Nodes that completed their handshake (node up), since the start.', s.nodesUp)
    .counter('imrelay_node_disconnections_total', 'Nodes that left (node down), since the start.', s.nodesDown)
    .counter('imrelay_routes_total', 'Messages routed: one per send, whatever its number of targets.', s.routes)
    .counter('imrelay_deliveries_total', 'Frames delivered to nodes: one per target node of a message.', s.deliveries)
    .counter('imrelay_undelivered_users_total', 'Users reported to senders as not delivered, by reason.', [
      undelivered('offline', s.usersOffline - s.usersOverflowed - s.usersRefused - s.usersNowhere),
      undelivered('overflow', s.usersOverflowed),
      undelivered('refused', s.usersRefused),
      undelivered('nowhere', s.usersNowhere),
    ])
    .counter('imrelay_overflows_total', 'Deliveries refused or given up because the target node was too far behind.', s.overflows)
    .counter('imrelay_frames_received_total', 'Frames read from sockets.', s.framesIn)
    .counter('imrelay_frames_sent_total', 'Frames written to sockets.', s.framesOut)
    .counter('imrelay_bytes_received_total', 'Bytes read from sockets.', s.bytesIn)
    .counter('imrelay_bytes_sent_total', 'Bytes written to sockets.', s.bytesOut)
    .counter('imrelay_protocol_errors_total', 'Peers cut off for malformed or out-of-turn frames.', s.protocolErrors)
    .counter('imrelay_auth_failures_total', 'Handshakes that failed authentication.', s.authFailures)
    .counter('imrelay_tls_failures_total', 'TLS handshakes that failed (when the relay runs with TLS).', s.tlsFailures)
    .counter('imrelay_connections_refused_total', 'Connections closed on arrival: too many not past their handshake.', s.connectionsRefused)
    .gauge('imrelay_outbound_buffered_bytes', "Bytes waiting in nodes' outbound buffers, in all.", buffered)
    .gauge('imrelay_outbound_buffered_bytes_max', 'Bytes waiting for the node with the most.', largest)
    .gauge(
      'imrelay_outbound_limit_bytes',
      'Bytes one node may have waiting before its deliveries overflow (maxOutboundBytes).',
      source.maxOutboundBytes,
    )
    .gauge('imrelay_unsettled_deliveries', 'Deliveries written to nodes and not yet taken by their applications.', unsettled);
  if (topNodes > 0) {
    w.gauge(
      'imrelay_node_outbound_buffered_bytes',
      `Bytes waiting for a node: the ${topNodes} nodes with the most.`,
      top(byBytes, topNodes),
    );
    w.gauge(
      'imrelay_node_unsettled_deliveries',
      `Deliveries not yet taken by a node's application: the ${topNodes} nodes with the most.`,
      top(byUnsettled, topNodes),
    );
  }
  w.gauge('imrelay_presence_users', 'Users located on some node.', source.presence.userCount)
    .gauge('imrelay_presence_nodes', 'Nodes holding located users, connected or in their grace period.', source.presence.nodeCount)
    .gauge(
      'imrelay_presence_nodes_disconnected',
      'Nodes not connected that still hold located users: within their grace period this is normal; lasting, it is a leak.',
      source.presence.nodeCount - connectedWithUsers,
    );
  if (source.startedAt > 0)
    w.gauge('imrelay_start_time_seconds', 'When the relay started listening, in seconds since the epoch.', source.startedAt / 1000);
  return w.toString();
}

function top(entries: Array<{ node: string; value: number }>, n: number): Sample[] {
  entries.sort((a, b) => b.value - a.value);
  // One series per node: a connection being replaced must not name its node twice.
  const named = new Set<string>();
  const samples: Sample[] = [];
  for (const { node, value } of entries) {
    if (samples.length === n) break;
    if (named.has(node)) continue;
    named.add(node);
    samples.push({ labels: { node }, value });
  }
  return samples;
}
