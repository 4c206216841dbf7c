import type { MeshPeerState } from '../mesh/mesh-node.js';
import type { RelayStats } from '../server/stats.js';
import { ExpositionWriter, type Sample } from './exposition.js';

/** What a mesh node's metrics are read from, at scrape time. */
export interface MeshMetricsSource {
  readonly nodeId: string;
  readonly peers: readonly MeshPeerState[];
  readonly stats: RelayStats;
  /** Users in this node's directory of the cluster. */
  readonly directoryUsers: number;
}

/**
 * A mesh node's own series, next to its client's (`imrelay_mesh_`, labelled
 * with the node id, and per peer where it says which link): what a relay's
 * metrics say of the cluster, said by each node of its links.
 */
export function writeMeshMetrics(source: MeshMetricsSource): string {
  const { nodeId: node, peers, stats } = source;
  const one = (value: number): Sample[] => [{ labels: { node }, value }];
  const linked = peers.filter((p) => p.linked).length;
  return new ExpositionWriter()
    .gauge('imrelay_mesh_peers', 'Peers this node knows (from its map or discovery), by whether a link to them is up.', [
      { labels: { node, state: 'linked' }, value: linked },
      { labels: { node, state: 'unlinked' }, value: peers.length - linked },
    ])
    .gauge(
      'imrelay_mesh_peer_linked',
      'Per peer: 1 while the link to it is up, else 0.',
      peers.map((p) => ({ labels: { node, peer: p.id }, value: p.linked ? 1 : 0 })),
    )
    .gauge(
      'imrelay_mesh_peer_users',
      "Per peer: the users it announced, as this node's directory holds them.",
      peers.map((p) => ({ labels: { node, peer: p.id }, value: p.users })),
    )
    .gauge('imrelay_mesh_directory_users', "Users online anywhere in the cluster, in this node's directory.", one(source.directoryUsers))
    .counter('imrelay_mesh_links_up_total', 'Links to peers that came up.', one(stats.nodesUp))
    .counter('imrelay_mesh_links_down_total', 'Links to peers that went down.', one(stats.nodesDown))
    .counter(
      'imrelay_mesh_deliveries_total',
      'Deliveries written to peers or to this node, and taken in from peers.',
      one(stats.deliveries),
    )
    .counter('imrelay_mesh_overflows_total', 'Deliveries given up for a peer or for this application too far behind.', one(stats.overflows))
    .counter('imrelay_mesh_protocol_errors_total', 'Links closed because the peer broke the protocol.', one(stats.protocolErrors))
    .counter('imrelay_mesh_auth_failures_total', 'Handshakes from would-be peers that failed to prove the secret.', one(stats.authFailures))
    .counter(
      'imrelay_mesh_connections_refused_total',
      'Connections closed on arrival: too many in their handshake, or from an address turned away.',
      one(stats.connectionsRefused),
    )
    .counter('imrelay_mesh_tls_failures_total', 'TLS handshakes with would-be peers that failed.', one(stats.tlsFailures))
    .toString();
}
