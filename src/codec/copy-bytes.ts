/** Runs shorter than this are copied by a loop. */
const LOOP_BELOW = 32;
/** Runs shorter than this are copied four bytes at a time when both sides have a DataView. */
export const WORD_COPY_BELOW = 192;

/**
 * Copies `src[start, end)` into `dst` at `at`. Buffer#copy costs a fresh
 * typed array and a runtime call per call (about 60 ns here), more than a
 * loop over a short run such as one host's user list.
 */
export function copyBytes(dst: Buffer, at: number, src: Buffer, start: number, end: number): void {
  if (end - start < LOOP_BELOW) {
    for (let i = start; i < end; i++) dst[at++] = src[i]!;
  } else {
    src.copy(dst, at, start, end);
  }
}

/**
 * {@link copyBytes} for runs up to a few hundred bytes (a small delivery's
 * users and payload): with a DataView of each side, made once per buffer,
 * the run is copied by 32-bit loads and stores, about a third of
 * Buffer#copy's cost at 100 bytes. Longer runs, or a source without a view,
 * go to Buffer#copy, whose memmove wins there.
 *
 * `dstView` and `srcView` must view `dst` and `src` from their first byte.
 */
export function copyRun(
  dst: Buffer,
  dstView: DataView,
  at: number,
  src: Buffer,
  srcView: DataView | undefined,
  start: number,
  end: number,
): void {
  if (srcView === undefined || end - start >= WORD_COPY_BELOW) {
    copyBytes(dst, at, src, start, end);
    return;
  }
  let i = start;
  for (; i + 8 <= end; i += 8, at += 8) {
    dstView.setUint32(at, srcView.getUint32(i, true), true);
    dstView.setUint32(at + 4, srcView.getUint32(i + 4, true), true);
  }
  if (i + 4 <= end) {
    dstView.setUint32(at, srcView.getUint32(i, true), true);
    i += 4;
    at += 4;
  }
  for (; i < end; i++) dst[at++] = src[i]!;
}

/** A DataView of a whole Buffer, for {@link copyRun}. */
export function viewOf(buf: Buffer): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}
