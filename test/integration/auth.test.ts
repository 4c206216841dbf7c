import { describe, expect, it } from 'vitest';
import { AuthError, ErrorCodes, RelayError, type RelayClient } from '../../src/index.js';
import { FrameType } from '../../src/protocol/index.js';
import { barrier, collect } from '../helpers/collector.js';
import { EventLog, codeOf, settle } from '../helpers/events.js';
import { connectClient, createClient, startServer, useRelayHarness } from '../helpers/harness.js';
import { RawPeer, startFakeRelay, welcomeFrame } from '../helpers/raw-peer.js';

useRelayHarness();

const SECRET = 'correct horse battery staple';

/** Connects `client` expecting a rejection; returns the error and how many reconnects were attempted. */
async function refused(client: RelayClient): Promise<{ error: RelayError; reconnects: number; errors: number }> {
  const reconnecting = new EventLog(client, 'reconnecting');
  const errors = new EventLog(client, 'error');
  const outcome = await settle(client.connect());
  expect(outcome.status).toBe('rejected');
  return { error: (outcome as { reason: RelayError }).reason, reconnects: reconnecting.count, errors: errors.count };
}

describe('shared-secret auth', () => {
  it('a client with the right secret connects and routes', async () => {
    const { url, server } = await startServer({ secret: SECRET });
    const a = await connectClient(url, 'a', { secret: SECRET });
    const b = collect(await connectClient(url, 'b', { secret: Buffer.from(SECRET) }));
    expect(await a.send({ b: ['u'] }, 'hi')).toEqual({ delivered: ['b'], offline: {} });
    await barrier(a, { b });
    expect(b.messages).toEqual(['hi']);
    expect(server.stats().authFailures).toBe(0);
  });

  it('a rotated list of secrets accepts a node holding any one of them', async () => {
    const { url } = await startServer({ secret: ['new-secret', Buffer.from('old-secret')] });
    const onNew = await connectClient(url, 'n', { secret: 'new-secret' });
    const onOld = collect(await connectClient(url, 'o', { secret: 'old-secret' }));
    expect(await onNew.send({ o: ['u'] }, 'across secrets')).toEqual({ delivered: ['o'], offline: {} });
    await barrier(onNew, { o: onOld });
    expect(onOld.messages).toEqual(['across secrets']);
    const { error } = await refused(createClient(url, 'x', { secret: 'older-secret' }));
    expect(error.code).toBe(ErrorCodes.AUTH);
  });

  it('a wrong secret rejects connect() with AuthError and is never retried; the relay and other nodes carry on', async () => {
    const { url, server } = await startServer({ secret: SECRET });
    const a = await connectClient(url, 'a', { secret: SECRET });
    const b = collect(await connectClient(url, 'b', { secret: SECRET }));
    const serverErrors = new EventLog<[RelayError]>(server, 'error');

    const intruder = createClient(url, 'b', { secret: 'wrong' });
    const { error, reconnects, errors } = await refused(intruder);
    expect(error).toBeInstanceOf(AuthError);
    expect(error.code).toBe(ErrorCodes.AUTH);
    expect(reconnects).toBe(0);
    expect(errors).toBe(1);
    await expect(intruder.send({ a: ['x'] }, 'x')).rejects.toBeInstanceOf(AuthError);
    await expect(intruder.connect()).rejects.toBe(error);
    const loop = collect(intruder);
    await loop.waitForEnd();
    expect(loop.error).toBe(error);

    expect(server.stats().authFailures).toBe(1);
    expect(serverErrors.firsts.map((e) => e.code)).toEqual([ErrorCodes.AUTH]);
    // The intruder claimed node id 'b' but never got in: the real 'b' is untouched.
    expect(
      server
        .nodes()
        .map((n) => n.nodeId)
        .sort(),
    ).toEqual(['a', 'b']);
    expect(await a.send({ b: ['u'] }, 'still routing')).toEqual({ delivered: ['b'], offline: {} });
    await barrier(a, { b });
    expect(b.messages).toEqual(['still routing']);
  });

  it('a missing secret rejects connect() with ERR_AUTH, without retrying', async () => {
    const { url, server } = await startServer({ secret: SECRET });
    const a = await connectClient(url, 'a', { secret: SECRET });
    const { error, reconnects } = await refused(createClient(url, 'nosecret'));
    expect(error).toBeInstanceOf(AuthError);
    expect(reconnects).toBe(0);
    // "Delivered" means a's own loop took it: it runs.
    collect(a);
    expect(await a.send({ a: ['self'] }, 'ok')).toEqual({ delivered: ['a'], offline: {} });
    expect(server.stats().nodes).toBe(1);
  });

  it('the relay never sees the secret: a node proves it with an HMAC over nonces', async () => {
    const { port } = await startServer({ secret: SECRET });
    const peer = await RawPeer.connect(port);
    await peer.handshake('raw', SECRET);
    const challenge = peer.received[0]!;
    expect(challenge[0]).toBe(FrameType.CHALLENGE);
    expect(Buffer.concat(peer.received).includes(Buffer.from(SECRET))).toBe(false);
  });

  it('a raw peer with a wrong proof gets an ERR_AUTH ERROR frame and is closed', async () => {
    const { port, server } = await startServer({ secret: SECRET });
    const peer = await RawPeer.connect(port);
    await expect(peer.handshake('raw', 'wrong')).rejects.toThrow(/expected WELCOME/);
    const error = peer.received.at(-1)!;
    expect(error[0]).toBe(FrameType.ERROR);
    await peer.waitClosed();
    expect(server.stats().authFailures).toBe(1);
  });

  it('a client with a secret refuses a relay that cannot prove it holds the secret', async () => {
    const fake = await startFakeRelay((peer) => {
      void peer.nextFrame().then(() => peer.write(welcomeFrame(10_000)));
    });
    const client = createClient(fake.url, 'careful', { secret: SECRET });
    const { error, reconnects } = await refused(client);
    expect(error).toBeInstanceOf(AuthError);
    expect(reconnects).toBe(0);
    expect(fake.peers).toHaveLength(1);
  });

  it('a client with a secret refuses a real relay that has none (no challenge, no proof)', async () => {
    const { url } = await startServer();
    const { error } = await refused(createClient(url, 'careful', { secret: SECRET }));
    expect(codeOf(error)).toBe(ErrorCodes.AUTH);
  });

  it('a failed handshake does not disturb a node connecting at the same time', async () => {
    const { url } = await startServer({ secret: SECRET });
    const good = createClient(url, 'good', { secret: SECRET });
    const bad = createClient(url, 'bad', { secret: 'nope' });
    const [g, b] = await Promise.all([settle(good.connect()), settle(bad.connect())]);
    expect(g.status).toBe('fulfilled');
    expect(b.status).toBe('rejected');
    expect(good.connected).toBe(true);
    const inbox = collect(good);
    expect(await good.send({ good: ['me'] }, 'fine')).toEqual({ delivered: ['good'], offline: {} });
    await barrier(good, { good: inbox });
    expect(inbox.messages).toEqual(['fine']);
  });
});
