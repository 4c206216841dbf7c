import { RelayError, ErrorCodes } from '../errors.js';

/**
 * A user id as callers may give it. Ids travel as strings: a 64-bit id such as
 * `18446744073709551615n` or `'18446744073709551615'` comes out exactly as it
 * went in, which a JavaScript `number` could not promise.
 */
export type UserId = string | number | bigint;

/** The wire form of a user id. */
export function userIdToString(id: UserId): string {
  if (typeof id === 'string') {
    if (id.length === 0) throw invalid('a user id must not be empty');
    return id;
  }
  if (typeof id === 'bigint') return id.toString();
  if (typeof id === 'number' && Number.isSafeInteger(id)) return String(id);
  throw invalid(
    typeof id === 'number'
      ? `user id ${id} is not a safe integer: pass large ids as bigint or string`
      : `a user id must be a string, number or bigint, got ${typeof id}`,
  );
}

function invalid(message: string): RelayError {
  return new RelayError(ErrorCodes.INVALID_ARGUMENT, message);
}
