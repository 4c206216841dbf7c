/**
 * Mesh nodes for tests: each listens on a free loopback port, and
 * {@link startMesh} links a whole set and resolves once every link is up.
 * Every node is tracked and closed after the test (see harness.ts).
 */
import { connect, createServer, type Server, type Socket } from 'node:net';
import { RelayClient, type MeshOptions, type RelayNodeOptions } from '../../src/index.js';
import { FAST_CLIENT, LOOPBACK, track } from './harness.js';
import { withTimeout } from './events.js';

/** Heartbeats and graces short enough for tests, long enough for a loaded machine. */
export const FAST_MESH: Partial<MeshOptions> = {
  heartbeatIntervalMs: 200,
  presenceGraceMs: 400,
  deliveryTimeoutMs: 1_000,
};

/** What the helpers need of a node. */
export type MeshMember = Pick<RelayClient<never>, 'nodeId' | 'mesh'>;

export type MeshNodeOptions = Partial<Omit<RelayNodeOptions, 'mesh'>> & { mesh?: Partial<MeshOptions> };

/** A tracked mesh node that is not listening yet. */
export function meshNode<M = unknown>(nodeId: string, options: MeshNodeOptions = {}): RelayClient<M> {
  const { mesh, ...rest } = options;
  const node = new RelayClient<M>({
    ...FAST_CLIENT,
    secret: 'mesh test secret',
    ...rest,
    nodeId,
    mesh: { listen: `tcp://${LOOPBACK}:0`, ...FAST_MESH, ...mesh },
  });
  node.on('error', () => {});
  track(`mesh node ${nodeId}`, () => node.close());
  return node;
}

/** The address every node listens on, by node id. */
export function addressesOf(nodes: ReadonlyArray<MeshMember>): Record<string, string> {
  return Object.fromEntries(nodes.map((n) => [n.nodeId, n.mesh!.address!]));
}

/**
 * Resolves once `node` has a link up to every one of `ids`. The end that
 * dialed sees the link up a moment before the other: wait on both ends
 * before sending from the second.
 */
export function linkedTo(node: MeshMember, ids: readonly string[], timeoutMs = 5_000): Promise<void> {
  const mesh = node.mesh!;
  const missing = (): string[] => {
    const up = new Set(
      mesh
        .list()
        .filter((p) => p.linked)
        .map((p) => p.id),
    );
    return ids.filter((id) => !up.has(id));
  };
  if (missing().length === 0) return Promise.resolve();
  return withTimeout(
    new Promise<void>((resolve) => {
      const check = (): void => {
        if (missing().length > 0) return;
        mesh.off('peer:up', check);
        resolve();
      };
      mesh.on('peer:up', check);
    }),
    timeoutMs,
    `${node.nodeId} linked to ${ids.join(', ')}`,
  );
}

/** Starts nodes `ids`, gives each the others' addresses, and resolves once the mesh is whole. */
export async function startMesh<M = unknown>(ids: readonly string[], options: MeshNodeOptions = {}): Promise<Array<RelayClient<M>>> {
  const nodes = ids.map((id) => meshNode<M>(id, options));
  await Promise.all(nodes.map((n) => n.connect()));
  const addresses = addressesOf(nodes);
  for (const node of nodes) node.mesh!.setPeers(addresses);
  await Promise.all(
    nodes.map((n) =>
      linkedTo(
        n,
        ids.filter((id) => id !== n.nodeId),
      ),
    ),
  );
  return nodes;
}

/**
 * A TCP proxy on loopback: put between two nodes (one node's map points at
 * it) so a test can cut their link as a network would, or delay it.
 */
export class LinkProxy {
  private readonly server: Server;
  private readonly pairs = new Set<[Socket, Socket]>();
  port = 0;
  /** Delay before each accepted connection is connected onward. */
  delayMs = 0;

  constructor(private readonly target: { host: string; port: number }) {
    this.server = createServer((socket) => this.accept(socket));
    track('link proxy', () => this.close());
  }

  get url(): string {
    return `tcp://${LOOPBACK}:${this.port}`;
  }

  /** Connections currently piped through. */
  get open(): number {
    return this.pairs.size;
  }

  async listen(): Promise<this> {
    await new Promise<void>((resolve) => this.server.listen(0, LOOPBACK, () => resolve()));
    this.port = (this.server.address() as { port: number }).port;
    return this;
  }

  /** Cuts every connection at once, with no goodbye (as a network failure does). */
  cut(): void {
    for (const [a, b] of this.pairs) {
      a.destroy();
      b.destroy();
    }
    this.pairs.clear();
  }

  async close(): Promise<void> {
    this.cut();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private accept(socket: Socket): void {
    socket.pause();
    const open = (): void => {
      const onward = connect(this.target.port, this.target.host);
      const pair: [Socket, Socket] = [socket, onward];
      this.pairs.add(pair);
      const drop = (): void => {
        socket.destroy();
        onward.destroy();
        this.pairs.delete(pair);
      };
      socket.on('error', drop).on('close', drop);
      onward.on('error', drop).on('close', drop);
      socket.pipe(onward);
      onward.pipe(socket);
      socket.resume();
    };
    if (this.delayMs > 0) setTimeout(open, this.delayMs);
    else open();
  }
}

/** The `host:port` of a `tcp://` url. */
export function endpointOf(url: string): { host: string; port: number } {
  const parsed = new URL(url);
  return { host: parsed.hostname, port: Number(parsed.port) };
}
