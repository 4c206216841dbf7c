import { INCARNATION_BYTES } from '../protocol/index.js';

/** Sends remembered per origin: enough for every delivery a link can have unsettled, many times over. */
const MAX_REMEMBERED = 65_536;

/**
 * The sends from one peer whose delivery this node gave up unseen (its
 * application did not take it in time). A link that drops before the peer
 * hears of it makes the peer send it again on the next link: that copy is
 * given up too, at once, rather than handed to the application late or, by
 * the repeat filter, counted as taken. Bounded; forgotten when the peer
 * restarts (a new incarnation numbers its sends anew).
 */
export class GivenUp {
  private incarnation: Buffer = Buffer.alloc(INCARNATION_BYTES);
  private readonly seqs = new Set<number>();

  /** The peer's incarnation, from its hello: a new one forgets the old sends. */
  from(incarnation: Buffer): void {
    if (incarnation.equals(this.incarnation)) return;
    this.incarnation = Buffer.from(incarnation);
    this.seqs.clear();
  }

  add(seq: number): void {
    if (this.seqs.size >= MAX_REMEMBERED) this.seqs.delete(this.seqs.values().next().value!);
    this.seqs.add(seq);
  }

  /** True when the send `seq` stamped with the incarnation at `[at, at + 8)` of `p` was given up. */
  has(p: Buffer, at: number, seq: number): boolean {
    return this.seqs.size > 0 && this.seqs.has(seq) && p.compare(this.incarnation, 0, INCARNATION_BYTES, at, at + INCARNATION_BYTES) === 0;
  }
}
