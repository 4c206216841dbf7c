import { InvalidArgumentError } from './errors.js';

const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

/**
 * A secret held so that it never shows: `util.inspect`, `console.log`,
 * `JSON.stringify` and string conversion print `Secret(<redacted>)`, so
 * options objects and errors can be logged whole. The bytes are read only
 * where a proof is computed.
 */
export class Secret {
  readonly #bytes: Buffer;

  constructor(value: string | Uint8Array) {
    if (typeof value !== 'string' && !(value instanceof Uint8Array)) {
      throw new InvalidArgumentError('a secret must be a string or bytes');
    }
    // A copy: the caller's buffer may be reused or wiped.
    this.#bytes = Buffer.from(typeof value === 'string' ? Buffer.from(value, 'utf8') : value);
    if (this.#bytes.length === 0) throw new InvalidArgumentError('a secret must not be empty');
  }

  /** The secret's bytes, for computing a proof. Never log them. */
  reveal(): Buffer {
    return this.#bytes;
  }

  toString(): string {
    return 'Secret(<redacted>)';
  }

  toJSON(): string {
    return this.toString();
  }

  [inspectCustom](): string {
    return this.toString();
  }
}
