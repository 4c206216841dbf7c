/**
 * imrelay in mesh mode: one RelayClient per node and no relay; every node
 * listens on a free loopback port and links directly to every other node of
 * the run (one hop instead of two). The nodes of the end-to-end runs all
 * live in one process (bench/e2e/nodes-process.ts), so the addresses are
 * exchanged in memory: each node that joins is added to the peers map of
 * every member, and `node()` resolves only once every member is linked to
 * every other (`mesh.list()`). The run creates all its nodes before its
 * first send, so the mesh is fully linked before the warm-up starts.
 *
 * The nodes share a secret (checked once per link, in the handshake), as a
 * deployed mesh would. Everything a message costs is in the node process:
 * there is no server column for this system.
 */
import { RelayClient } from '../../../src/index.js';
import { waitUntil } from '../../lib/time.js';
import type { BenchNode, System } from './types.js';

/** The bench's shared secret: a fixed value, the bench runs on loopback only. */
const SECRET = 'imrelay-bench-secret';
/** Longest wait for a joining node's links (loopback: a few ms in practice). */
const LINK_TIMEOUT_MS = 15_000;

export function imrelayMeshSystem(): System {
  const members = new Map<string, RelayClient>();
  const peersMap = (): Record<string, string> => Object.fromEntries([...members].map(([id, c]) => [id, c.mesh!.address!]));
  const publish = (): void => {
    const peers = peersMap();
    for (const c of members.values()) c.mesh!.setPeers(peers);
  };
  /** Every member sees a link up to every other member. */
  const fullyLinked = (): boolean => {
    for (const [id, c] of members) {
      let up = 0;
      for (const p of c.mesh!.list()) if (p.linked && p.id !== id && members.has(p.id)) up++;
      if (up < members.size - 1) return false;
    }
    return true;
  };

  return {
    name: 'imrelay-mesh',
    async node(id) {
      const client = new RelayClient({ nodeId: id, secret: SECRET, mesh: { listen: 'tcp://127.0.0.1:0' } });
      await client.connect();
      members.set(id, client);
      publish();
      if (!(await waitUntil(fullyLinked, LINK_TIMEOUT_MS, 2))) {
        const view = [...members].map(([m, c]) => `${m}: ${c.mesh!.list().filter((p) => p.linked).length}/${members.size - 1} linked`);
        throw new Error(`mesh not fully linked within ${LINK_TIMEOUT_MS} ms (${view.join(', ')})`);
      }
      const node: BenchNode = {
        // The default send: resolves with the report (as over the relay).
        send: (usersByHost, message) => client.send(usersByHost, message),
        deliveries: () => client,
        close: async () => {
          // Out of the others' peers maps first, so that nobody redials a node that left.
          members.delete(id);
          publish();
          await client.close();
        },
      };
      return node;
    },
    async close() {
      const left = [...members.values()];
      members.clear();
      await Promise.all(left.map((c) => c.close()));
    },
  };
}
