/**
 * Truthful reports and presence, the same cases over every transport:
 * delivered and offline hosts with their users and reasons, `{ report: false }`
 * failures on the `offline` event, and sendToUsers / locate / online /
 * offline with users on several devices.
 */
import { describe, expect, it } from 'vitest';
import type { OfflineNotice, RelayClient } from '../../src/index.js';
import type { UsersReport } from '../../src/client/report.js';
import { barrier, collect } from '../helpers/collector.js';
import { EventLog } from '../helpers/events.js';
import { TRANSPORTS, useTransportHarness } from '../helpers/transports.js';

useTransportHarness();

/** Announces `users` on `node` and waits until applied (the node's own locate is answered after it). */
async function online(node: RelayClient, users: string[]): Promise<void> {
  node.online(users);
  await node.locate(users);
}

/** Sorts the node lists of a locate answer: transports need not agree on their order. */
function sorted(located: Map<string, string[]>): Record<string, string[]> {
  return Object.fromEntries([...located].map(([user, nodes]) => [user, [...nodes].sort()]));
}

function sortedUsersReport(report: UsersReport): UsersReport {
  return { ...report, delivered: [...report.delivered].sort() };
}

describe.each(TRANSPORTS)('reports over $name', (transport) => {
  it('lists every offline host with its users and the reason "offline", next to the delivered ones', async () => {
    const t = await transport.start();
    const sender = await t.connect('im-1');
    const inbox = collect(await t.connect('im-2'));
    const report = await sender.send({ 'im-2': ['c'], 'im-3': ['e', 18446744073709551615n], 'im-9': [7] }, { t: 1 });
    expect(report).toEqual({
      delivered: ['im-2'],
      offline: { 'im-3': ['e', '18446744073709551615'], 'im-9': ['7'] },
      reasons: { 'im-3': 'offline', 'im-9': 'offline' },
    });
    await barrier(sender, { 'im-2': inbox });
    expect(inbox.items).toEqual([{ from: 'im-1', users: ['c'], message: { t: 1 } }]);
  });

  it('a send where no host is online still resolves, with everyone offline', async () => {
    const t = await transport.start();
    const sender = await t.connect('im-1');
    expect(await sender.send({ a: ['1'], b: ['2', '3'] }, 'x')).toEqual({
      delivered: [],
      offline: { a: ['1'], b: ['2', '3'] },
      reasons: { a: 'offline', b: 'offline' },
    });
  });

  it('a node that closed is reported offline; once back it is delivered to again', async () => {
    const t = await transport.start();
    const sender = await t.connect('im-1');
    const leaving = await t.connect('im-2');
    await leaving.close();
    // close() resolves once the node is gone: the very next send finds it offline.
    const report = await sender.send({ 'im-2': ['c'] }, 'while away');
    expect(report).toEqual({ delivered: [], offline: { 'im-2': ['c'] }, reasons: { 'im-2': 'offline' } });

    const back = collect(await t.connect('im-2'));
    expect(await sender.send({ 'im-2': ['c'] }, 'welcome back')).toEqual({ delivered: ['im-2'], offline: {} });
    await barrier(sender, { 'im-2': back });
    expect(back.messages).toEqual(['welcome back']);
  });

  it('{ report: false }: sends resolve once written; offline users arrive on the offline event, once per send, in order', async () => {
    const t = await transport.start();
    const sender = await t.connect('im-1');
    const inbox = collect(await t.connect('im-2'));
    const notices = new EventLog<[OfflineNotice]>(sender, 'offline');
    const results = await Promise.all([
      sender.send({ 'im-2': ['c'], 'im-3': ['e', 'f'] }, 'one', { report: false }),
      sender.send({ 'im-2': ['d'] }, 'two', { report: false }),
      sender.send({ 'im-4': ['g'] }, 'three', { report: false }),
    ]);
    expect(results).toEqual([undefined, undefined, undefined]);
    // The barrier's report comes after every earlier notice: one sender's replies keep their order.
    await barrier(sender, { 'im-2': inbox });
    expect(notices.firsts).toEqual([
      { offline: { 'im-3': ['e', 'f'] }, reasons: { 'im-3': 'offline' } },
      { offline: { 'im-4': ['g'] }, reasons: { 'im-4': 'offline' } },
    ]);
    expect(inbox.messages).toEqual(['one', 'two']);
  });

  it("a sender's reports and offline notices come back in send order, whatever hosts (and shards) they concern", async () => {
    const t = await transport.start();
    const sender = await t.connect('im-1');
    const notices = new EventLog<[OfflineNotice]>(sender, 'offline');
    const n = 300;
    // Offline hosts with different names: on a cluster their channels live on different shards.
    const hostOf = (i: number): string => `gone-${i % 7}`;
    for (let i = 0; i < n; i++) void sender.send({ [hostOf(i)]: [`u${i}`] }, i, { report: false });
    const resolved: number[] = [];
    const sends = Array.from({ length: n }, (_, i) =>
      sender.send({ [hostOf(i + 3)]: [`r${i}`] }, i).then((report) => {
        resolved.push(i);
        return report;
      }),
    );
    const reports = await Promise.all(sends);
    reports.forEach((report, i) => expect(report.offline).toEqual({ [hostOf(i + 3)]: [`r${i}`] }));
    expect(resolved).toEqual(Array.from({ length: n }, (_, i) => i));
    // Every notice came before the reports of the sends made after it.
    expect(notices.firsts.map((notice) => Object.values(notice.offline)[0]![0])).toEqual(Array.from({ length: n }, (_, i) => `u${i}`));
  });

  it('{ report: false } sends that all land raise no offline event', async () => {
    const t = await transport.start();
    const sender = await t.connect('im-1');
    const inbox = collect(await t.connect('im-2'));
    const notices = new EventLog(sender, 'offline');
    const sends = Array.from({ length: 50 }, (_, i) => sender.send({ 'im-2': ['c'] }, i, { report: false }));
    await Promise.all(sends);
    await barrier(sender, { 'im-2': inbox });
    expect(notices.count).toBe(0);
    expect(inbox.messages).toEqual(Array.from({ length: 50 }, (_, i) => i));
  });
});

