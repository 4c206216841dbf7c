import { expect, it } from 'vitest';
import { RelayClient } from '../../src/index.js';
import { imrelay, useCliProcesses, waitForLine } from '../helpers/cli-process.js';

useCliProcesses();

it('imrelay serve keeps running when the reader of its log pipe goes away', async () => {
  const relay = imrelay(['serve', '--port', '0']);
  const [, port] = await waitForLine(relay.output, /listening on 127\.0\.0\.1:(\d+)/, relay.child);
  // The supervisor's reader is gone: the relay's next log line meets a broken pipe.
  relay.child.stdout!.destroy();
  const url = `tcp://127.0.0.1:${port}`;
  for (const id of ['im-1', 'im-2', 'im-3']) {
    const node = new RelayClient({ url, nodeId: id, connectTimeoutMs: 5_000 });
    await node.connect();
    await node.close();
  }
  expect(relay.child.exitCode).toBeNull();
  const last = new RelayClient({ url, nodeId: 'im-4', connectTimeoutMs: 5_000 });
  await last.connect();
  await last.close();
});
