import { InvalidArgumentError } from '../errors.js';

/** Where a TCP link connects. */
export interface Endpoint {
  host: string;
  port: number;
}

/** A relay url, parsed: where to connect, and whether over TLS. */
export interface RelayUrl extends Endpoint {
  /** True for `tls://`: the connection is TLS from its first byte. */
  tls: boolean;
}

/** The relay port, shared with Go `transmit` hubs. */
export const DEFAULT_RELAY_PORT = 8333;

const EXPECTED = 'expected tcp://host:port or tls://host:port (a relay), or redis://host:port (Redis)';

/**
 * Parses `tcp://host:port` or `tls://host:port` (IPv6 hosts in brackets; the
 * port defaults to 8333). A url without a scheme, such as `127.0.0.1:8333`,
 * is refused with a hint of the expected form.
 */
export function parseRelayUrl(url: string): RelayUrl {
  if (typeof url !== 'string') throw new InvalidArgumentError(`url must be a string, ${EXPECTED}`);
  if (!url.includes('://')) throw new InvalidArgumentError(`relay url ${JSON.stringify(url)} has no scheme: ${EXPECTED}`);
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new InvalidArgumentError(`invalid relay url ${JSON.stringify(url)}: ${EXPECTED}`, { cause });
  }
  if (parsed.protocol !== 'tcp:' && parsed.protocol !== 'tls:') {
    throw new InvalidArgumentError(`unsupported relay url scheme ${parsed.protocol} in ${JSON.stringify(url)}: ${EXPECTED}`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new InvalidArgumentError(`relay url has no host: ${JSON.stringify(url)}`);
  return { host, port: parsed.port ? Number(parsed.port) : DEFAULT_RELAY_PORT, tls: parsed.protocol === 'tls:' };
}

/** True for a url a Redis transport takes: `redis://` or `rediss://`. */
export function isRedisUrl(url: unknown): url is string {
  return typeof url === 'string' && /^rediss?:\/\//i.test(url);
}