describe.each(TRANSPORTS)('presence over $name', (transport) => {
  it('online / locate / offline, from any node', async () => {
    const t = await transport.start();
    const a = await t.connect('a');
    const b = await t.connect('b');
    await online(a, ['alice']);
    await online(b, ['bob', 'carol']);
    expect(sorted(await a.locate(['alice', 'bob', 'carol', 'nobody']))).toEqual({
      alice: ['a'],
      bob: ['b'],
      carol: ['b'],
      nobody: [],
    });
    b.offline(['carol']);
    await b.locate(['carol']);
    expect(sorted(await a.locate(['bob', 'carol']))).toEqual({ bob: ['b'], carol: [] });
    // Offline for a user this node never had changes nothing elsewhere.
    a.offline(['bob']);
    await a.locate(['bob']);
    expect(sorted(await b.locate(['bob']))).toEqual({ bob: ['b'] });
  });

  it('multi-device: a user online on two nodes is located on both, and sendToUsers reaches each once with its users', async () => {
    const t = await transport.start();
    const sender = await t.connect('im-1');
    const phone = await t.connect('phone');
    const desk = await t.connect('desk');
    const phoneInbox = collect(phone);
    const deskInbox = collect(desk);
    await online(phone, ['alice', 'bob']);
    await online(desk, ['alice', 'carol']);
    expect(sorted(await sender.locate(['alice', 'bob', 'carol']))).toEqual({
      alice: ['desk', 'phone'],
      bob: ['phone'],
      carol: ['desk'],
    });

    const report = await sender.sendToUsers(['alice', 'bob', 'carol', 'dave'], { text: 'hello' });
    expect(sortedUsersReport(report)).toEqual({ delivered: ['desk', 'phone'], offline: ['dave'], undelivered: {} });
    await barrier(sender, { phone: phoneInbox, desk: deskInbox });
    expect(phoneInbox.items).toHaveLength(1);
    expect(deskInbox.items).toHaveLength(1);
    expect([...phoneInbox.items[0]!.users].sort()).toEqual(['alice', 'bob']);
    expect([...deskInbox.items[0]!.users].sort()).toEqual(['alice', 'carol']);
    expect(phoneInbox.items[0]).toMatchObject({ from: 'im-1', message: { text: 'hello' } });
    expect(deskInbox.items[0]).toMatchObject({ from: 'im-1', message: { text: 'hello' } });

    // One device logs out: the user is still reached on the other.
    phone.offline(['alice']);
    await phone.locate(['alice']);
    expect(sorted(await sender.locate(['alice']))).toEqual({ alice: ['desk'] });
    expect(await sender.sendToUsers(['alice'], 'again')).toEqual({ delivered: ['desk'], offline: [], undelivered: {} });
    await barrier(sender, { phone: phoneInbox, desk: deskInbox });
    expect(phoneInbox.count).toBe(1);
    expect(deskInbox.messages).toEqual([{ text: 'hello' }, 'again']);
  });

  it('sendToUsers to users online nowhere resolves with all of them offline; { report: false } says so on the offline event', async () => {
    const t = await transport.start();
    const sender = await t.connect('im-1');
    const inbox = collect(await t.connect('im-2'));
    expect(await sender.sendToUsers(['x', 'y'], 'nobody home')).toEqual({ delivered: [], offline: ['x', 'y'], undelivered: {} });
    const notices = new EventLog<[OfflineNotice]>(sender, 'offline');
    await expect(sender.sendToUsers(['ghost'], 'boo', { report: false })).resolves.toBeUndefined();
    await barrier(sender, { 'im-2': inbox });
    expect(notices.firsts).toEqual([{ offline: {}, reasons: {}, nowhere: ['ghost'] }]);
    expect(inbox.count).toBe(0);
  });
});
