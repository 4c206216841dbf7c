/**
 * One relay, two kinds of nodes: raw Go IM nodes (legacy JSON frames) and
 * binary RelayClients, routing to each other over real sockets.
 */
import { describe, expect, it } from 'vitest';
import type { RelayClient, RelayServer } from '../../src/index.js';
import { collect, type DeliveryCollector } from '../helpers/collector.js';
import { EventLog } from '../helpers/events.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { GO_NOTICE_HEAD, LegacyPeer, U64_MAX, legacyMark, waitUnregistered } from '../helpers/legacy.js';

useRelayHarness();

interface Cluster {
  server: RelayServer;
  port: number;
  l1: LegacyPeer;
  l2: LegacyPeer;
  l3: LegacyPeer;
  b1: RelayClient;
  b2: RelayClient;
  b3: RelayClient;
  in1: DeliveryCollector;
  in2: DeliveryCollector;
  in3: DeliveryCollector;
}

async function cluster(): Promise<Cluster> {
  const { server, port, url } = await startServer();
  const [l1, l2, l3] = await Promise.all([1, 2, 3].map(() => LegacyPeer.connect(port, server)));
  const [b1, b2, b3] = await Promise.all(['b1', 'b2', 'b3'].map((id) => connectClient(url, id)));
  return {
    server,
    port,
    l1: l1!,
    l2: l2!,
    l3: l3!,
    b1: b1!,
    b2: b2!,
    b3: b3!,
    in1: collect(b1!),
    in2: collect(b2!),
    in3: collect(b3!),
  };
}

/** The legacy message fields as a binary node receives them. */
function legacyMessage(
  fields: Partial<Record<'id' | 'from' | 'to' | 'time' | 'content', string>> & { type?: number; contentType?: number },
) {
  return { id: '', from: '0', to: '0', type: 0, contentType: 0, time: '', content: '', ...fields };
}

/** Message ids received by a binary node, in order. */
function ids(inbox: DeliveryCollector): unknown[] {
  return inbox.items.map((d) => (d.message as { id?: unknown }).id);
}

/** Waits until a binary node has a delivery whose message has this id. */
function waitForId(inbox: DeliveryCollector, id: string): Promise<void> {
  return inbox.until(() => ids(inbox).includes(id), 3_000, `message ${id}`);
}

describe('legacy -> binary', () => {
  it('delivers the legacy fields with from/to as decimal strings, uint64 exact, from the legacy node id', async () => {
    const { l1, in1 } = await cluster();
    l1.sendDoc({
      users: { b1: [3, U64_MAX] },
      id: 'm1',
      from: U64_MAX,
      to: '9007199254740993',
      type: 1,
      contentType: 4,
      time: '2024-05-01 10:00:00',
      content: 'hi <all> & 你好 "q"',
    });
    const [d] = await in1.waitFor(1);
    expect(d).toEqual({
      from: l1.address,
      users: ['3', U64_MAX],
      message: legacyMessage({
        id: 'm1',
        from: U64_MAX,
        to: '9007199254740993',
        type: 1,
        contentType: 4,
        time: '2024-05-01 10:00:00',
        content: 'hi <all> & 你好 "q"',
      }),
    });
    // Nothing comes back to the sender when every host was reached.
    expect(l1.raw.bytesReceived).toBe(0);
  });
});

describe('legacy -> binary, node ids beyond ip:port', () => {
  it('routes to a binary node whose id is not ASCII', async () => {
    const { server, port, url } = await startServer();
    const node = await connectClient(url, 'nœud-1');
    const inbox = collect(node);
    const l1 = await LegacyPeer.connect(port, server);
    l1.sendDoc({ users: { 'nœud-1': [1] }, id: 'utf8', type: 1, content: 'é' });
    const [d] = await inbox.waitFor(1);
    expect(d).toEqual({ from: l1.address, users: ['1'], message: legacyMessage({ id: 'utf8', type: 1, content: 'é' }) });
    expect(l1.raw.bytesReceived).toBe(0);
  });
});

