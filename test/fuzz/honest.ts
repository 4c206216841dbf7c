/**
 * Two honest nodes (the default client: effectively-once delivery) that send
 * to each other all along while a test attacks the relay, and the checks
 * that nothing happened to them: every send reported delivered, every
 * message taken exactly once and in order, no lost connection.
 *
 * One report other than delivered is true and allowed, and only to a node
 * the test says hostile traffic addressed ({@link HonestPair.addressedByHostile}):
 * `overflow`. A hostile node holding the secret may flood an honest one past
 * the relay's `maxOutboundBytes`, and then the relay must refuse what does
 * not fit, from every sender, and say so. What must hold then is that the
 * report is the truth: a send reported `overflow` is never handed to the
 * receiving application, and everything else still arrives once and in order.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { isDeepStrictEqual } from 'node:util';
import type { RelayClient, RelayError } from '../../src/index.js';
import { collect, type DeliveryCollector } from '../helpers/collector.js';
import { EventLog } from '../helpers/events.js';
import { createClient, urlFor } from '../helpers/harness.js';
import { HONEST_IDS } from './frames.js';

/** One honest node sending to the other, a few sends in flight, all along. */
class HonestSender {
  sent = 0;
  readonly failures: string[] = [];
  /** Sends reported `overflow` (the receiver's relay-side bound was full): they must never arrive. */
  readonly overflowed = new Set<number>();
  /** Set once hostile traffic addressed {@link to}: only then is `overflow` a report it can truly get. */
  mayOverflow = false;
  private readonly pending = new Set<Promise<void>>();
  private stopped = false;
  private loop: Promise<void> | undefined;

  constructor(
    readonly from: RelayClient<number>,
    readonly to: string,
    private readonly inFlight: number,
    private readonly pauseMs: number,
  ) {}

  start(): void {
    this.loop = this.run();
  }

  private async run(): Promise<void> {
    const expected = { delivered: [this.to], offline: {} };
    const overflow = { delivered: [], offline: { [this.to]: ['u'] }, reasons: { [this.to]: 'overflow' } };
    while (!this.stopped) {
      while (this.pending.size < this.inFlight && !this.stopped) {
        const n = this.sent++;
        const p: Promise<void> = this.from
          .send({ [this.to]: ['u'] }, n)
          .then(
            (report) => {
              if (this.mayOverflow && isDeepStrictEqual(report, overflow)) this.overflowed.add(n);
              else if (!isDeepStrictEqual(report, expected)) this.fail(`send ${n} reported ${JSON.stringify(report)}`);
            },
            (err: RelayError) => this.fail(`send ${n} rejected: ${err.code} ${err.message}`),
          )
          .finally(() => this.pending.delete(p));
        this.pending.add(p);
      }
      await sleep(this.pauseMs);
    }
  }

  private fail(text: string): void {
    if (this.failures.length < 5) this.failures.push(`${this.from.nodeId} -> ${this.to}: ${text}`);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    await this.loop;
    await Promise.all([...this.pending]);
  }
}

/** The messages `inbox` took from `origin`, in order. */
function from(inbox: DeliveryCollector<number>, origin: string): number[] {
  return inbox.items.filter((d) => d.from === origin).map((d) => d.message);
}

export class HonestPair {
  readonly clients: Array<RelayClient<number>>;
  private readonly inboxes: Array<DeliveryCollector<number>> = [];
  private readonly senders: HonestSender[] = [];
  private readonly disconnects: EventLog[] = [];
  private readonly errors: Array<EventLog<[RelayError]>> = [];

  /** Two tracked clients of the relay on `port` (closed after the test); {@link start} connects them. */
  constructor(
    port: number,
    secret: string,
    private readonly options: { inFlight?: number; pauseMs?: number } = {},
  ) {
    const clientOptions = { secret, reportTimeoutMs: 20_000 };
    this.clients = HONEST_IDS.map((id) => createClient<number>(urlFor(port), id, clientOptions));
  }

  /** Connects, puts a few users online on each (so SEND_USERS and LOCATE find them), and starts the traffic. */
  async start(): Promise<void> {
    const [a, b] = this.clients as [RelayClient<number>, RelayClient<number>];
    await Promise.all([a.connect(), b.connect()]);
    a.online(['u1', 'u2', 'u3']);
    b.online(['u3', 'u4']);
    for (const [i, c] of this.clients.entries()) {
      this.inboxes.push(collect(c));
      this.disconnects.push(new EventLog(c, 'disconnect'));
      this.errors.push(new EventLog<[RelayError]>(c, 'error'));
      const s = new HonestSender(c, HONEST_IDS[1 - i]!, this.options.inFlight ?? 8, this.options.pauseMs ?? 10);
      this.senders.push(s);
      s.start();
    }
  }

  /** Hostile traffic addressed `node` (an honest id): from now on its senders may truly be told `overflow`. */
  addressedByHostile(node: string): void {
    for (const s of this.senders) if (s.to === node) s.mayOverflow = true;
  }

  /** What went wrong so far: failed sends and lost connections. */
  problems(): string[] {
    const problems = this.senders.flatMap((s) => s.failures);
    this.disconnects.forEach((d, i) => {
      if (d.count > 0) {
        const reasons = d.firsts.map((e) => (e as RelayError | undefined)?.code ?? 'clean').join(', ');
        problems.push(`honest node ${HONEST_IDS[i]} lost its connection: ${reasons}`);
      }
    });
    return problems;
  }

  /** Stops sending, waits for every answer and delivery, and returns what went wrong (nothing, when all is well). */
  async finish(timeoutMs = 20_000): Promise<string[]> {
    for (const s of this.senders) await s.stop();
    const problems = this.problems();
    for (const [i, s] of this.senders.entries()) {
      const inbox = this.inboxes[1 - i]!;
      const origin = HONEST_IDS[i]!;
      const expected = Array.from({ length: s.sent }, (_, n) => n).filter((n) => !s.overflowed.has(n));
      try {
        await inbox.until(() => from(inbox, origin).length >= expected.length, timeoutMs, `every message from ${origin}`);
      } catch (err) {
        problems.push((err as Error).message);
      }
      const got = from(inbox, origin);
      if (!isDeepStrictEqual(got, expected)) {
        const firstWrong = got.findIndex((m, k) => m !== expected[k]);
        const reportedOverflow = got.filter((m) => s.overflowed.has(m));
        problems.push(
          `${HONEST_IDS[1 - i]} took ${got.length} of ${expected.length} messages from ${origin}; the first out of place at ${firstWrong}` +
            (reportedOverflow.length > 0 ? `; took ${reportedOverflow.length} reported overflow, first ${reportedOverflow[0]}` : ''),
        );
      }
    }
    return problems;
  }

  /** The codes of the clients' error events (a hostile node's payload they cannot decode is one), with counts. */
  private errorCodes(): string {
    const counts = new Map<string, number>();
    for (const log of this.errors) for (const e of log.firsts) counts.set(e.code, (counts.get(e.code) ?? 0) + 1);
    return [...counts].map(([c, n]) => `${c} ${n}`).join(', ') || 'none';
  }

  /** A line for the test's summary. */
  summary(): string {
    return (
      `${this.senders.map((s) => `${s.from.nodeId} sent ${s.sent} (${s.overflowed.size} reported overflow)`).join(', ')}; ` +
      `client error events ${this.errors.map((e) => e.count).join('/')} (${this.errorCodes()}); disconnects ${this.disconnects.map((d) => d.count).join('/')}`
    );
  }
}
