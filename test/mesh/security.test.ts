import { randomBytes } from 'node:crypto';
import { connect, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { FrameDecoder, encodeFrame, protocol, type RelayClient } from '../../src/index.js';
import {
  MESH_VERSION,
  MeshHelloFlags,
  decodeMeshHello,
  encodeMeshAuth,
  encodeMeshHello,
  meshProof,
  type MeshHello,
} from '../../src/mesh/mesh-handshake.js';
import { collectN } from '../helpers/collector.js';
import { waitForEvent, withTimeout } from '../helpers/events.js';
import { track, useRelayHarness } from '../helpers/harness.js';
import { endpointOf, linkedTo, meshNode, startMesh } from '../helpers/mesh.js';

useRelayHarness();

const SECRET = 'mesh test secret';

/**
 * A hand-made mesh peer on a raw socket: it dials a node and runs the
 * handshake itself (with the right secret, or a wrong one), then writes
 * whatever frames a test wants, well-formed or not.
 */
class RawPeer {
  readonly socket: Socket;
  private readonly decoder = new FrameDecoder({ maxFrameBytes: 1 << 20 });
  private readonly frames: Buffer[] = [];
  private waiters: Array<() => void> = [];
  readonly closed: Promise<void>;
  readonly hello: MeshHello;
  peer: MeshHello | undefined;

  constructor(
    url: string,
    readonly id: string,
    private readonly secret: string | undefined,
    to: string,
  ) {
    const { host, port } = endpointOf(url);
    this.socket = connect(port, host);
    this.socket.on('error', () => {});
    this.closed = new Promise((resolve) => this.socket.on('close', () => resolve()));
    this.socket.on('data', (chunk) => {
      this.decoder.push(chunk);
      for (let f = this.decoder.next(); f !== undefined; f = this.decoder.next()) this.frames.push(Buffer.from(f));
      for (const wake of this.waiters.splice(0)) wake();
    });
    track(`raw peer ${id}`, () => this.socket.destroy());
    this.hello = {
      version: MESH_VERSION,
      flags: secret === undefined ? 0 : MeshHelloFlags.SECRET,
      maxFrameBytes: 1 << 20,
      window: 64,
      heartbeatMs: 60_000,
      incarnation: randomBytes(8),
      nonce: randomBytes(16),
      from: id,
      to,
    };
  }

  write(payload: Uint8Array): void {
    this.socket.write(encodeFrame(payload));
  }

  /** The next frame from the node; rejects when the connection closes first. */
  async next(): Promise<Buffer> {
    while (this.frames.length === 0) {
      if (this.socket.destroyed) throw new Error(`${this.id}: closed before a frame came`);
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        this.socket.once('close', resolve);
      });
    }
    return this.frames.shift()!;
  }

  /** Sends the hello and proof, reads the node's; resolves once the node's proof is in. */
  async handshake(): Promise<void> {
    this.write(encodeMeshHello(this.hello));
    this.peer = decodeMeshHello(await this.next());
    if (this.secret !== undefined) this.write(encodeMeshAuth(meshProof(this.secret, this.hello, this.peer)));
    if (this.secret !== undefined) await this.next();
  }
}

/** The codes of the error events a node emits, and the first one to come. */
function errorsOf<M>(node: RelayClient<M>): { codes: string[]; first: Promise<string> } {
  const codes: string[] = [];
  const first = new Promise<string>((resolve) =>
    node.on('error', (e: { code: string }) => {
      codes.push(e.code);
      resolve(e.code);
    }),
  );
  return { codes, first: withTimeout(first, 3_000, `an error event from ${node.nodeId}`) };
}

/** Resolves once `count` of `peers` are closed. */
function closedCount(peers: RawPeer[], count: number): Promise<void> {
  let closed = 0;
  return new Promise((resolve) => {
    for (const peer of peers) void peer.closed.then(() => ++closed === count && resolve());
  });
}

