// `npm start`: a relay and three chat nodes on 127.0.0.1; prints each node's page.
// `npm start -- --mesh`: the same nodes linked directly to each other, no relay.
//
//   node --import tsx examples/chat/main.ts [--port-base 3000] [--relay-port 8333] [--nodes 3] [--mesh]
//
// Nodes listen on port-base + 1, + 2, ... The same settings can come from the
// environment: CHAT_PORT_BASE, RELAY_PORT, CHAT_NODES, CHAT_MESH=1.
import { parseArgs } from 'node:util';
import { startDemo } from './demo.js';

const { values } = parseArgs({
  options: {
    'port-base': { type: 'string', default: process.env.CHAT_PORT_BASE ?? '3000' },
    'relay-port': { type: 'string', default: process.env.RELAY_PORT ?? '8333' },
    nodes: { type: 'string', default: process.env.CHAT_NODES ?? '3' },
    mesh: { type: 'boolean', default: process.env.CHAT_MESH === '1' },
  },
});

const portBase = toInt('--port-base', values['port-base'], 0, 65000);
const relayPort = toInt('--relay-port', values['relay-port'], 0, 65535);
const count = toInt('--nodes', values.nodes, 1, 9);
const mesh = values.mesh === true;

const nodePorts = Array.from({ length: count }, (_, i) => portBase + i + 1);
const portFlags = mesh ? '--port-base (or CHAT_PORT_BASE)' : '--port-base and --relay-port (or CHAT_PORT_BASE and RELAY_PORT)';

const demo = await startDemo({ relayPort, mesh, nodePorts }).catch((err: Error) => {
  console.error(`could not start the demo: ${err.message}`);
  console.error(`pick other ports with ${portFlags}`);
  process.exit(1);
});

if (demo.mesh === undefined) console.log(`\nrelay on ${demo.relayUrl}`);
else {
  console.log('\nno relay: the nodes are linked as a mesh, each listening for the others on');
  for (const [node, url] of Object.entries(demo.mesh)) console.log(`  ${node}  ${url}`);
}
console.log('open a page on each node, pick a user, and chat:');
for (const [node, url] of Object.entries(demo.urls)) console.log(`  ${node}  ${url}`);
console.log('Ctrl-C stops everything.\n');

let stopping = false;
const stop = (signal: string): void => {
  if (stopping) {
    console.log('stopping anyway');
    process.exit(1);
  }
  stopping = true;
  console.log(`\n${signal}: closing the nodes${demo.relay === undefined ? '' : ' and the relay'}`);
  demo.close().then(
    () => process.exit(0),
    (err: Error) => {
      console.error(err);
      process.exit(1);
    },
  );
};
process.on('SIGINT', () => stop('SIGINT'));
process.on('SIGTERM', () => stop('SIGTERM'));

function toInt(name: string, text: string | undefined, min: number, max: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min || n > max) {
    console.error(`${name} must be an integer from ${min} to ${max}, got ${String(text)}`);
    process.exit(2);
  }
  return n;
}
