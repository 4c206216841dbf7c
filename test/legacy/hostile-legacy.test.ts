/**
 * Framing robustness on legacy connections: split and coalesced frames,
 * large frames, absurd length prefixes and invalid JSON, each on real
 * sockets while other nodes keep exchanging messages.
 */
import { describe, expect, it } from 'vitest';
import { ErrorCodes, type NodeInfo, type RelayError, type RelayServer } from '../../src/index.js';
import { collect } from '../helpers/collector.js';
import { EventLog, pollUntil } from '../helpers/events.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { LegacyPeer, MixedTraffic, U64_MAX, goDocText, legacyFrame, legacyMark, waitUnregistered } from '../helpers/legacy.js';

useRelayHarness();

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

interface Setup {
  server: RelayServer;
  port: number;
  url: string;
  traffic: MixedTraffic;
  errors: EventLog<[RelayError, { remoteAddress: string; nodeId?: string }]>;
  downs: EventLog<[NodeInfo, RelayError | undefined]>;
}

/** A relay with a binary pair and a legacy pair exchanging messages in the background. */
async function relayWithTraffic(helloTimeoutMs = 5_000): Promise<Setup> {
  const { server, port, url } = await startServer({ helloTimeoutMs });
  const errors = new EventLog<[RelayError, { remoteAddress: string; nodeId?: string }]>(server, 'error');
  const downs = new EventLog<[NodeInfo, RelayError | undefined]>(server, 'node:down');
  const a = await connectClient(url, 'traffic-a');
  const b = await connectClient(url, 'traffic-b');
  const la = await LegacyPeer.connect(port, server);
  const lb = await LegacyPeer.connect(port, server);
  const traffic = new MixedTraffic({ sender: a, target: 'traffic-b', inbox: collect(b) }, { sender: la, target: lb });
  await traffic.advance();
  return { server, port, url, traffic, errors, downs };
}

/** The canonical text a legacy target receives for a simple document. */
function expectedText(host: string, users: string, id: string, content: string): string {
  return `{"users":{"${host}":[${users}]},"id":"${id}","from":1,"to":2,"type":1,"contentType":0,"time":"","content":${JSON.stringify(content)}}`;
}

/** Expects `peer` to have received exactly one frame, the legacy error document with `code`, and to be closed. */
async function expectClosedWithError(peer: LegacyPeer, code: string): Promise<void> {
  await peer.waitClosed();
  expect(peer.frameCount).toBe(1);
  const [err] = peer.docs;
  expect(err!.json).toMatchObject({ id: '', from: 0, to: 0, type: 100, contentType: 0, time: '', error: code });
  expect(typeof err!.json.content).toBe('string');
  expect(err!.text.startsWith('{"id":"","from":0,"to":0,"type":100,"contentType":0,"time":"","content":')).toBe(true);
  // A Go node reads it as a type-100 notice.
  expect(err!.doc.users.size).toBe(0);
  expect(err!.doc.message.type).toBe(100);
  // One whole frame, nothing after it.
  expect(peer.bytes.length).toBe(4 + err!.payload.length);
  expect(peer.bytes.readInt32LE(0)).toBe(err!.payload.length);
}

