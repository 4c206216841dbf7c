// Walks over user lists already validated by the protocol layer: no bounds checks here.

/** Calls `fn` with the byte range of each id in a validated user list. */
export function forEachUser(p: Buffer, usersStart: number, fn: (start: number, end: number) => void): void {
  const count = p.readUInt32LE(usersStart);
  let pos = usersStart + 4;
  for (let i = 0; i < count; i++) {
    const end = pos + 1 + p[pos]!;
    fn(pos + 1, end);
    pos = end;
  }
}

/** The id whose length byte is at `s`. */
export function idAt(p: Buffer, s: number): string {
  return p.toString('utf8', s + 1, s + 1 + p[s]!);
}
