// The whole demo in one process: a relay and a few chat nodes on 127.0.0.1.
import { randomBytes } from 'node:crypto';
import { RelayServer } from '../../src/index.js';
import { Directory } from './directory.js';
import { ChatNode } from './node.js';

export interface DemoOptions {
  /** The relay's port; 0 picks a free one. */
  relayPort: number;
  /** One port per chat node (0 picks a free one); nodes are named im-1, im-2, ... */
  nodePorts: number[];
  log?: (line: string) => void;
}

export interface Demo {
  relay: RelayServer;
  relayUrl: string;
  nodes: ChatNode[];
  /** Node id -> page URL. */
  urls: Record<string, string>;
  close(): Promise<void>;
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
  const log = options.log ?? console.log;
  // A fresh shared secret per run: only this demo's nodes can join its relay.
  const secret = randomBytes(24).toString('base64url');
  const relay = new RelayServer({ host: '127.0.0.1', port: options.relayPort, secret });
  const { port } = await relay.listen();
  const relayUrl = `tcp://127.0.0.1:${port}`;
  relay.on('node:up', (node) => log(`[relay] ${node.nodeId} joined`));
  relay.on('node:down', (node, reason) => log(`[relay] ${node.nodeId} left${reason ? ` (${reason.code})` : ''}`));

  const directory = Directory.load();
  const nodes = options.nodePorts.map(
    (nodePort, i) => new ChatNode({ nodeId: `im-${i + 1}`, relayUrl, secret, port: nodePort, directory, log }),
  );
  const close = async (): Promise<void> => {
    await Promise.allSettled(nodes.map((n) => n.close()));
    await relay.close();
  };
  const urls: Record<string, string> = {};
  try {
    for (const node of nodes) urls[node.nodeId] = await node.start();
  } catch (err) {
    await close();
    throw err;
  }
  for (const node of nodes) node.links = urls;
  return { relay, relayUrl, nodes, urls, close };
}