describe('split and coalesced legacy frames', () => {
  it('a frame written one byte at a time is routed whole', async () => {
    const { server, port, traffic } = await relayWithTraffic();
    const sender = await LegacyPeer.connect(port, server);
    const target = await LegacyPeer.connect(port, server);
    const frame = legacyFrame(
      goDocText({ users: { [target.address]: [U64_MAX] }, id: 'split', from: 1, to: 2, type: 1, content: '一字一字' }),
    );
    for (const byte of frame) {
      sender.write(Buffer.of(byte));
      await delay(0);
    }
    const expected = legacyFrame(expectedText(target.address, U64_MAX, 'split', '一字一字'));
    expect((await target.waitForBytes(expected.length)).equals(expected)).toBe(true);
    await traffic.verify();
    expect(sender.raw.bytesReceived).toBe(0);
  });

  it('several frames in one write are each routed, in order', async () => {
    const { server, port, url, traffic } = await relayWithTraffic();
    const sender = await LegacyPeer.connect(port, server);
    const t1 = await LegacyPeer.connect(port, server);
    const t2 = await LegacyPeer.connect(port, server);
    const bin = await connectClient(url, 'sticky-bin');
    const inbox = collect(bin);
    sender.write(
      Buffer.concat([
        legacyFrame(goDocText({ users: { [t1.address]: [1] }, id: 's1', from: 1, to: 2, type: 1, content: 'one' })),
        legacyFrame(goDocText({ users: { [t2.address]: [2], 'sticky-bin': [3] }, id: 's2', from: 1, to: 2, type: 1, content: 'two' })),
        legacyFrame(goDocText({ users: { '127.0.0.1:1': [4] }, id: 's3', from: 1, to: 2, type: 1 })),
        legacyFrame(goDocText({ users: { [t1.address]: [5] }, id: 's4', from: 1, to: 2, type: 1, content: 'four' })),
      ]),
    );
    const [notice] = await sender.waitForFrames(1);
    expect(notice!.json).toMatchObject({ type: 100, host: '127.0.0.1:1', offlineUsers: [4], msgId: 's3' });
    await t1.waitForFrames(2);
    await t2.waitForFrames(1);
    await inbox.waitFor(1);
    expect(t1.docs.map((d) => d.text)).toEqual([expectedText(t1.address, '1', 's1', 'one'), expectedText(t1.address, '5', 's4', 'four')]);
    expect(t2.docs.map((d) => d.text)).toEqual([expectedText(t2.address, '2', 's2', 'two')]);
    expect(inbox.items[0]).toMatchObject({ from: sender.address, users: ['3'], message: { id: 's2', content: 'two' } });
    await legacyMark(sender, [t1, t2]);
    expect(sender.frameCount).toBe(1);
    expect(t1.frameCount).toBe(3);
    expect(t2.frameCount).toBe(2);
    await traffic.verify();
  });

  it('frames cut across their length prefixes (3-byte writes) are reassembled', async () => {
    const { server, port, traffic } = await relayWithTraffic();
    const sender = await LegacyPeer.connect(port, server);
    const target = await LegacyPeer.connect(port, server);
    const docs = ['a', 'bb', 'ccc', 'dddd'].map((c, i) =>
      goDocText({ users: { [target.address]: [i] }, id: `c${i}`, from: 1, to: 2, type: 1, content: c }),
    );
    const stream = Buffer.concat(docs.map(legacyFrame));
    for (let i = 0; i < stream.length; i += 3) {
      sender.write(stream.subarray(i, i + 3));
      if (i % 30 === 0) await delay(0);
    }
    await target.waitForFrames(4);
    expect(target.docs.map((d) => d.text)).toEqual(
      ['a', 'bb', 'ccc', 'dddd'].map((c, i) => expectedText(target.address, String(i), `c${i}`, c)),
    );
    await traffic.verify();
  });

  it('a frame with 10 KiB of content (more than the Go hub read buffer) is routed whole, to legacy and binary nodes', async () => {
    const { server, port, url, traffic } = await relayWithTraffic();
    const sender = await LegacyPeer.connect(port, server);
    const target = await LegacyPeer.connect(port, server);
    const bin = await connectClient(url, 'big-bin');
    const inbox = collect(bin);
    const content = 'x'.repeat(10 * 1024 - 6) + '你好'; // 10 KiB of text
    expect(Buffer.byteLength(content)).toBe(10 * 1024);
    sender.sendDoc({ users: { [target.address]: [7], 'big-bin': [8] }, id: 'big', from: 1, to: 2, type: 1, content });
    const expected = legacyFrame(expectedText(target.address, '7', 'big', content));
    expect((await target.waitForBytes(expected.length)).equals(expected)).toBe(true);
    const [d] = await inbox.waitFor(1);
    expect((d!.message as { content: string }).content).toBe(content);
    await traffic.verify();
  });
});

describe('absurd length prefixes', () => {
  for (const [label, prefix] of [
    ['a 2 GB length (0x7fffffff)', 0x7fffffff],
    ['a negative int32 length (0xffffffff, -1)', -1],
    ['a negative int32 length (0x80000000)', -0x80000000],
  ] as const) {
    it(`${label} closes that node after an ERR_FRAME_TOO_LARGE error document; the others keep working`, async () => {
      const { server, port, traffic, errors } = await relayWithTraffic();
      const bad = await LegacyPeer.connect(port, server);
      const header = Buffer.alloc(4);
      header.writeInt32LE(prefix, 0);
      bad.write(Buffer.concat([header, Buffer.from('{"users":')]));
      await expectClosedWithError(bad, ErrorCodes.FRAME_TOO_LARGE);
      await waitUnregistered(server, bad.address);
      expect(errors.calls.map((c) => [c.args[0].code, c.args[1].nodeId])).toEqual([[ErrorCodes.FRAME_TOO_LARGE, bad.address]]);
      await traffic.advance();
      await traffic.verify();
    });
  }

  it('after some good frames, a 2 GB length still closes only that node (announced: node:down says why)', async () => {
    const { server, port, traffic, downs } = await relayWithTraffic();
    const bad = await LegacyPeer.connect(port, server);
    const target = await LegacyPeer.connect(port, server);
    bad.sendDoc({ users: { [target.address]: [1] }, id: 'ok-1', type: 1 });
    await target.waitForId('ok-1');
    bad.write(Buffer.from([0xff, 0xff, 0xff, 0x7f]));
    await expectClosedWithError(bad, ErrorCodes.FRAME_TOO_LARGE);
    await pollUntil(() => downs.calls.some((c) => c.args[0].nodeId === bad.address), 3_000, 'node:down');
    const [node, reason] = downs.calls.find((c) => c.args[0].nodeId === bad.address)!.args;
    expect(node).toMatchObject({ nodeId: bad.address, dialect: 'legacy' });
    expect(reason?.code).toBe(ErrorCodes.FRAME_TOO_LARGE);
    // The target is still served.
    const other = await LegacyPeer.connect(port, server);
    other.sendDoc({ users: { [target.address]: [2] }, id: 'ok-2', type: 1 });
    await target.waitForId('ok-2');
    await traffic.verify();
  });
});

