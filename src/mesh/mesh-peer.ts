import type { FrameWriter } from '../codec/frame-writer.js';
import { DeliveryWindow } from '../server/delivery-window.js';
import type { HeldDelivery } from '../server/held-delivery.js';
import type { RouteTarget } from '../server/route-endpoints.js';
import type { RelayStats } from '../server/stats.js';
import { InboundSettlements } from './inbound-settlements.js';
import type { PeerConnection } from './peer-connection.js';

/**
 * Another node of the mesh while a link to it is up: what routing writes to
 * (a {@link RouteTarget}, exactly like a node's session on a relay) and what
 * this node owes it for what came in.
 *
 * - Out: DELIVERs are numbered on the link and kept (by reference to the
 *   chunks they were flushed in) until the peer's CONSUMED says its
 *   application took them; beyond the window the peer granted they wait
 *   here, bounded by `maxOutboundBytes` like a relay's.
 * - In: {@link InboundSettlements} numbers the peer's DELIVERs and answers
 *   them as this node's application takes them.
 *
 * One object per link: when the link drops, what it had not settled is
 * parked (see `Parking`) and written first on the next link.
 */
export class MeshPeer implements RouteTarget {
  readonly idBytes: Uint8Array;
  readonly dialect = 'binary' as const;
  readonly maxFrameBytes: number;
  readonly window: DeliveryWindow;
  readonly inbound: InboundSettlements;

  constructor(
    readonly id: string,
    readonly conn: PeerConnection,
    private readonly stats: RelayStats,
    /** Deliveries this node lets the peer write beyond those its application settled. */
    grant: number,
    /** Called with the send seq of each delivery from the peer given up unseen. */
    gaveUp: (seq: number) => void,
  ) {
    this.idBytes = Buffer.from(id, 'utf8');
    const hello = conn.peer!;
    this.maxFrameBytes = hello.maxFrameBytes;
    this.window = new DeliveryWindow(this, hello.window);
    this.inbound = new InboundSettlements(conn, grant, gaveUp);
    conn.onFlush = (parts) => this.window.retain(parts);
    conn.beforeFlush = () => this.inbound.seal();
  }

  /** The node id as a nodeId for the window's reports. */
  get nodeId(): string {
    return this.id;
  }

  get writer(): FrameWriter {
    return this.conn.writer;
  }

  get outboundBytes(): number {
    return this.conn.pendingBytes + this.window.heldBytes;
  }

  touch(): void {
    this.conn.touch();
  }

  overflowed(): void {
    this.stats.overflows++;
  }

  /** The link is gone: what it had not settled, in order, to be parked; nothing more is owed on it. */
  detach(): HeldDelivery[] {
    this.inbound.close();
    this.conn.onFlush = undefined;
    this.conn.beforeFlush = undefined;
    return this.window.park();
  }
}
