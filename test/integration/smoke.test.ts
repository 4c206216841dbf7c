import { describe, it, expect } from 'vitest';
import { RelayServer, RelayClient } from '../../src/index.js';

describe('smoke', () => {
  it('routes', async () => {
    const server = new RelayServer({ port: 0 });
    const { port } = await server.listen();
    const a = new RelayClient({ url: `tcp://127.0.0.1:${port}`, nodeId: 'im-1' });
    const b = new RelayClient({ url: `tcp://127.0.0.1:${port}`, nodeId: 'im-2' });
    await a.connect();
    await b.connect();
    // b's loop takes the delivery; the report says so once the loop asks for the next one.
    const it = b[Symbol.asyncIterator]();
    const sending = a.send({ 'im-2': ['c', 'd'], 'im-3': [5n] }, { text: 'hi' });
    const d = await it.next();
    expect(d.value).toEqual({ from: 'im-1', users: ['c', 'd'], message: { text: 'hi' } });
    const asking = it.next();
    const report = await sending;
    expect(report).toEqual({ delivered: ['im-2'], offline: { 'im-3': ['5'] }, reasons: { 'im-3': 'offline' } });
    await a.close();
    await b.close();
    expect((await asking).done).toBe(true);
    await server.close();
  });
});