describe('legacy -> binary, too large for the binary node', () => {
  it('is refused with a notice to the legacy sender, and the binary node stays connected', async () => {
    const { server, port, url } = await startServer();
    const small = await connectClient(url, 'small', { maxFrameBytes: 4096 });
    const disconnects = new EventLog(small, 'disconnect');
    const inbox = collect(small);
    const l1 = await LegacyPeer.connect(port, server);
    l1.sendDoc({ users: { small: [1, U64_MAX] }, id: 'huge', type: 1, content: 'x'.repeat(10 * 1024) });
    const notice = await l1.nextDoc();
    expect(notice.text).toBe(`${GO_NOTICE_HEAD},"host":"small","offlineUsers":[1,${U64_MAX}],"reason":"refused","msgId":"huge"}`);
    l1.sendDoc({ users: { small: [1] }, id: 'fits', type: 1, content: 'x'.repeat(1024) });
    const [d] = await inbox.waitFor(1);
    expect(d!.message).toMatchObject({ id: 'fits' });
    expect(inbox.count).toBe(1);
    expect(disconnects.count).toBe(0);
    expect(small.connected).toBe(true);
  });
});

describe('binary -> legacy', () => {
  it('gives the legacy node the Go-canonical document with its users only, from number, bigint or string ids', async () => {
    const { l1, l2, b1 } = await cluster();
    const cases: Array<{ from: unknown; to: unknown; fromText: string; toText: string }> = [
      { from: 1, to: 77, fromText: '1', toText: '77' },
      { from: BigInt(U64_MAX), to: 9007199254740993n, fromText: U64_MAX, toText: '9007199254740993' },
      { from: U64_MAX, to: '0', fromText: U64_MAX, toText: '0' },
    ];
    for (const [i, c] of cases.entries()) {
      const report = await b1.send(
        { [l1.address]: [3, BigInt(U64_MAX), '5'], [l2.address]: [U64_MAX] },
        { id: `b${i}`, from: c.from, to: c.to, type: 2, contentType: 1, time: 't', content: '<b> & é\u2028', ignored: true },
      );
      expect(report.offline).toEqual({});
      expect(report.delivered.sort()).toEqual([l1.address, l2.address].sort());
      const tail = `"id":"b${i}","from":${c.fromText},"to":${c.toText},"type":2,"contentType":1,"time":"t","content":"\\u003cb\\u003e \\u0026 é\\u2028"}`;
      expect((await l1.nextDoc()).text).toBe(`{"users":{"${l1.address}":[3,${U64_MAX},5]},${tail}`);
      expect((await l2.nextDoc()).text).toBe(`{"users":{"${l2.address}":[${U64_MAX}]},${tail}`);
    }
  });

  it('fills the fields the message leaves out with Go zero values, and the frame is length-prefixed', async () => {
    const { l1, b1 } = await cluster();
    await b1.send({ [l1.address]: [8] }, { content: 'only content' });
    const expected = `{"users":{"${l1.address}":[8]},"id":"","from":0,"to":0,"type":0,"contentType":0,"time":"","content":"only content"}`;
    const bytes = await l1.waitForBytes(4 + Buffer.byteLength(expected));
    expect(bytes.readInt32LE(0)).toBe(Buffer.byteLength(expected));
    expect(bytes.subarray(4).toString('utf8')).toBe(expected);
  });

  it('reports refused for a string or Buffer message, non-numeric user ids, or a message without the legacy shape', async () => {
    const { l1, l2, b1, in2 } = await cluster();
    const refusals: Array<[Record<string, unknown[]>, unknown]> = [
      [{ [l1.address]: [1] }, 'plain text'],
      [{ [l1.address]: [1] }, Buffer.from('{"id":"raw"}')],
      [{ [l1.address]: ['alice', 2] }, { id: 'named' }],
      [{ [l1.address]: ['-1'] }, { id: 'negative' }],
      [{ [l1.address]: ['18446744073709551616'] }, { id: 'too-big' }],
      [{ [l1.address]: [1] }, [1, 2, 3]],
      [{ [l1.address]: [1] }, { id: 'bad-from', from: -5 }],
      [{ [l1.address]: [1] }, { id: 'bad-type', type: 'chat' }],
    ];
    for (const [table, message] of refusals) {
      const report = await b1.send(table as Record<string, string[]>, message);
      const users = Object.values(table)[0]!.map(String);
      expect(report, JSON.stringify(message)).toEqual({
        delivered: [],
        offline: { [l1.address]: users },
        reasons: { [l1.address]: 'refused' },
      });
    }
    // A refusal for one host does not hold back the others of the same send.
    const mixed = await b1.send({ [l1.address]: ['alice'], [l2.address]: [1], b2: ['alice'] }, { id: 'mixed' });
    expect(mixed.delivered.sort()).toEqual([l2.address, 'b2'].sort());
    expect(mixed.offline).toEqual({ [l1.address]: ['alice'] });
    expect(mixed.reasons).toEqual({ [l1.address]: 'refused' });
    await waitForId(in2, 'mixed');
    // The legacy node got nothing of the refused sends.
    await b1.send({ [l1.address]: [1] }, { id: 'after' });
    expect((await l1.nextDoc()).doc.message.id).toBe('after');
    expect(l1.frameCount).toBe(1);
  });

  it('a bigint in a message to a binary node arrives as its decimal string', async () => {
    const { b1, in2 } = await cluster();
    await b1.send({ b2: [BigInt(U64_MAX)] }, { id: 'big', from: BigInt(U64_MAX), to: 5n, nested: [1n] });
    const [d] = await in2.waitFor(1);
    expect(d).toEqual({ from: 'b1', users: [U64_MAX], message: { id: 'big', from: U64_MAX, to: '5', nested: ['1'] } });
  });
});