describe('invalid JSON', () => {
  const cases: Array<[string, string | Buffer]> = [
    ['truncated JSON', '{"users":{"127.0.0.1:1":[1'],
    ['plain text', 'hello hub'],
    ['a JSON array', '[1,2,3]'],
    ['a uint64 that overflows', `{"users":{"127.0.0.1:1":[18446744073709551616]},"type":1}`],
    ['a negative user id', '{"users":{"127.0.0.1:1":[-1]},"type":1}'],
    ['a string where a number goes', '{"from":"1","type":1}'],
    ['binary garbage', Buffer.from([0x00, 0xff, 0x13, 0x37])],
    ['an empty payload', ''],
  ];
  for (const [label, payload] of cases) {
    it(`${label}: an ERR_PROTOCOL error document, then the node is closed; the others keep working`, async () => {
      const { server, port, traffic, errors } = await relayWithTraffic();
      const bad = await LegacyPeer.connect(port, server);
      bad.send(payload);
      await expectClosedWithError(bad, ErrorCodes.PROTOCOL);
      await waitUnregistered(server, bad.address);
      expect(errors.calls.map((c) => [c.args[0].code, c.args[1].nodeId])).toEqual([[ErrorCodes.PROTOCOL, bad.address]]);
      await traffic.advance();
      await traffic.verify();
    });
  }

  it('a bad frame after good ones: the good ones were routed, nothing after the bad one is', async () => {
    const { server, port, traffic } = await relayWithTraffic();
    const bad = await LegacyPeer.connect(port, server);
    const target = await LegacyPeer.connect(port, server);
    bad.write(
      Buffer.concat([
        legacyFrame(goDocText({ users: { [target.address]: [1] }, id: 'before', type: 1 })),
        legacyFrame('{"users":'),
        legacyFrame(goDocText({ users: { [target.address]: [1] }, id: 'after', type: 1 })),
      ]),
    );
    await expectClosedWithError(bad, ErrorCodes.PROTOCOL);
    const other = await LegacyPeer.connect(port, server);
    await legacyMark(other, [target]);
    expect(target.ids).toEqual(['before', expect.stringMatching(/^mark-/)]);
    await traffic.verify();
  });
});

describe('heartbeats', () => {
  it('heartbeat documents (type 0, no users) route nothing, answer nothing, and keep the node', async () => {
    const helloTimeoutMs = 100;
    const { server, port, traffic, errors } = await relayWithTraffic(helloTimeoutMs);
    const ups = new EventLog<[NodeInfo]>(server, 'node:up');
    const node = await LegacyPeer.connect(port, server);
    const target = await LegacyPeer.connect(port, server);
    for (const beat of [
      goDocText({}),
      '{"users":{},"id":"","from":0,"to":0,"type":0,"contentType":0,"time":"","content":""}',
      '{"users":null,"type":0}',
      '{"type":0,"content":"ping"}',
      '{}',
    ]) {
      node.send(beat);
    }
    // The first frame confirmed the node: it is announced once.
    await pollUntil(() => ups.firsts.some((n) => n.nodeId === node.address), 2_000, 'node:up');
    // Past the hello timeout and more: still connected, nothing received.
    await delay(helloTimeoutMs * 3);
    await legacyMark(node, [target]);
    expect(target.frameCount).toBe(1);
    expect(node.raw.bytesReceived).toBe(0);
    expect(node.isClosed).toBe(false);
    expect(server.nodes().find((n) => n.nodeId === node.address)).toMatchObject({ dialect: 'legacy' });
    expect(ups.firsts.filter((n) => n.nodeId === node.address)).toHaveLength(1);
    expect(errors.count).toBe(0);
    await traffic.verify();
  });
});
