import { describe, expect, it } from 'vitest';
import { RelayClient } from '../../src/index.js';
import { imrelay, useCliProcesses, waitForLine } from '../helpers/cli-process.js';

useCliProcesses();

describe('imrelay serve (a real process)', () => {
  it('serves nodes, logs them up and down, and exits cleanly on SIGTERM', async () => {
    const relay = imrelay(['serve', '--host', '127.0.0.1', '--port', '0']);
    const [, port] = await waitForLine(relay.output, /listening on 127\.0\.0\.1:(\d+)/, relay.child);

    const a = new RelayClient({ url: `tcp://127.0.0.1:${port}`, nodeId: 'im-1' });
    const b = new RelayClient({ url: `tcp://127.0.0.1:${port}`, nodeId: 'im-2' });
    await Promise.all([a.connect(), b.connect()]);
    // Delivered means b's loop took it: the report comes once the loop asks for the next one.
    const loop = b[Symbol.asyncIterator]();
    const sending = a.send({ 'im-2': ['bob'] }, { text: 'hi' });
    const received = await loop.next();
    expect(received.value).toEqual({ from: 'im-1', users: ['bob'], message: { text: 'hi' } });
    void loop.next();
    expect(await sending).toEqual({ delivered: ['im-2'], offline: {} });
    await waitForLine(relay.output, /node up im-2/, relay.child);

    await a.close();
    await waitForLine(relay.output, /node down im-1/, relay.child);
    relay.child.kill('SIGTERM');
    expect(await relay.exit).toBe(0);
    expect(relay.output()).toMatch(/SIGTERM: closing/);
    expect(relay.output()).toMatch(/closed after routing 1 messages/);
    await b.close();
  });

  it('a port already taken: exits 1 with ERR_LISTEN naming the address and the OS error', async () => {
    const first = imrelay(['serve', '--host', '127.0.0.1', '--port', '0']);
    const [, port] = await waitForLine(first.output, /listening on 127\.0\.0\.1:(\d+)/, first.child);
    const second = imrelay(['serve', '--host', '127.0.0.1', '--port', port!]);
    expect(await second.exit).toBe(1);
    expect(second.output()).toContain(`imrelay: ERR_LISTEN: cannot listen on 127.0.0.1:${port}`);
    expect(second.output()).toContain('EADDRINUSE');
    first.child.kill('SIGTERM');
    expect(await first.exit).toBe(0);
  });

  it('prints usage and exits 2 on a bad flag', async () => {
    const relay = imrelay(['serve', '--port', 'x']);
    expect(await relay.exit).toBe(2);
    expect(relay.output()).toMatch(/--port must be a whole number/);
    expect(relay.output()).toMatch(/Usage:/);
  });

  it('answers --help and --version', async () => {
    const help = imrelay(['--help']);
    expect(await help.exit).toBe(0);
    expect(help.output()).toMatch(/imrelay serve \[options\]/);
    const version = imrelay(['--version']);
    expect(await version.exit).toBe(0);
    expect(version.output().trim()).toMatch(/^\d+\.\d+\.\d+/);
  });
});