describe('group fan-out', () => {
  it('from a legacy node to two legacy and two binary nodes: one frame each, with that node users only', async () => {
    const { l1, l2, l3, in1, in2 } = await cluster();
    l1.sendDoc({
      users: { [l2.address]: [21, 22], [l3.address]: [U64_MAX], b1: [11], b2: [12, 13, 14] },
      id: 'g1',
      from: 1,
      to: 500,
      type: 2,
      contentType: 1,
      content: 'group',
    });
    const mark = await legacyMark(l1, [l2, l3]);
    l1.sendDoc({ users: { b1: [1], b2: [1] }, id: mark, type: 1 });
    await Promise.all([waitForId(in1, mark), waitForId(in2, mark)]);

    expect(l2.docs.map((d) => d.doc.message.id)).toEqual(['g1', mark]);
    expect(l3.docs.map((d) => d.doc.message.id)).toEqual(['g1', mark]);
    const tail = `"id":"g1","from":1,"to":500,"type":2,"contentType":1,"time":"","content":"group"}`;
    expect(l2.docs[0]!.text).toBe(`{"users":{"${l2.address}":[21,22]},${tail}`);
    expect(l3.docs[0]!.text).toBe(`{"users":{"${l3.address}":[${U64_MAX}]},${tail}`);

    expect(ids(in1)).toEqual(['g1', mark]);
    expect(ids(in2)).toEqual(['g1', mark]);
    const message = legacyMessage({ id: 'g1', from: '1', to: '500', type: 2, contentType: 1, content: 'group' });
    expect(in1.items[0]).toEqual({ from: l1.address, users: ['11'], message });
    expect(in2.items[0]).toEqual({ from: l1.address, users: ['12', '13', '14'], message });
    expect(l1.raw.bytesReceived).toBe(0);
  });

  it('from a binary node to two legacy and two binary nodes: one frame each, and a full report', async () => {
    const { l1, l2, b1, in2, in3 } = await cluster();
    const message = { id: 'g2', from: '7', to: '600', type: 2, contentType: 0, time: 'now', content: 'group' };
    const report = await b1.send({ [l1.address]: [1, 2], [l2.address]: [BigInt(U64_MAX)], b2: ['21'], b3: ['31', U64_MAX] }, message);
    expect(report.delivered.sort()).toEqual([l1.address, l2.address, 'b2', 'b3'].sort());
    expect(report.offline).toEqual({});

    const mark = { id: 'mark', type: 1 };
    await b1.send({ [l1.address]: [1], [l2.address]: [1], b2: ['1'], b3: ['1'] }, mark);
    await Promise.all([l1.waitForId('mark'), l2.waitForId('mark'), waitForId(in2, 'mark'), waitForId(in3, 'mark')]);

    const tail = `"id":"g2","from":7,"to":600,"type":2,"contentType":0,"time":"now","content":"group"}`;
    expect(l1.docs.map((d) => d.text)).toEqual([`{"users":{"${l1.address}":[1,2]},${tail}`, expect.stringContaining('"id":"mark"')]);
    expect(l2.docs.map((d) => d.text)).toEqual([`{"users":{"${l2.address}":[${U64_MAX}]},${tail}`, expect.stringContaining('"id":"mark"')]);
    // A binary target gets the sender's own payload.
    expect(in2.items.map((d) => d.message)).toEqual([message, mark]);
    expect(in3.items.map((d) => d.message)).toEqual([message, mark]);
    expect(in2.items[0]).toMatchObject({ from: 'b1', users: ['21'] });
    expect(in3.items[0]).toMatchObject({ from: 'b1', users: ['31', U64_MAX] });
  });
});

