import { describe, expect, it } from 'vitest';
import type { OfflineNotice } from '../../src/index.js';
import { barrier, collect } from '../helpers/collector.js';
import { EventLog, waitForEvent } from '../helpers/events.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';

useRelayHarness();

describe('offline hosts', () => {
  it('the report lists every offline host with its users and the reason "offline"', async () => {
    const { url, server } = await startServer();
    const sender = await connectClient(url, 'im-1');
    const online = collect(await connectClient(url, 'im-2'));

    const report = await sender.send({ 'im-2': ['c'], 'im-3': ['e', 18446744073709551615n], 'im-9': [7] }, { t: 1 });
    expect(report.delivered).toEqual(['im-2']);
    expect(report.offline).toEqual({ 'im-3': ['e', '18446744073709551615'], 'im-9': ['7'] });
    expect(report.reasons).toEqual({ 'im-3': 'offline', 'im-9': 'offline' });
    expect(server.stats().usersOffline).toBe(3);

    await barrier(sender, { 'im-2': online });
    expect(online.messages).toEqual([{ t: 1 }]);
  });

  it('a send where no host is online still resolves, with everyone offline', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'im-1');
    expect(await sender.send({ a: ['1'], b: ['2', '3'] }, 'x')).toEqual({
      delivered: [],
      offline: { a: ['1'], b: ['2', '3'] },
      reasons: { a: 'offline', b: 'offline' },
    });
  });

  it('a node that left is reported offline; when it comes back it is delivered to again', async () => {
    const { url, server } = await startServer();
    const sender = await connectClient(url, 'im-1');
    const leaving = await connectClient(url, 'im-2');
    const down = waitForEvent(server, 'node:down', 3_000, (node: { nodeId: string }) => node.nodeId === 'im-2');
    await leaving.close();
    await down;
    expect(await sender.send({ 'im-2': ['c'] }, 'while away')).toMatchObject({
      offline: { 'im-2': ['c'] },
      reasons: { 'im-2': 'offline' },
    });

    const back = collect(await connectClient(url, 'im-2'));
    expect(await sender.send({ 'im-2': ['c'] }, 'welcome back')).toEqual({ delivered: ['im-2'], offline: {} });
    await barrier(sender, { 'im-2': back });
    expect(back.messages).toEqual(['welcome back']);
  });

  it('{ report: false } sends resolve once written; their offline users arrive on the offline event, once per send', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'im-1');
    const online = collect(await connectClient(url, 'im-2'));
    const notices = new EventLog<[OfflineNotice]>(sender, 'offline');

    const results = await Promise.all([
      sender.send({ 'im-2': ['c'], 'im-3': ['e', 'f'] }, 'one', { report: false }),
      sender.send({ 'im-2': ['d'] }, 'two', { report: false }),
      sender.send({ 'im-4': ['g'] }, 'three', { report: false }),
    ]);
    expect(results).toEqual([undefined, undefined, undefined]);

    // The barrier's report comes after every earlier notice: the relay answers one sender in order.
    await barrier(sender, { 'im-2': online });
    expect(notices.firsts).toEqual([
      { offline: { 'im-3': ['e', 'f'] }, reasons: { 'im-3': 'offline' } },
      { offline: { 'im-4': ['g'] }, reasons: { 'im-4': 'offline' } },
    ]);
    expect(online.messages).toEqual(['one', 'two']);
  });

  it('{ report: false } sends that all land raise no offline event', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'im-1');
    const online = collect(await connectClient(url, 'im-2'));
    const notices = new EventLog(sender, 'offline');
    for (let i = 0; i < 50; i++) void sender.send({ 'im-2': ['c'] }, i, { report: false });
    await barrier(sender, { 'im-2': online });
    expect(notices.count).toBe(0);
    expect(online.messages).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });

  it('a node refusing a frame larger than it accepts is reported "refused", not delivered', async () => {
    const { url } = await startServer();
    const sender = await connectClient(url, 'im-1');
    const small = collect(await connectClient(url, 'small', { maxFrameBytes: 1024 }));
    const big = 'x'.repeat(2048);
    const report = await sender.send({ small: ['u'] }, big);
    expect(report).toEqual({ delivered: [], offline: { small: ['u'] }, reasons: { small: 'refused' } });
    await barrier(sender, { small });
    expect(small.count).toBe(0);
  });
});
