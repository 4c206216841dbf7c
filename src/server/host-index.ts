/**
 * Finds the session for a host id given as a byte range of a frame, without
 * making a string: a host looked up a million times a second would otherwise
 * cost a string allocation each time. Buckets by an FNV-1a hash of the bytes
 * and compares the bytes in the (almost always single-entry) bucket.
 */
export class HostIndex<T extends { readonly idBytes: Uint8Array }> {
  private readonly buckets = new Map<number, T | T[]>();

  add(session: T): void {
    const hash = hashBytes(session.idBytes, 0, session.idBytes.length);
    const bucket = this.buckets.get(hash);
    if (bucket === undefined) this.buckets.set(hash, session);
    else if (Array.isArray(bucket)) bucket.push(session);
    else this.buckets.set(hash, [bucket, session]);
  }

  delete(session: T): void {
    const hash = hashBytes(session.idBytes, 0, session.idBytes.length);
    const bucket = this.buckets.get(hash);
    if (bucket === session) {
      this.buckets.delete(hash);
    } else if (Array.isArray(bucket)) {
      const rest = bucket.filter((s) => s !== session);
      this.buckets.set(hash, rest.length === 1 ? rest[0]! : rest);
    }
  }

  /** The session whose id is exactly `bytes[start, end)`. */
  find(bytes: Uint8Array, start: number, end: number): T | undefined {
    const bucket = this.buckets.get(hashBytes(bytes, start, end));
    if (bucket === undefined) return undefined;
    if (!Array.isArray(bucket)) return sameBytes(bucket.idBytes, bytes, start, end) ? bucket : undefined;
    for (const session of bucket) if (sameBytes(session.idBytes, bytes, start, end)) return session;
    return undefined;
  }
}

function hashBytes(bytes: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
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
