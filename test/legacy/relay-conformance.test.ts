/**
 * The relay as a Go `transmit` hub, byte for byte: raw sockets play Go IM
 * nodes and replay the frames captured from the original hub
 * (test/legacy/fixtures/legacy-vectors.json).
 */
import { describe, expect, it } from 'vitest';
import { parseTransmitMap } from '../../src/legacy/index.js';
import { EventLog, waitForEvent } from '../helpers/events.js';
import { startServer, useRelayHarness } from '../helpers/harness.js';
import { GO_NOTICE_HEAD, LegacyPeer, U64_MAX, legacyFrame, legacyMark, loadLegacyVectors, waitUnregistered } from '../helpers/legacy.js';

useRelayHarness();

const vectors = loadLegacyVectors();
const MISSING = '127.0.0.1:1';

/** `text` with every occurrence of each host replaced by its real address. */
function substitute(text: string, hosts: Record<string, string>): string {
  let out = text;
  for (const [from, to] of Object.entries(hosts)) out = out.split(from).join(to);
  return out;
}

describe('legacy framing as the captured vectors write it', () => {
  it('rebuilding a frame from its text gives the captured bytes, prefix included', () => {
    expect(legacyFrame(vectors.sent_payload).toString('hex')).toBe(vectors.sent_frame_hex);
    expect(legacyFrame(vectors.received_by_B_text).toString('hex')).toBe(vectors.received_by_B_hex);
    expect(legacyFrame(vectors.received_by_C_text).toString('hex')).toBe(vectors.received_by_C_hex);
    expect(legacyFrame(vectors.offline_notice_to_sender_text).toString('hex')).toBe(vectors.offline_notice_to_sender_hex);
  });
});

