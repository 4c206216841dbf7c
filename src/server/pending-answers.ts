import { ReportFlags, RouteFlags, encodeReport, type FailedHost, type FailureReason } from '../protocol/index.js';
import { countUndelivered, type RelayStats } from './stats.js';

/** What a deferred answer needs from the sender's session. */
export interface AnswerSink {
  /** True while the sender can still be answered. */
  readonly ready: boolean;
  /** The send `seq` was fully delivered and asked for a report: an ACK run. */
  acknowledge(seq: number): void;
  /** A REPORT payload for the sender. */
  report(payload: Buffer): void;
}

/** The two kinds of send a node makes: by host (ROUTE) or by user (SEND_USERS). */
export const SendKind = { ROUTE: 0, USERS: 1 } as const;
export type SendKind = (typeof SendKind)[keyof typeof SendKind];

/** What a send that failed somewhere keeps until it is answered. */
interface Outcome {
  failed: FailedHost[];
  /** SEND_USERS only: the nodes written to; the ones not failed are the delivered. */
  hosts: string[] | undefined;
}

const INITIAL = 64;

/**
 * One sender's sends whose answer waits for their receivers' applications
 * (ONCE nodes), answered strictly in send order: a send answered early waits
 * for the ones before it, so the node reads every answer in order.
 *
 * The bookkeeping is a ring of typed arrays indexed by a per-sender counter:
 * a fully delivered send costs no object. Only a send with a failure (or a
 * SEND_USERS, whose report lists nodes) gets an {@link Outcome}.
 */
export class PendingAnswers {
  private mask = INITIAL - 1;
  private seqs = new Uint32Array(INITIAL);
  private flags = new Uint8Array(INITIAL);
  private kinds = new Uint8Array(INITIAL);
  /** Deliveries still waiting for a receiver's word; 0x8000_0000 set while the send is still being routed. */
  private remaining = new Uint32Array(INITIAL);
  private outcomes: Array<Outcome | undefined> = new Array<Outcome | undefined>(INITIAL);
  private head = 0;
  private tail = 0;

  constructor(
    private readonly sink: AnswerSink,
    /** Where users given up after routing (see {@link lost}) are counted; routing counts its own failures. */
    private readonly stats?: RelayStats,
  ) {}

  /** Sends waiting for their answer. */
  get size(): number {
    return (this.tail - this.head) >>> 0;
  }

  /**
   * Opens the answer of send `seq`; returns its ticket. Deliveries are added
   * with {@link expect} while it is routed; {@link close} ends routing.
   */
  open(seq: number, flags: number, kind: SendKind): number {
    if (this.size > this.mask) this.grow();
    const ticket = this.tail;
    const i = ticket & this.mask;
    this.seqs[i] = seq;
    this.flags[i] = flags;
    this.kinds[i] = kind;
    this.remaining[i] = 0x8000_0000;
    this.outcomes[i] = undefined;
    this.tail = (this.tail + 1) >>> 0;
    return ticket;
  }

  /** One more delivery of `ticket` waits for a receiver's word. */
  expect(ticket: number): void {
    this.remaining[ticket & this.mask]!++;
  }

  /** SEND_USERS: `host` was written to (delivered unless it fails later). */
  wrote(ticket: number, host: string): void {
    (this.outcome(ticket).hosts ??= []).push(host);
  }

  /** `host` did not take `users`, for `reason` (now, or when a receiver gave up). */
  fail(ticket: number, host: string, reason: FailureReason, users: string[]): void {
    this.outcome(ticket).failed.push({ host, reason, users });
  }

  /** Routing of `ticket` is done: it can be answered once its deliveries are. */
  close(ticket: number): void {
    this.remaining[ticket & this.mask]! &= 0x7fff_ffff;
    this.drain();
  }

  /**
   * A receiver's application took one delivery of `ticket`. A ticket no
   * longer waiting (answered already, or its sender gone) is ignored.
   */
  taken(ticket: number): void {
    if (!this.holds(ticket)) return;
    const i = ticket & this.mask;
    if ((this.remaining[i]! & 0x7fff_ffff) === 0) return;
    this.remaining[i]!--;
    if (ticket === this.head) this.drain();
  }

  /**
   * One delivery of `ticket` will not be taken: `host` did not take `users`
   * (decoded only now, off the hot path), for `reason`.
   */
  lost(ticket: number, host: string, reason: FailureReason, users: () => string[]): void {
    if (!this.holds(ticket)) return;
    const i = ticket & this.mask;
    if ((this.remaining[i]! & 0x7fff_ffff) === 0) return;
    const list = users();
    this.fail(ticket, host, reason, list);
    if (this.stats !== undefined) countUndelivered(this.stats, reason, list.length);
    this.remaining[i]!--;
    if (ticket === this.head) this.drain();
  }

  /** True when `ticket` is one of the sends waiting. */
  holds(ticket: number): boolean {
    return (ticket - this.head) >>> 0 < this.size;
  }

  /** Answers every send at the head whose deliveries are all settled. */
  private drain(): void {
    while (this.head !== this.tail) {
      const i = this.head & this.mask;
      if (this.remaining[i] !== 0) return;
      this.answer(i);
      this.outcomes[i] = undefined;
      this.head = (this.head + 1) >>> 0;
    }
  }

  private answer(i: number): void {
    const sink = this.sink;
    if (!sink.ready) return;
    const seq = this.seqs[i]!;
    const full = (this.flags[i]! & RouteFlags.REPORT) !== 0;
    const outcome = this.outcomes[i];
    if (this.kinds[i] === SendKind.ROUTE) {
      if (outcome === undefined || outcome.failed.length === 0) {
        if (full) sink.acknowledge(seq);
        return;
      }
      const payload = encodeReport({ seq, full, delivered: [], failed: outcome.failed });
      // The sender knows the hosts it named: those not failed took their users.
      payload[1]! |= ReportFlags.IMPLIED;
      sink.report(payload);
      return;
    }
    const failed = outcome?.failed ?? [];
    if (!full && failed.length === 0) return;
    const failedHosts = new Set(failed.map((f) => f.host));
    const delivered = (outcome?.hosts ?? []).filter((host) => !failedHosts.has(host));
    sink.report(encodeReport({ seq, full, delivered, failed }));
  }

  private outcome(ticket: number): Outcome {
    const i = ticket & this.mask;
    let outcome = this.outcomes[i];
    if (outcome === undefined) {
      outcome = { failed: [], hosts: undefined };
      this.outcomes[i] = outcome;
    }
    return outcome;
  }

  private grow(): void {
    const size = this.size;
    const capacity = (this.mask + 1) * 2;
    const seqs = new Uint32Array(capacity);
    const flags = new Uint8Array(capacity);
    const kinds = new Uint8Array(capacity);
    const remaining = new Uint32Array(capacity);
    const outcomes = new Array<Outcome | undefined>(capacity);
    const newMask = capacity - 1;
    for (let k = 0; k < size; k++) {
      const ticket = (this.head + k) >>> 0;
      const from = ticket & this.mask;
      const to = ticket & newMask;
      seqs[to] = this.seqs[from]!;
      flags[to] = this.flags[from]!;
      kinds[to] = this.kinds[from]!;
      remaining[to] = this.remaining[from]!;
      outcomes[to] = this.outcomes[from];
    }
    this.seqs = seqs;
    this.flags = flags;
    this.kinds = kinds;
    this.remaining = remaining;
    this.outcomes = outcomes;
    this.mask = newMask;
  }
}
