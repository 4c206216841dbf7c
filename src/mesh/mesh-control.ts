import { EventEmitter } from 'eventemitter3';
import type { RelayError } from '../errors.js';
import type { MeshMetricsSource } from '../metrics/mesh-metrics.js';
import type { RelayStats } from '../server/stats.js';
import type { Endpoint } from '../transport/url.js';
import type { MeshPeerState } from './mesh-node.js';
import { resolvePeers } from './mesh-options.js';

/** Events of a node's mesh. */
export interface MeshEvents {
  /** A link to peer `id` came up. */
  'peer:up': (id: string) => void;
  /** The link to peer `id` is gone (`error` says why; undefined when it left in order). */
  'peer:down': (id: string, error: RelayError | undefined) => void;
}

/**
 * A client's handle on its mesh (`client.mesh`), the same across the
 * client's links: where this node listens, its peers and their links, and
 * the peers map to use from now on.
 */
export class MeshControl extends EventEmitter<MeshEvents> {
  /** A peers map set with {@link setPeers}, replacing the one in the options. */
  peers: ReadonlyMap<string, Endpoint> | undefined;

  constructor(
    private readonly nodeId: string,
    private readonly tls: boolean,
  ) {
    super();
  }

  /** The url peers dial to reach this node, once it listens. */
  get address(): string | undefined {
    return links.get(this)?.address;
  }

  /** Every peer known or linked, with its link's state and the users it announced. */
  list(): MeshPeerState[] {
    return links.get(this)?.peers() ?? [];
  }

  /**
   * The mesh's counters since this node started (a copy): links up and
   * down, deliveries handed over, overflows, users reported undelivered by
   * reason, protocol errors and TLS failures of peers, connections refused.
   */
  stats(): RelayStats | undefined {
    return links.get(this)?.stats();
  }

  /**
   * Replaces the peers map (node id to `tcp://` or `tls://` url, as
   * `mesh.peers`): new peers are dialed at once; a peer left out is no
   * longer dialed, and its link, if up, stays until it drops or leaves.
   */
  setPeers(peers: Readonly<Record<string, string>>): void {
    const resolved = resolvePeers(peers, this.nodeId, this.tls);
    this.peers = resolved;
    links.get(this)?.setPeers(resolved);
  }
}

/** What a control asks of the link its client has now. */
export interface MeshLinkHandle {
  readonly address: string | undefined;
  peers(): MeshPeerState[];
  stats(): RelayStats;
  directoryUsers(): number;
  setPeers(peers: ReadonlyMap<string, Endpoint>): void;
}

// Kept out of the class, so that the link is no part of the public API.
const links = new WeakMap<MeshControl, MeshLinkHandle>();

/** The client's link is now `link` (or none). */
export function attachMeshLink(control: MeshControl, link: MeshLinkHandle | undefined): void {
  if (link === undefined) links.delete(control);
  else links.set(control, link);
}

/** The client's link `link` is gone. */
export function detachMeshLink(control: MeshControl, link: MeshLinkHandle): void {
  if (links.get(control) === link) links.delete(control);
}

/** What `client.metrics()` reads of a client's mesh (undefined before the node listens). */
export function meshMetricsSource(control: MeshControl, nodeId: string): MeshMetricsSource | undefined {
  const link = links.get(control);
  if (link === undefined) return undefined;
  return { nodeId, peers: link.peers(), stats: link.stats(), directoryUsers: link.directoryUsers() };
}
