import { FrameTooLargeError, InvalidArgumentError } from '../errors.js';
import { MAX_FRAME_LENGTH } from './constants.js';

/**
 * Checks a payload length a caller asks to frame: a whole number of bytes
 * that the 4-byte prefix can express. Returns it unchanged.
 *
 * @throws `ERR_INVALID_ARGUMENT` for a negative, fractional or non-numeric
 *   length; `ERR_FRAME_TOO_LARGE` for one above {@link MAX_FRAME_LENGTH}.
 */
export function checkFrameLength(length: number): number {
  // Compared first so that the common case costs two comparisons.
  if (length >= 0 && length <= MAX_FRAME_LENGTH && Number.isInteger(length)) return length;
  if (length > MAX_FRAME_LENGTH) {
    throw new FrameTooLargeError(`payload of ${length} bytes cannot be framed (maximum ${MAX_FRAME_LENGTH})`);
  }
  throw new InvalidArgumentError(`a payload length must be a whole number of bytes, got ${String(length)}`);
}
