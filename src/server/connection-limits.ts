import { plainIp } from '../legacy/go-address.js';

/**
 * Counts the connections that have not proved who they are (before their
 * hello, and legacy nodes, which never do), in total and per address, so
 * that opening sockets is not a way to exhaust the relay.
 */
export class ConnectionLimits {
  private readonly perAddress = new Map<string, number>();
  private pendingCount = 0;

  constructor(
    private readonly maxPending: number,
    private readonly maxPerAddress: number,
  ) {}

  /** Connections not past their hello. */
  get pending(): number {
    return this.pendingCount;
  }

  /**
   * Takes a pending slot for a new connection from `remoteAddress`; returns
   * why it is refused, or `undefined` when it is taken.
   */
  open(remoteAddress: string | undefined): string | undefined {
    if (this.pendingCount >= this.maxPending) return `the relay holds its limit of ${this.maxPending} connections not past their hello`;
    const ip = key(remoteAddress);
    const count = this.perAddress.get(ip) ?? 0;
    if (count >= this.maxPerAddress) return `${ip} holds its limit of ${this.maxPerAddress} unauthenticated connections`;
    this.perAddress.set(ip, count + 1);
    this.pendingCount++;
    return undefined;
  }

  /** The connection passed its hello as a binary node: it no longer counts against its address. */
  authenticated(remoteAddress: string | undefined): void {
    this.pendingCount--;
    this.release(remoteAddress);
  }

  /** The connection was confirmed as a legacy node: no longer pending, still unauthenticated. */
  legacy(): void {
    this.pendingCount--;
  }

  /** A connection that still counted against its address (and maybe the pending total) closed. */
  closed(remoteAddress: string | undefined, pending: boolean): void {
    if (pending) this.pendingCount--;
    this.release(remoteAddress);
  }

  private release(remoteAddress: string | undefined): void {
    const ip = key(remoteAddress);
    const count = this.perAddress.get(ip);
    if (count === undefined) return;
    if (count <= 1) this.perAddress.delete(ip);
    else this.perAddress.set(ip, count - 1);
  }
}

function key(remoteAddress: string | undefined): string {
  return remoteAddress ? plainIp(remoteAddress) : '';
}
