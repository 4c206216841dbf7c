import { Cluster } from 'ioredis';
import { RelayClient, type ClientCommonOptions } from '../../src/index.js';
import { FAST_CLIENT, track } from './harness.js';

/**
 * A tracked RelayClient over a Redis Cluster, on its own ioredis Cluster
 * client (`client`, when a test needs a hand on it), with `options`.
 */
export function clusterNode(
  nodes: Array<{ host: string; port: number }>,
  nodeId: string,
  options: Partial<ClientCommonOptions> = {},
  client = new Cluster(nodes, { enableAutoPipelining: true }),
): RelayClient {
  client.on('error', () => {});
  track(`Cluster client of ${nodeId}`, () => client.disconnect());
  const relay = new RelayClient({ ...FAST_CLIENT, ...options, redis: client, nodeId });
  relay.on('error', () => {});
  track(`RelayClient(${nodeId}) over the cluster`, () => relay.close());
  return relay;
}
