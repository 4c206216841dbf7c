/**
 * A mesh node in its own process, for tests that kill or freeze it:
 *   node --import tsx test/helpers/mesh-node-process.ts <nodeId> <port> <peers-json> [user,user,...]
 * Listens on 127.0.0.1:<port>, links to the peers, announces the users,
 * takes every delivery (printing `GOT <message>` for each), and prints
 * `READY` once listening. Exits when its stdin closes, so it never outlives
 * the test process.
 */
import { RelayClient } from '../../src/index.js';

const [nodeId, port, peers = '{}', list = ''] = process.argv.slice(2);
const node = new RelayClient({
  nodeId: nodeId!,
  secret: 'mesh test secret',
  mesh: {
    listen: `tcp://127.0.0.1:${port}`,
    peers: JSON.parse(peers) as Record<string, string>,
    heartbeatIntervalMs: 200,
    presenceGraceMs: 400,
    deliveryTimeoutMs: 1_000,
  },
});
node.on('error', () => {});
await node.connect();
const users = list.split(',').filter((u) => u.length > 0);
if (users.length > 0) node.online(users);
process.stdout.write('READY\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
for await (const d of node) process.stdout.write(`GOT ${JSON.stringify(d.message)}\n`);
