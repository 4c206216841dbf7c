const INITIAL_SLOTS = 16;

/**
 * Finds the session for a host id given as a byte range of a frame, without
 * making a string: a host looked up a million times a second would otherwise
 * cost a string allocation each time.
 *
 * An open-addressed table (linear probing, at most half full) keyed by an
 * FNV-1a hash of the id's bytes, with the hashes in a typed array: a lookup
 * is a hash, an index and a byte compare. (A Map keyed by the hash number
 * cost more than the rest of the lookup: a hash outside the small-integer
 * range is a heap number to hash again.)
 */
export class HostIndex<T extends { readonly idBytes: Uint8Array }> {
  private mask = INITIAL_SLOTS - 1;
  private hashes = new Int32Array(INITIAL_SLOTS);
  private entries: Array<T | undefined> = new Array<T | undefined>(INITIAL_SLOTS).fill(undefined);
  private count = 0;

  /** Sessions held. */
  get size(): number {
    return this.count;
  }

  /** Adds `session`; the caller has removed any session with the same id. */
  add(session: T): void {
    if ((this.count + 1) * 2 > this.entries.length) this.grow();
    this.place(session, hashBytes(session.idBytes, 0, session.idBytes.length));
    this.count++;
  }

  /** Removes `session` if it is held. */
  delete(session: T): void {
    const entries = this.entries;
    const mask = this.mask;
    let i = hashBytes(session.idBytes, 0, session.idBytes.length) & mask;
    for (;;) {
      const entry = entries[i];
      if (entry === undefined) return;
      if (entry === session) break;
      i = (i + 1) & mask;
    }
    this.count--;
    // Backward shift: entries after the hole that probed past it move into it,
    // so a lookup never stops early at an empty slot (no tombstones to age).
    let hole = i;
    let j = i;
    entries[hole] = undefined;
    for (;;) {
      j = (j + 1) & mask;
      const entry = entries[j];
      if (entry === undefined) return;
      const home = this.hashes[j]! & mask;
      // The entry stays when its home lies cyclically in (hole, j].
      if (hole <= j ? hole < home && home <= j : hole < home || home <= j) continue;
      entries[hole] = entry;
      this.hashes[hole] = this.hashes[j]!;
      entries[j] = undefined;
      hole = j;
    }
  }

  /** The session whose id is exactly `bytes[start, end)`. */
  find(bytes: Uint8Array, start: number, end: number): T | undefined {
    const h = hashBytes(bytes, start, end);
    const entries = this.entries;
    const mask = this.mask;
    for (let i = h & mask; ; i = (i + 1) & mask) {
      const entry = entries[i];
      if (entry === undefined) return undefined;
      if (this.hashes[i] === h && sameBytes(entry.idBytes, bytes, start, end)) return entry;
    }
  }

  private place(session: T, h: number): void {
    const mask = this.mask;
    let i = h & mask;
    while (this.entries[i] !== undefined) i = (i + 1) & mask;
    this.entries[i] = session;
    this.hashes[i] = h;
  }

  private grow(): void {
    const old = this.entries;
    const oldHashes = this.hashes;
    const slots = old.length * 2;
    this.mask = slots - 1;
    this.hashes = new Int32Array(slots);
    this.entries = new Array<T | undefined>(slots).fill(undefined);
    for (let i = 0; i < old.length; i++) {
      const entry = old[i];
      if (entry !== undefined) this.place(entry, oldHashes[i]!);
    }
  }
}

/** FNV-1a, as a signed 32-bit integer (what the table's Int32Array holds). */
export function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5 | 0;
  for (let i = start; i < end; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193);
  return h;
}

function sameBytes(id: Uint8Array, bytes: Uint8Array, start: number, end: number): boolean {
  if (id.length !== end - start) return false;
  for (let i = 0; i < id.length; i++) if (id[i] !== bytes[start + i]) return false;
  return true;
}

/** The registry key of a host: its UTF-8 bytes read as latin1, as sessions are registered. */
export function hostKey(host: string): string {
  // eslint-disable-next-line no-control-regex
  return /^[\x00-\x7f]*$/.test(host) ? host : Buffer.from(host, 'utf8').toString('latin1');
}
