import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayError, type RelayClient, type RelayServer } from '../../src/index.js';
import { encodeFrame, encodeFrameHeader } from '../../src/codec/index.js';
import { FrameType, Scratch, decodeControl, encodeControl, encodeRouteHeader, newNonce } from '../../src/protocol/index.js';
import { barrier, collect, type DeliveryCollector } from '../helpers/collector.js';
import { EventLog, waitForEvent } from '../helpers/events.js';
import { connectClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer, errorCodeOf } from '../helpers/raw-peer.js';

useRelayHarness();

const HELLO_TIMEOUT_MS = 200;

/** A ROUTE frame (length prefix included) for the given table and text. */
function routeFrame(table: Record<string, string[]>, text: string): Buffer {
  const scratch = new Scratch();
  const n = encodeRouteHeader(scratch, 0, 1, table);
  return encodeFrame(Buffer.concat([scratch.buf.subarray(0, n), Buffer.from(text)]));
}

function hello(nodeId: string, minVersion = 1, maxVersion = 1): Buffer {
  return encodeControl({ type: FrameType.HELLO, minVersion, maxVersion, nodeId, maxFrameBytes: 1 << 20, features: 0, nonce: newNonce() });
}

/** Two real nodes exchanging messages in the background, each send awaited, until stopped. */
class Traffic {
  sent = 0;
  private stopped = false;
  readonly running: Promise<void>;

  constructor(
    private readonly sender: RelayClient,
    readonly inbox: DeliveryCollector,
  ) {
    this.running = this.run();
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      const report = await this.sender.send({ b: ['u'] }, this.sent);
      expect(report).toEqual({ delivered: ['b'], offline: {} });
      this.sent++;
    }
  }

  /** Stops, then checks that every message arrived exactly once, in order. */
  async verify(): Promise<void> {
    this.stopped = true;
    await this.running;
    await barrier(this.sender, { b: this.inbox });
    expect(this.sent).toBeGreaterThan(0);
    expect(this.inbox.messages).toEqual(Array.from({ length: this.sent }, (_, i) => i));
  }
}

async function relayWithTraffic(): Promise<{ server: RelayServer; port: number; traffic: Traffic; errors: EventLog<[RelayError]> }> {
  // Binary-only: with legacy acceptance on, a connection that sends no hello is a legacy node.
  const { server, port, url } = await startServer({ helloTimeoutMs: HELLO_TIMEOUT_MS, legacy: false });
  const errors = new EventLog<[RelayError]>(server, 'error');
  const a = await connectClient(url, 'a');
  const b = collect(await connectClient(url, 'b'));
  return { server, port, traffic: new Traffic(a, b), errors };
}

/** Sends `bytes` from a fresh raw socket; resolves with the code of the ERROR frame it got back, once it is closed. */
async function attack(port: number, bytes: Buffer, before?: (peer: RawPeer) => Promise<void>): Promise<string> {
  const peer = await RawPeer.connect(port);
  if (before) await before(peer);
  peer.write(bytes);
  const code = errorCodeOf(await peer.nextControlOfType(FrameType.ERROR));
  await peer.waitClosed();
  return code;
}

