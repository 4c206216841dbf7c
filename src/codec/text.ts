/**
 * UTF-8 text straight out of a byte range. `Buffer#toString(enc, start, end)`
 * resolves the encoding and checks its arguments on every call; on paths that
 * decode a string per frame, the engine's own slice method is measurably
 * cheaper, so it is used where it exists.
 */
type Slicing = Buffer & { utf8Slice?: (start: number, end: number) => string };

const hasUtf8Slice = typeof (Buffer.prototype as Slicing).utf8Slice === 'function';

/** The UTF-8 text of `buf[start, end)`; invalid sequences become U+FFFD, as with `toString`. */
export function utf8Text(buf: Buffer, start: number, end: number): string {
  return hasUtf8Slice ? (buf as Slicing).utf8Slice!(start, end) : buf.toString('utf8', start, end);
}

type Writing = Buffer & { utf8Write?: (text: string, offset: number) => number };

const hasUtf8Write = typeof (Buffer.prototype as Writing).utf8Write === 'function';

/**
 * Writes `text` as UTF-8 at `offset` of `buf`, which must have room for
 * `3 * text.length` bytes; returns the bytes written.
 */
export function writeUtf8(buf: Buffer, text: string, offset: number): number {
  return hasUtf8Write ? (buf as Writing).utf8Write!(text, offset) : buf.write(text, offset, 'utf8');
}
