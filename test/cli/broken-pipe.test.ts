import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { fileURLToPath } from 'node:url';
import { afterEach, expect, it } from 'vitest';
import { RelayClient } from '../../src/index.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));
const children: Array<ReturnType<typeof spawn>> = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill('SIGKILL');
});

it('imrelay serve keeps running when the reader of its log pipe goes away', async () => {
  const relay = spawn(process.execPath, ['--import', 'tsx', MAIN, 'serve', '--port', '0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(relay);
  let output = '';
  relay.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  while (!/listening on 127\.0\.0\.1:(\d+)/.test(output)) await once(relay.stdout, 'data');
  const port = /listening on 127\.0\.0\.1:(\d+)/.exec(output)![1];
  // The supervisor's reader is gone: the relay's next log line meets a broken pipe.
  relay.stdout.destroy();
  const url = `tcp://127.0.0.1:${port}`;
  for (const id of ['im-1', 'im-2', 'im-3']) {
    const node = new RelayClient({ url, nodeId: id, connectTimeoutMs: 5_000 });
    await node.connect();
    await node.close();
  }
  expect(relay.exitCode).toBeNull();
  const last = new RelayClient({ url, nodeId: 'im-4', connectTimeoutMs: 5_000 });
  await last.connect();
  await last.close();
});