describe('hostile peers', () => {
  it('each gets an ERROR frame with the right code and is closed, while two real nodes keep exchanging messages', async () => {
    const { server, port, traffic, errors } = await relayWithTraffic();

    const cases: Array<[string, Promise<string>, string]> = [
      // a frame whose first byte is not a frame type
      ['garbage bytes', attack(port, Buffer.from([5, 0, 0, 0, 0xde, 0xad, 0xbe, 0xef, 0x00])), ErrorCodes.PROTOCOL],
      ['an empty frame', attack(port, encodeFrameHeader(0)), ErrorCodes.PROTOCOL],
      ['a truncated hello', attack(port, encodeFrame(Buffer.of(FrameType.HELLO, 1, 1, 3, 0x61))), ErrorCodes.PROTOCOL],
      ['an oversized length prefix', attack(port, Buffer.from([0xff, 0xff, 0xff, 0x7f])), ErrorCodes.FRAME_TOO_LARGE],
      ['an HTTP request', attack(port, Buffer.from('GET / HTTP/1.1\r\nHost: relay\r\n\r\n')), ErrorCodes.FRAME_TOO_LARGE],
      ['a route before hello', attack(port, routeFrame({ b: ['u'] }, 'sneaky')), ErrorCodes.PROTOCOL],
      ['no common protocol version', attack(port, hello('future', 7, 9)), ErrorCodes.VERSION],
    ];
    const codes = await Promise.all(cases.map(([, p]) => p));
    cases.forEach(([name, , expected], i) => expect(codes[i], name).toBe(expected));

    await traffic.verify();
    expect(server.stats().protocolErrors).toBe(7);
    expect(errors.firsts.map((e) => e.code).sort()).toEqual(cases.map(([, , c]) => c).sort());
    expect(server.stats().pendingConnections).toBe(0);
    expect(
      server
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['a', 'b']);
    // none of the frames a hostile peer sent was routed
    expect(traffic.inbox.messages.every((m) => typeof m === 'number')).toBe(true);
  });

  it('a silent connection that never says hello gets ERR_TIMEOUT after helloTimeoutMs, and nothing before it', async () => {
    const { server, port, traffic, errors } = await relayWithTraffic();
    const timedOut = waitForEvent<[RelayError]>(server, 'error');
    const peer = await RawPeer.connect(port);
    const first = await peer.nextFrame(2_000);
    // The relay never writes first: the only bytes it sent are the ERROR at the deadline.
    expect(peer.firstByteAt! - peer.openedAt).toBeGreaterThanOrEqual(HELLO_TIMEOUT_MS - 10);
    expect(peer.bytesReceived).toBe(first.length + 4);
    expect(errorCodeOf(decodeControl(first))).toBe(ErrorCodes.TIMEOUT);
    await peer.waitClosed();
    expect(peer.received).toHaveLength(1);
    const [err] = await timedOut;
    expect(err.code).toBe(ErrorCodes.TIMEOUT);
    await traffic.verify();
    expect(errors.count).toBe(1);
    expect(server.stats().pendingConnections).toBe(0);
  });

  it('a peer that sends half a hello and stalls also times out', async () => {
    const { port, traffic } = await relayWithTraffic();
    const peer = await RawPeer.connect(port);
    const h = hello('slow');
    peer.write(h.subarray(0, 10));
    const code = errorCodeOf(await peer.nextControlOfType(FrameType.ERROR, 2_000));
    expect(code).toBe(ErrorCodes.TIMEOUT);
    expect(peer.firstByteAt! - peer.openedAt).toBeGreaterThanOrEqual(HELLO_TIMEOUT_MS - 10);
    await peer.waitClosed();
    await traffic.verify();
  });

  it('a node that turns hostile after its handshake is closed with the right code and taken out of routing', async () => {
    const { server, port, traffic, errors } = await relayWithTraffic();
    const malformedRoute = encodeFrame(Buffer.of(FrameType.ROUTE, 0, 1, 0, 0, 0, 1, 0, 1, 0x62, 0xe8, 0x03, 0, 0, 1, 0x61));
    const cases: Array<[string, Buffer, string]> = [
      ['a route whose user count is larger than the frame', malformedRoute, ErrorCodes.PROTOCOL],
      ['a second hello', hello('again'), ErrorCodes.PROTOCOL],
      ['a report (relay-to-node only)', encodeFrame(Buffer.of(FrameType.REPORT, 1, 0, 0, 0, 0, 0, 0, 0, 0)), ErrorCodes.PROTOCOL],
      ['an empty frame', encodeFrameHeader(0), ErrorCodes.PROTOCOL],
      ['an oversized length prefix', Buffer.from([0xff, 0xff, 0xff, 0x7f]), ErrorCodes.FRAME_TOO_LARGE],
    ];
    const downs = new EventLog(server, 'node:down');
    let n = 0;
    const codes = await Promise.all(
      cases.map(([, bytes]) => attack(port, bytes, async (peer) => void (await peer.handshake(`evil-${n++}`)))),
    );
    cases.forEach(([name, , expected], i) => expect(codes[i], name).toBe(expected));
    expect(downs.count).toBe(cases.length);
    await traffic.verify();
    expect(server.stats().protocolErrors).toBe(cases.length);
    expect(errors.count).toBe(cases.length);
    expect(
      server
        .nodes()
        .map((x) => x.nodeId)
        .sort(),
    ).toEqual(['a', 'b']);
  });

  it('the ERROR frame reaches a peer that keeps sending after it', async () => {
    const { port, traffic } = await relayWithTraffic();
    const peer = await RawPeer.connect(port);
    peer.write(Buffer.from([1, 0, 0, 0, 0x01]));
    // keep writing garbage while the relay closes the connection
    const flood = Buffer.alloc(16 * 1024, 0x41);
    const pump = setInterval(() => {
      if (!peer.isClosed) peer.write(flood);
    }, 1);
    try {
      const code = errorCodeOf(await peer.nextControlOfType(FrameType.ERROR));
      expect(code).toBe(ErrorCodes.PROTOCOL);
    } finally {
      clearInterval(pump);
    }
    await traffic.verify();
  });
});