describe('mesh security', () => {
  it('never links a peer with the wrong secret, and never delivers to it', async () => {
    const a = meshNode('im-1');
    const rogue = meshNode('im-2', { secret: 'not the secret' });
    await Promise.all([a.connect(), rogue.connect()]);
    const errors = errorsOf(a);
    const rogueGot = collectN(rogue, 1, 1_500);
    a.mesh!.setPeers({ 'im-2': rogue.mesh!.address! });
    rogue.mesh!.setPeers({ 'im-1': a.mesh!.address! });
    expect(await errors.first).toBe('ERR_AUTH');

    const report = await a.send({ 'im-2': ['u'] }, 'secret stuff');
    expect(report.reasons).toEqual({ 'im-2': 'offline' });
    await expect(rogueGot).rejects.toThrow(/not met/);
    expect(a.mesh!.list()).toEqual([expect.objectContaining({ id: 'im-2', linked: false })]);
    expect(rogue.mesh!.list()).toEqual([expect.objectContaining({ id: 'im-1', linked: false })]);
  });

  it('refuses a peer without a secret when the node has one, and the other way round', async () => {
    const a = meshNode('im-1');
    const bare = meshNode('im-2', { secret: undefined });
    await Promise.all([a.connect(), bare.connect()]);
    const errorsA = errorsOf(a);
    const errorsBare = errorsOf(bare);
    a.mesh!.setPeers({ 'im-2': bare.mesh!.address! });
    expect(await errorsA.first).toBe('ERR_AUTH');
    expect(await errorsBare.first).toBe('ERR_AUTH');
  });

  it('cuts a raw connection that sends garbage, a forged proof, or an oversized hello; honest peers keep working', async () => {
    const [a, b] = await startMesh(['im-1', 'im-2']);
    const address = a!.mesh!.address!;

    const garbage = new RawPeer(address, 'x', SECRET, 'im-1');
    garbage.write(Buffer.from('GET / HTTP/1.1\r\n\r\n'));
    const oversized = new RawPeer(address, 'y', SECRET, 'im-1');
    oversized.socket.write(Buffer.from([0xff, 0xff, 0xff, 0x00]));
    const forged = new RawPeer(address, 'im-9', 'guessed secret', 'im-1');
    forged.write(encodeMeshHello(forged.hello));
    forged.peer = decodeMeshHello(await forged.next());
    forged.write(encodeMeshAuth(meshProof('guessed secret', forged.hello, forged.peer)));
    const reflected = new RawPeer(address, 'im-1', SECRET, 'im-1');
    reflected.write(encodeMeshHello(reflected.hello));

    await withTimeout(Promise.all([garbage.closed, oversized.closed, forged.closed, reflected.closed]), 3_000, 'hostile peers closed');
    const atB = collectN(b!, 1);
    expect((await a!.send({ 'im-2': ['u'] }, 'still fine')).delivered).toEqual(['im-2']);
    expect((await atB)[0]!.message).toBe('still fine');
  });

  it('cuts a peer holding the secret that writes in another node’s name, past its window, or too many users', async () => {
    const [a, b] = await startMesh(['im-1', 'im-2'], { deliveryHighWaterMark: 4 });
    const address = a!.mesh!.address!;
    const stamp = (seq: number): { incarnation: Buffer; seq: number } => ({ incarnation: Buffer.alloc(8, 7), seq });

    const impostor = new RawPeer(address, 'im-3', SECRET, 'im-1');
    await impostor.handshake();
    impostor.write(protocol.encodeDeliver('im-2', ['victim'], protocol.PayloadKind.JSON, Buffer.from('"forged"'), stamp(1)));

    const flooder = new RawPeer(address, 'im-4', SECRET, 'im-1');
    await flooder.handshake();
    for (let i = 1; i <= 6; i++)
      flooder.write(protocol.encodeDeliver('im-4', ['u'], protocol.PayloadKind.JSON, Buffer.from(String(i)), stamp(i)));

    const unstamped = new RawPeer(address, 'im-5', SECRET, 'im-1');
    await unstamped.handshake();
    unstamped.write(protocol.encodeDeliver('im-5', ['u'], protocol.PayloadKind.JSON, Buffer.from('1')));

    await withTimeout(Promise.all([impostor.closed, flooder.closed, unstamped.closed]), 3_000, 'misbehaving peers closed');
    // What the flooder wrote within its window may reach the application; nothing forged, nothing past it.
    const messages: unknown[] = [];
    const read = (async () => {
      for await (const d of a!) {
        messages.push(d.message);
        if (d.message === 'honest') break;
      }
    })();
    expect((await b!.send({ 'im-1': ['u'] }, 'honest')).delivered).toEqual(['im-1']);
    await withTimeout(read, 3_000, 'honest message read');
    expect(messages).not.toContain('forged');
    expect(messages.filter((m) => typeof m === 'number').length).toBeLessThanOrEqual(4);
  });

  it('turns an address away for a while after repeated failed handshakes', async () => {
    const a = meshNode('im-1');
    await a.connect();
    const address = a.mesh!.address!;
    // Guesses one after the other: the first few are answered (a refusal each), then the address is turned away.
    // (Each failure past the third turns the address away for twice as long: 100 ms, 200 ms, ... so
    // however slow this machine, a guess soon comes within the time it is turned away.)
    let answered = 0;
    let refused = false;
    for (let i = 0; i < 10 && !refused; i++) {
      const guess = new RawPeer(address, `guess-${i}`, `guess ${i}`, 'im-1');
      guess.write(encodeMeshHello(guess.hello));
      const hello = await guess.next().catch(() => undefined);
      refused = hello === undefined;
      if (refused) break;
      answered++;
      guess.write(encodeMeshAuth(meshProof(`guess ${i}`, guess.hello, decodeMeshHello(hello!))));
      await guess.closed;
    }
    // The first three are free; one was then closed on arrival, before its hello was answered.
    expect(refused).toBe(true);
    expect(answered).toBeGreaterThanOrEqual(4);
    expect(a.mesh!.stats()!.authFailures).toBe(answered);
    expect(a.mesh!.stats()!.connectionsRefused).toBe(1);
  });

  it('cuts a peer announcing more users than maxUsersPerNode', async () => {
    const a = meshNode('im-1', { mesh: { maxUsersPerNode: 100 } });
    const b = meshNode('im-2');
    await Promise.all([a.connect(), b.connect()]);
    a.mesh!.setPeers({ 'im-2': b.mesh!.address! });
    await Promise.all([linkedTo(a, ['im-2']), linkedTo(b, ['im-1'])]);
    const errors = errorsOf(a);
    const down = waitForEvent<[string, { code: string }]>(a.mesh!, 'peer:down', 3_000);
    b.online(Array.from({ length: 101 }, (_, i) => `u${i}`));
    const [, error] = await down;
    expect(error.code).toBe('ERR_LIMIT');
    expect(await errors.first).toBe('ERR_LIMIT');
  });

  it('closes connections past maxPendingConnections on arrival and still links an honest peer', async () => {
    const a = meshNode('im-1', { mesh: { maxPendingConnections: 4 } });
    const b = meshNode('im-2');
    await Promise.all([a.connect(), b.connect()]);
    const idle = Array.from({ length: 8 }, (_, i) => new RawPeer(a.mesh!.address!, `idle-${i}`, SECRET, 'im-1'));
    // Four are held (they never say hello); the others are closed on arrival, long before the handshake bound.
    const started = Date.now();
    await withTimeout(closedCount(idle, 4), 3_000, 'four refused');
    expect(Date.now() - started).toBeLessThan(500);
    // The idle ones are cut at the handshake bound; then an honest peer links.
    b.mesh!.setPeers({ 'im-1': a.mesh!.address! });
    await Promise.all([linkedTo(a, ['im-2'], 8_000), linkedTo(b, ['im-1'], 8_000)]);
  });
});
