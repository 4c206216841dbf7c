// The whole demo in one process: a few chat nodes on 127.0.0.1, linked
// through a relay, or (with `mesh`) directly to each other, with no relay.
import { randomBytes } from 'node:crypto';
import { RelayServer } from '../../src/index.js';
import { Directory } from './directory.js';
import { ChatNode } from './node.js';

export interface DemoOptions {
  /** The relay's port; 0 picks a free one. Not used with `mesh`. */
  relayPort?: number;
  /** One port per chat node (0 picks a free one); nodes are named im-1, im-2, ... */
  nodePorts: number[];
  /** Link the nodes as a mesh (each one listens for the others on a free port) instead of through a relay. */
  mesh?: boolean;
  /** How long a mesh may take to link every pair of nodes. Default 10 s. */
  meshTimeoutMs?: number;
  log?: (line: string) => void;
}

export interface Demo {
  /** The relay; undefined in mesh mode. */
  relay: RelayServer | undefined;
  /** The relay's url; undefined in mesh mode. */
  relayUrl: string | undefined;
  /** Mesh mode: node id -> the url the other nodes dial to reach it; undefined over a relay. */
  mesh: Record<string, string> | undefined;
  nodes: ChatNode[];
  /** Node id -> page URL. */
  urls: Record<string, string>;
  close(): Promise<void>;
}

export async function startDemo(options: DemoOptions): Promise<Demo> {
  const log = options.log ?? console.log;
  // A fresh shared secret per run: only this demo's nodes can join its relay (or its mesh).
  const secret = randomBytes(24).toString('base64url');
  let relay: RelayServer | undefined;
  let relayUrl: string | undefined;
  if (options.mesh !== true) {
    relay = new RelayServer({ host: '127.0.0.1', port: options.relayPort ?? 0, secret });
    const { port } = await relay.listen();
    relayUrl = `tcp://127.0.0.1:${port}`;
    relay.on('node:up', (node) => log(`[relay] ${node.nodeId} joined`));
    relay.on('node:down', (node, reason) => log(`[relay] ${node.nodeId} left${reason ? ` (${reason.code})` : ''}`));
  }

  const directory = Directory.load();
  const nodes = options.nodePorts.map(
    (nodePort, i) =>
      new ChatNode({
        nodeId: `im-${i + 1}`,
        ...(relayUrl === undefined ? { meshListen: 'tcp://127.0.0.1:0' } : { relayUrl }),
        secret,
        port: nodePort,
        directory,
        log,
      }),
  );
  const close = async (): Promise<void> => {
    await Promise.allSettled(nodes.map((n) => n.close()));
    await relay?.close();
  };
  const urls: Record<string, string> = {};
  let mesh: Record<string, string> | undefined;
  try {
    for (const node of nodes) urls[node.nodeId] = await node.start();
    if (relay === undefined) {
      // Every node listens now: hand each one the whole map, and wait for every pair to link.
      mesh = {};
      for (const node of nodes) mesh[node.nodeId] = node.meshAddress!;
      const linked = allLinked(nodes, options.meshTimeoutMs ?? 10_000);
      for (const node of nodes) node.relay.mesh!.setPeers(mesh);
      await linked;
    }
  } catch (err) {
    await close();
    throw err;
  }
  for (const node of nodes) node.links = urls;
  return { relay, relayUrl, mesh, nodes, urls, close };
}

/** Resolves once every node has a link up to every other one; rejects after `timeoutMs`, naming the pairs missing. */
function allLinked(nodes: readonly ChatNode[], timeoutMs: number): Promise<void> {
  const missing = (): string[] =>
    nodes.flatMap((node) => {
      const linked = new Set(
        node.relay
          .mesh!.list()
          .filter((p) => p.linked)
          .map((p) => p.id),
      );
      return nodes.filter((other) => other !== node && !linked.has(other.nodeId)).map((other) => `${node.nodeId} -> ${other.nodeId}`);
    });
  return new Promise((resolve, reject) => {
    const done = (): void => {
      clearTimeout(timer);
      for (const node of nodes) node.relay.mesh!.off('peer:up', check);
    };
    const check = (): void => {
      if (missing().length > 0) return;
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      reject(new Error(`the mesh did not link within ${timeoutMs} ms: no link ${missing().join(', ')}`));
    }, timeoutMs);
    for (const node of nodes) node.relay.mesh!.on('peer:up', check);
    check();
  });
}
