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
    const report = await a.send({ 'im-2': ['c', 'd'], 'im-3': [5n] }, { text: 'hi' });
    expect(report).toEqual({ delivered: ['im-2'], offline: { 'im-3': ['5'] }, reasons: { 'im-3': 'offline' } });
    const it = b[Symbol.asyncIterator]();
    const d = await it.next();
    expect(d.value).toEqual({ from: 'im-1', users: ['c', 'd'], message: { text: 'hi' } });
    await a.close();
    await b.close();
    await server.close();
  });
});
