/** Runs shorter than this are copied by a loop. */
const LOOP_BELOW = 32;

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