describe('relay conformance with the Go hub', () => {
  it('replays the captured group message: B and C get exactly the hub bytes, A one notice per missing host', async () => {
    const { server, port } = await startServer();
    const a = await LegacyPeer.connect(port, server);
    const b = await LegacyPeer.connect(port, server);
    const c = await LegacyPeer.connect(port, server);
    const hosts = { [vectors.hostB]: b.address, [vectors.hostC]: c.address };

    a.write(legacyFrame(substitute(vectors.sent_payload, hosts)));

    const expectedB = legacyFrame(substitute(vectors.received_by_B_text, hosts));
    const expectedC = legacyFrame(substitute(vectors.received_by_C_text, hosts));
    // The whole stream each node received, length prefix included.
    expect((await b.waitForBytes(expectedB.length)).toString('hex')).toBe(expectedB.toString('hex'));
    expect((await c.waitForBytes(expectedC.length)).toString('hex')).toBe(expectedC.toString('hex'));

    const notice = await a.nextDoc();
    const bareNotice = Buffer.from(vectors.offline_notice_to_sender_text, 'utf8');
    // The Go notice without its closing brace, then the extra fields.
    expect(notice.payload.subarray(0, bareNotice.length - 1).equals(bareNotice.subarray(0, -1))).toBe(true);
    expect(notice.text.startsWith(GO_NOTICE_HEAD)).toBe(true);
    expect(notice.text.endsWith('}')).toBe(true);
    expect(notice.json).toEqual({
      id: '',
      from: 0,
      to: 0,
      type: 100,
      contentType: 0,
      time: '',
      content: '客户端离线',
      host: MISSING,
      offlineUsers: [9],
      reason: 'offline',
      msgId: 'g1',
    });
    // A Go decoder reads it as the bare notice: no users, the notice's fields.
    expect(notice.doc.users.size).toBe(0);
    expect(notice.doc.message).toEqual(parseTransmitMap(bareNotice).message);
    // The frame itself: a length prefix that counts the payload.
    expect(a.bytes.readInt32LE(0)).toBe(notice.payload.length);

    // Nothing else was written to anyone: a second document, to a second
    // missing host and then to B, arrives right behind the first.
    a.sendDoc({ users: { '127.0.0.1:2': [U64_MAX] }, id: 'g2', from: 1, to: 77, type: 2 });
    const mark = await legacyMark(a, [b, c]);
    const second = await a.nextDoc();
    expect(second.text).toBe(`${GO_NOTICE_HEAD},"host":"127.0.0.1:2","offlineUsers":[${U64_MAX}],"reason":"offline","msgId":"g2"}`);
    expect(a.frameCount).toBe(2);
    expect(b.docs.map((d) => d.doc.message.id)).toEqual(['g1', mark]);
    expect(c.docs.map((d) => d.doc.message.id)).toEqual(['g1', mark]);
    expect(b.bytes.subarray(0, expectedB.length).equals(expectedB)).toBe(true);
  });

  it('answers every missing host of one document with its own notice, in document order', async () => {
    const { server, port } = await startServer();
    const a = await LegacyPeer.connect(port, server);
    const b = await LegacyPeer.connect(port, server);
    a.sendDoc({ users: { '127.0.0.1:1': [1, 2], [b.address]: [3], '127.0.0.1:2': [U64_MAX] }, id: 'm', from: 5, to: 6, type: 2 });
    const [first, second] = await a.waitForFrames(2);
    expect(first!.text).toBe(`${GO_NOTICE_HEAD},"host":"127.0.0.1:1","offlineUsers":[1,2],"reason":"offline","msgId":"m"}`);
    expect(second!.text).toBe(`${GO_NOTICE_HEAD},"host":"127.0.0.1:2","offlineUsers":[${U64_MAX}],"reason":"offline","msgId":"m"}`);
    expect((await b.nextDoc()).text).toBe(
      `{"users":{"${b.address}":[3]},"id":"m","from":5,"to":6,"type":2,"contentType":0,"time":"","content":""}`,
    );
    await legacyMark(a, [b]);
    expect(a.frameCount).toBe(2);
    expect(b.frameCount).toBe(2);
  });

  it('re-encodes a sender document in any field order and spacing into the canonical form', async () => {
    const { server, port } = await startServer();
    const a = await LegacyPeer.connect(port, server);
    const b = await LegacyPeer.connect(port, server);
    // Out of order, with whitespace, an unknown field, a missing field and an escaped host key.
    a.send(
      ` { "content" : "a\\u003cb & \\u2028", "extra": {"x": [1, 2]}, "to": ${U64_MAX}, ` +
        `"users": { "${b.address.replace('.', '\\u002e')}" : [ ${U64_MAX} , 0 ] }, "type": 1, "id": "x1", "from": 42 } `,
    );
    expect((await b.nextDoc()).text).toBe(
      `{"users":{"${b.address}":[${U64_MAX},0]},"id":"x1","from":42,"to":${U64_MAX},"type":1,"contentType":0,"time":"","content":"a\\u003cb \\u0026 \\u2028"}`,
    );
  });

  it('a node listed in its own document gets its frame, as from the Go hub', async () => {
    const { server, port } = await startServer();
    const a = await LegacyPeer.connect(port, server);
    a.sendDoc({ users: { [a.address]: [1, 2] }, id: 'self', from: 1, to: 2, type: 1, content: 'me' });
    expect((await a.nextDoc()).text).toBe(
      `{"users":{"${a.address}":[1,2]},"id":"self","from":1,"to":2,"type":1,"contentType":0,"time":"","content":"me"}`,
    );
  });

  it('never writes first: a silent legacy node receives nothing until someone routes to it', async () => {
    const helloTimeoutMs = 150;
    const { server, port } = await startServer({ helloTimeoutMs });
    const ups = new EventLog(server, 'node:up');
    const silent = await LegacyPeer.connect(port, server);
    // Past the hello timeout the node is announced, still without a byte written to it.
    await waitForEvent(server, 'node:up', 2_000, (n: { nodeId: string }) => n.nodeId === silent.address);
    await new Promise((resolve) => setTimeout(resolve, helloTimeoutMs));
    expect(silent.raw.bytesReceived).toBe(0);
    expect(silent.isClosed).toBe(false);
    expect(ups.firsts.map((n) => n.nodeId)).toEqual([silent.address]);

    const a = await LegacyPeer.connect(port, server);
    a.sendDoc({ users: { [silent.address]: [7] }, id: 'first', from: 1, to: 7, type: 1, content: 'hello' });
    const expected = legacyFrame(
      `{"users":{"${silent.address}":[7]},"id":"first","from":1,"to":7,"type":1,"contentType":0,"time":"","content":"hello"}`,
    );
    expect((await silent.waitForBytes(expected.length)).equals(expected)).toBe(true);
    // The sender got nothing back: every host was reached.
    await legacyMark(a, [silent]);
    expect(a.raw.bytesReceived).toBe(0);
  });

  it('routes to a silent node before its hello timeout, as a Go hub registers a node on connect', async () => {
    const { server, port } = await startServer({ helloTimeoutMs: 5_000 });
    const silent = await LegacyPeer.connect(port, server);
    const a = await LegacyPeer.connect(port, server);
    a.sendDoc({ users: { [silent.address]: [1] }, id: 'early', type: 1 });
    expect((await silent.nextDoc()).doc.message.id).toBe('early');
    expect(a.raw.bytesReceived).toBe(0);
  });

  it('a node that left is offline again: routing to its address is answered with a notice', async () => {
    const { server, port } = await startServer();
    const a = await LegacyPeer.connect(port, server);
    const b = await LegacyPeer.connect(port, server);
    b.end();
    await waitUnregistered(server, b.address);
    a.sendDoc({ users: { [b.address]: [1] }, id: 'after-leave', type: 1 });
    const notice = await a.nextDoc();
    expect(notice.text).toBe(`${GO_NOTICE_HEAD},"host":"${b.address}","offlineUsers":[1],"reason":"offline","msgId":"after-leave"}`);
  });
});