describe('offline hosts', () => {
  it('a binary sender gets missing hosts of both kinds in its report', async () => {
    const { server, l1, l3, b1, b3 } = await cluster();
    const gone = l3.address;
    l3.end();
    await b3.close();
    await waitUnregistered(server, gone);
    await waitUnregistered(server, 'b3');
    const report = await b1.send(
      { [l1.address]: [1], [gone]: [U64_MAX], b3: ['x'], 'b-never': ['y'], '127.0.0.1:1': [2] },
      { id: 'o1', type: 1 },
    );
    expect(report).toEqual({
      delivered: [l1.address],
      offline: { [gone]: [U64_MAX], b3: ['x'], 'b-never': ['y'], '127.0.0.1:1': ['2'] },
      reasons: { [gone]: 'offline', b3: 'offline', 'b-never': 'offline', '127.0.0.1:1': 'offline' },
    });
    expect((await l1.nextDoc()).doc.message.id).toBe('o1');
  });

  it('a legacy sender gets one notice per missing host, of either kind, naming it', async () => {
    const { server, l1, l3, b3, in1 } = await cluster();
    const gone = l3.address;
    l3.end();
    await b3.close();
    await waitUnregistered(server, gone);
    await waitUnregistered(server, 'b3');
    l1.sendDoc({ users: { b1: [5], [gone]: [U64_MAX], b3: [6], '127.0.0.1:1': [7, 8] }, id: 'o2', from: 1, to: 2, type: 2 });
    const notices = await l1.waitForFrames(3);
    expect(notices.map((n) => n.text)).toEqual([
      `${GO_NOTICE_HEAD},"host":"${gone}","offlineUsers":[${U64_MAX}],"reason":"offline","msgId":"o2"}`,
      `${GO_NOTICE_HEAD},"host":"b3","offlineUsers":[6],"reason":"offline","msgId":"o2"}`,
      `${GO_NOTICE_HEAD},"host":"127.0.0.1:1","offlineUsers":[7,8],"reason":"offline","msgId":"o2"}`,
    ]);
    await in1.waitFor(1);
    expect(in1.items[0]).toMatchObject({ from: l1.address, users: ['5'] });
    // Exactly three: a later document with every host live brings none.
    l1.sendDoc({ users: { b1: [5] }, id: 'o3', type: 1 });
    await waitForId(in1, 'o3');
    expect(l1.frameCount).toBe(3);
  });
});

describe('uint64 ids above 2^53', () => {
  it('survive legacy -> binary -> legacy, in users, from and to', async () => {
    const { l1, l2, b1, in1 } = await cluster();
    const big = U64_MAX;
    const nearly = '18446744073709551614';
    l1.sendDoc({ users: { b1: [big, nearly] }, id: 'u1', from: big, to: nearly, type: 1 });
    const [d] = await in1.waitFor(1);
    expect(d!.users).toEqual([big, nearly]);
    // Forward what arrived, as received, to a legacy node.
    await b1.send({ [l2.address]: d!.users }, d!.message);
    const doc = await l2.nextDoc();
    expect(doc.text).toBe(
      `{"users":{"${l2.address}":[${big},${nearly}]},"id":"u1","from":${big},"to":${nearly},"type":1,"contentType":0,"time":"","content":""}`,
    );
    expect([...doc.doc.users.values()][0]).toEqual([big, nearly]);
    expect(doc.doc.message).toMatchObject({ from: big, to: nearly });
  });
});
