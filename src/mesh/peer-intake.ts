import { ProtocolError, RelayError, errorFromCode } from '../errors.js';
import {
  DeliverSpans,
  FailureReason,
  FrameType,
  INCARNATION_BYTES,
  decodeConsumed,
  decodeControl,
  encodeControl,
  scanDeliver,
} from '../protocol/index.js';
import { hostKey } from '../server/host-index.js';
import type { RelayStats } from '../server/stats.js';
import { GivenUp } from './given-up.js';
import type { LocalInbox } from './local-inbox.js';
import type { MeshDirectory } from './mesh-directory.js';
import type { MeshPeer } from './mesh-peer.js';

/**
 * What comes in on a mesh link once it is up: DELIVERs for this node's
 * application (checked, numbered, and written to the local inbox within the
 * client's window), CONSUMED (the peer's word on what this node wrote to
 * it), PRESENCE (the peer's users), PING/PONG, GOODBYE and ERROR. Anything
 * else, or anything malformed, closes that link alone.
 */
export class PeerIntake {
  private readonly spans = new DeliverSpans();
  /** By peer id, across its links: its sends this node gave up unseen. */
  private readonly givenUp = new Map<string, GivenUp>();

  constructor(
    private readonly nodeId: string,
    private readonly inbox: LocalInbox,
    private readonly directory: MeshDirectory,
    private readonly stats: RelayStats,
    private readonly maxOutboundBytes: number,
    private readonly warning: (error: RelayError) => void,
  ) {}

  /** The sends of peer `id` given up here (forgotten when `incarnation` is new: the peer restarted). */
  givenUpFrom(id: string, incarnation?: Buffer): GivenUp {
    let givenUp = this.givenUp.get(id);
    if (givenUp === undefined) this.givenUp.set(id, (givenUp = new GivenUp()));
    if (incarnation !== undefined) givenUp.from(incarnation);
    return givenUp;
  }

  /** A frame from `peer` on its link, at `[start, end)` of `buf`; a peer that breaks the protocol is cut off. */
  frame(peer: MeshPeer, buf: Buffer, start: number, end: number): void {
    const conn = peer.conn;
    try {
      switch (buf[start]) {
        case FrameType.DELIVER:
          this.deliver(peer, buf, start, end);
          return;
        case FrameType.CONSUMED:
          peer.window.consumed(decodeConsumed(buf, start, end));
          return;
        case FrameType.PRESENCE:
          this.directory.apply(hostKey(peer.id), buf.subarray(start, end));
          return;
        case FrameType.PING:
          conn.writer.appendEncoded(PONG);
          conn.touch();
          return;
        case FrameType.PONG:
          return;
        case FrameType.GOODBYE:
          conn.leaving = true;
          return;
        case FrameType.ERROR: {
          const control = decodeControl(buf.subarray(start, end));
          if (control.type === FrameType.ERROR) conn.fail(errorFromCode(control.code, `peer ${peer.id}: ${control.message}`));
          return;
        }
        default:
          throw new ProtocolError(`unexpected frame type 0x${(buf[start] ?? 0).toString(16)} on a mesh link`);
      }
    } catch (err) {
      const error = err instanceof RelayError ? err : new ProtocolError(String(err));
      this.stats.protocolErrors++;
      this.warning(error);
      conn.end(error);
    }
  }

  /**
   * A DELIVER from a peer for this node's application. A peer may only send
   * its own messages, stamped (so that a resend is recognised), within the
   * window this node granted.
   */
  private deliver(peer: MeshPeer, buf: Buffer, start: number, end: number): void {
    const spans = this.spans;
    scanDeliver(buf, spans, start, end);
    if (spans.stampStart < 0) throw new ProtocolError(`peer ${peer.id} sent an unstamped delivery`);
    const origin = peer.idBytes;
    if (
      spans.originEnd - spans.originStart !== origin.length ||
      buf.compare(origin, 0, origin.length, spans.originStart, spans.originEnd) !== 0
    ) {
      throw new ProtocolError(`peer ${peer.id} sent a delivery in another node's name`);
    }
    const stampAt = spans.stampStart;
    const seq = buf.readUInt32LE(stampAt + INCARNATION_BYTES);
    const n = peer.inbound.next(seq);
    if (this.givenUpFrom(peer.id).has(buf, stampAt, seq)) {
      // Sent again after a link dropped: it was reported not taken, and stays so.
      peer.inbound.lost(n, this.nodeId, FailureReason.OVERFLOW, () => []);
      return;
    }
    const inbox = this.inbox;
    if (inbox.outboundBytes > this.maxOutboundBytes) {
      // The application here is too far behind: the sender hears `overflow`.
      this.stats.overflows++;
      peer.inbound.lost(n, this.nodeId, FailureReason.OVERFLOW, () => []);
      return;
    }
    inbox.window.appendFrame(buf.subarray(start, end), peer.inbound, n, Date.now());
    this.stats.deliveries++;
    inbox.touch();
  }
}

const PONG = encodeControl({ type: FrameType.PONG });
