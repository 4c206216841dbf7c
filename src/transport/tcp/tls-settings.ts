const inspectCustom = Symbol.for('nodejs.util.inspect.custom');

// Options that hold private material (keys, their passphrases, ticket keys).
const SECRET_FIELDS = new Set(['key', 'pfx', 'passphrase', 'ticketKeys', 'privateKeyIdentifier', 'privateKeyEngine']);

/**
 * TLS options (Node's `tls.TlsOptions` or `tls.ConnectionOptions`) held so
 * that their private keys never show: `util.inspect`, `console.log`,
 * `JSON.stringify` and string conversion print a summary in which keys,
 * passphrases and every certificate read `<redacted>` or `<given>`, so
 * resolved options can be logged whole, as with `Secret`. The options
 * themselves are read only where a socket or a secure context is made.
 */
export class TlsSettings<T extends object = object> {
  readonly #options: Readonly<T>;

  constructor(options: T) {
    // A frozen copy: the caller's object may change or be reused afterwards.
    this.#options = Object.freeze({ ...options });
  }

  /** The options, for making a socket or a secure context. Never log them. */
  reveal(): Readonly<T> {
    return this.#options;
  }

  /** What is set, without any material: scalars as they are, keys `<redacted>`, certificates and the rest `<given>`. */
  summary(): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    for (const [name, value] of Object.entries(this.#options)) {
      if (value === undefined) continue;
      out[name] = describe(name, value);
    }
    return out;
  }

  toString(): string {
    return 'TlsSettings(<redacted>)';
  }

  toJSON(): Record<string, unknown> {
    return this.summary();
  }

  [inspectCustom](_depth: number, options: object, inspect: (value: unknown, options: object) => string): string {
    return `TlsSettings ${inspect(this.summary(), options)}`;
  }
}

function describe(name: string, value: unknown): unknown {
  if (SECRET_FIELDS.has(name)) return '<redacted>';
  if (typeof value === 'boolean' || typeof value === 'number') return value;
  // Short settings (servername, minVersion, ciphers) help when reading logs;
  // anything that looks like PEM stays out, a key given in the wrong field included.
  if (typeof value === 'string' && value.length <= 256 && !value.includes('-----')) return value;
  return '<given>';
}
