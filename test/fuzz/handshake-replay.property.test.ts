/**
 * A captured handshake cannot be replayed, in either direction:
 *
 * - a node's HELLO and AUTH, recorded off the wire and sent again on a new
 *   connection, get a fresh CHALLENGE and `ERR_AUTH`; the node they were
 *   recorded from keeps its connection (it is not replaced) and its id;
 * - a relay's CHALLENGE and WELCOME, recorded and played back to a node by
 *   a fake relay, are refused by the node with `ERR_AUTH`.
 *
 * (test/integration/auth.test.ts covers wrong secrets and a relay without
 * one; none of its cases replays a recorded exchange.)
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ErrorCodes, RelayClient, type RelayError } from '../../src/index.js';
import { Features, FrameType, decodeControl, newNonce, nodeProof } from '../../src/protocol/index.js';
import { settle } from '../helpers/events.js';
import { FAST_CLIENT, cleanup, startServer } from '../helpers/harness.js';
import { RawPeer, startFakeRelay } from '../helpers/raw-peer.js';
import { authPayload, frame, helloPayload, validNodeIdArb, type HelloSpec } from './frames.js';

const SECRET = 'replay: correct horse battery staple';

const helloSpecArb = fc
  .record({
    nodeId: validNodeIdArb,
    features: fc
      .subarray([Features.FAILURE_NOTICES, Features.PRESENCE, Features.ACKS, Features.ONCE])
      .map((b) => b.reduce((x, y) => x | y, 0)),
    incarnation: fc.uint8Array({ minLength: 8, maxLength: 8 }),
  })
  .map(({ nodeId, features, incarnation }): HelloSpec => ({
    minVersion: 1,
    maxVersion: 1,
    nodeId: Buffer.from(nodeId),
    maxFrameBytes: 1 << 20,
    features,
    once: (features & Features.ONCE) !== 0 ? { incarnation: Buffer.from(incarnation), window: 1024 } : undefined,
    trailing: Buffer.alloc(0),
  }));

describe('a recorded handshake played again', () => {
  it('by another connection to the relay: a fresh challenge, ERR_AUTH, and the recorded node keeps its place', async () => {
    await fc.assert(
      fc.asyncProperty(helloSpecArb, fc.constantFrom('while connected' as const, 'after it left' as const), async (hello, when) => {
        try {
          const { port, server } = await startServer({ secret: SECRET });
          const nodeId = hello.nodeId.toString();
          // The genuine node, every byte it writes recorded.
          const genuine = await RawPeer.connect(port);
          const nonce = newNonce();
          const helloBytes = frame(helloPayload(hello, nonce));
          genuine.write(helloBytes);
          const challenge = await genuine.nextControl();
          if (challenge.type !== FrameType.CHALLENGE) throw new Error('expected a CHALLENGE');
          const authBytes = frame(authPayload(nodeProof(SECRET, challenge.nonce, nonce, nodeId)));
          genuine.write(authBytes);
          expect((await genuine.nextControl()).type).toBe(FrameType.WELCOME);
          if (when === 'after it left') {
            genuine.destroy();
            await genuine.waitClosed();
          }

          // The recording, played back.
          const replay = await RawPeer.connect(port);
          replay.write(helloBytes);
          const second = await replay.nextControl();
          expect(second.type).toBe(FrameType.CHALLENGE);
          if (second.type === FrameType.CHALLENGE) expect(second.nonce.equals(challenge.nonce)).toBe(false);
          replay.write(authBytes);
          const answer = await replay.nextControl(10_000);
          expect(answer.type).toBe(FrameType.ERROR);
          if (answer.type === FrameType.ERROR) expect(answer.code).toBe(ErrorCodes.AUTH);
          await replay.waitClosed();
          expect(replay.received.some((p) => p[0] === FrameType.WELCOME)).toBe(false);

          if (when === 'while connected') {
            // Not replaced: still connected, still served.
            expect(server.nodes().map((n) => n.nodeId)).toEqual([nodeId]);
            const before = genuine.received.length;
            genuine.write(frame(Buffer.of(FrameType.PING)));
            await genuine.until(() => genuine.received.slice(before).some((p) => p[0] === FrameType.PONG), 3_000, 'a PONG');
            expect(genuine.isClosed).toBe(false);
          } else {
            expect(server.nodes()).toEqual([]);
          }
          expect(server.stats().authFailures).toBe(1);
        } finally {
          await cleanup();
        }
      }),
      { numRuns: 20 },
    );
  }, 60_000);

  it("by a fake relay to a node: the relay's recorded proof does not fit the node's fresh nonce, ERR_AUTH", async () => {
    await fc.assert(
      fc.asyncProperty(fc.constantFrom('honest-replayed', 'im-1', 'x'), async (nodeId) => {
        try {
          // A recording of a genuine relay's CHALLENGE and WELCOME for this node id.
          const { port } = await startServer({ secret: SECRET });
          const recorder = await RawPeer.connect(port);
          await recorder.handshake(nodeId, SECRET);
          const [challengeBytes, welcomeBytes] = recorder.received;
          expect(decodeControl(challengeBytes!).type).toBe(FrameType.CHALLENGE);
          expect(decodeControl(welcomeBytes!).type).toBe(FrameType.WELCOME);
          recorder.destroy();

          // A fake relay that answers whatever the node says with the recording.
          const fake = await startFakeRelay((peer) => {
            void peer.nextFrame().then(() => {
              peer.write(frame(challengeBytes!));
              return peer.nextFrame().then(() => peer.write(frame(welcomeBytes!)));
            });
          });
          const client = new RelayClient({ ...FAST_CLIENT, url: fake.url, nodeId, secret: SECRET });
          client.on('error', () => {});
          const outcome = await settle(client.connect());
          await client.close();
          expect(outcome.status).toBe('rejected');
          expect((outcome as { reason: RelayError }).reason.code).toBe(ErrorCodes.AUTH);
        } finally {
          await cleanup();
        }
      }),
      { numRuns: 6 },
    );
  }, 60_000);
});
