/**
 * The sends of one flush and the answers they get once its channel
 * messages are published: each PUBLISH answers how many subscribers took the
 * batch, so each send's outcome is read from the batches its DELIVERs went
 * into. Answers are written in send order, as a relay writes them: runs of
 * fully delivered sends as one ACK frame (the node reads ACKs: the link
 * announces `Features.ACKS`), a REPORT for anything else.
 *
 * Nothing here is made per send but an entry in a few arrays; a REPORT is
 * encoded only for a send that needs one.
 */
import type { FrameWriter } from '../../codec/frame-writer.js';
import { ReportBuilder } from '../../presence/users-by-node.js';
import { AckRun, FailureReason, RouteFlags, RouteSpans, scanRoute, writeReport } from '../../protocol/index.js';

/** A SEND_USERS of the flush: the nodes its users were found on, and the batch each node's DELIVER went into. */
export interface UsersSend {
  seq: number;
  flags: number;
  nodes: string[];
  users: string[][];
  batches: number[];
  nowhere: string[];
}

export class FlushSends {
  /** Per send: its ROUTE frame, or undefined for a SEND_USERS (see {@link users}). */
  private readonly routes: Array<Buffer | undefined> = [];
  /** Per send: where its hosts start in {@link hostBatch}. */
  private readonly hostStart: number[] = [];
  /** Per host of every ROUTE, in order: the batch its DELIVER went into. */
  readonly hostBatch: number[] = [];
  private readonly users = new Map<number, UsersSend>();

  get size(): number {
    return this.routes.length;
  }

  /** Registers a ROUTE; the caller then pushes one entry per host to {@link hostBatch}. */
  addRoute(frame: Buffer): void {
    this.routes.push(frame);
    this.hostStart.push(this.hostBatch.length);
  }

  addUsers(send: UsersSend): void {
    this.users.set(this.routes.length, send);
    this.routes.push(undefined);
    this.hostStart.push(this.hostBatch.length);
  }

  /**
   * Writes every send's answer into `writer`, in send order, from the
   * subscriber count of each batch (`counts[i]` for batch i).
   */
  answer(counts: ArrayLike<number>, writer: FrameWriter, acks: AckRun, spans: RouteSpans): void {
    const { routes, hostStart, hostBatch } = this;
    for (let i = 0; i < routes.length; i++) {
      const frame = routes[i];
      if (frame === undefined) {
        answerUsers(this.users.get(i)!, counts, writer, acks);
        continue;
      }
      const end = i + 1 < routes.length ? hostStart[i + 1]! : hostBatch.length;
      let reached = true;
      for (let h = hostStart[i]!; h < end; h++) if (!(counts[hostBatch[h]!]! > 0)) reached = false;
      const flags = frame[1]!;
      if (reached) {
        // A send that asked for no report and reached everyone gets no answer.
        if ((flags & RouteFlags.REPORT) !== 0) acks.add(frame.readUInt32LE(2), writer);
        continue;
      }
      acks.seal(writer);
      scanRoute(frame, spans);
      const outcomes = new Uint8Array(spans.hostCount);
      for (let h = 0; h < spans.hostCount; h++) outcomes[h] = counts[hostBatch[hostStart[i]! + h]!]! > 0 ? 0 : FailureReason.OFFLINE;
      writeReport(writer, frame, spans, outcomes, (flags & RouteFlags.REPORT) !== 0);
    }
    acks.seal(writer);
  }
}

function answerUsers(send: UsersSend, counts: ArrayLike<number>, writer: FrameWriter, acks: AckRun): void {
  const report = new ReportBuilder();
  send.nodes.forEach((node, i) => {
    if (counts[send.batches[i]!]! > 0) report.deliveredTo(node);
    else report.failedAt(node, FailureReason.OFFLINE, send.users[i]!);
  });
  report.nowhere(send.nowhere);
  const answer = report.encode(send.seq, send.flags);
  acks.seal(writer);
  if (answer !== undefined) writer.appendFrame(answer);
}
