/**
 * Dynamic membership of a mesh: where each node registers the address its
 * peers dial, and learns everyone else's. Implemented over Redis
 * (`RedisDiscovery`); another registry is another class with this shape.
 */
export interface MeshDiscovery {
  /**
   * Registers node `nodeId` at `address` (`tcp://host:port` or
   * `tls://host:port`) and keeps the registration alive; calls `onPeers`
   * with every node registered (this one included) now and whenever that
   * changes. Rejects with a coded error when the registry cannot be reached.
   */
  start(nodeId: string, address: string, onPeers: (peers: ReadonlyMap<string, string>) => void): Promise<void>;
  /** Removes this node's registration (peers see it leave at once) and stops watching. */
  stop(): Promise<void>;
}
