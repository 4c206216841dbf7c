/** Bytes in a frame's length prefix. */
export const FRAME_HEADER_BYTES = 4;

/** The default largest frame payload accepted: 1 MiB. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/** The largest length a 4-byte unsigned prefix can express. */
export const MAX_FRAME_LENGTH = 0xffff_ffff;
