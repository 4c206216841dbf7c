/**
 * The one error a malformed legacy document raises, whichever part of the
 * decoder finds the fault.
 *
 * @packageDocumentation
 */

import { ProtocolError } from '../errors.js';

/**
 * Throws the error for a document that is not acceptable, naming the byte
 * offset where decoding stopped. Every rejection goes through here so that
 * callers see one error type (`ERR_PROTOCOL`) and one message format.
 */
export function failAt(offset: number, what: string): never {
  throw new ProtocolError(`legacy transmit: ${what} at offset ${offset}`);
}
