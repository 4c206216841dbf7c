/** imrelay: one RelayClient per node, talking to the relay process. */
import { RelayClient } from '../../../src/index.js';
import type { BenchNode, System } from './types.js';

export function imrelaySystem(port: number): System {
  return {
    name: 'imrelay',
    async node(id) {
      const client = new RelayClient({ url: `tcp://127.0.0.1:${port}`, nodeId: id, reconnect: false });
      await client.connect();
      const node: BenchNode = {
        // The default send: resolves with the relay's report.
        send: (usersByHost, message) => client.send(usersByHost, message),
        deliveries: () => client,
        close: () => client.close(),
      };
      return node;
    },
    close: () => Promise.resolve(),
  };
}
