import { ErrorCodes, RelayError } from '../errors.js';

/** Where a client connects. */
export interface Endpoint {
  host: string;
  port: number;
}

/** Parses `tcp://host:port` (IPv6 hosts in brackets). The port defaults to 8333. */
export function parseRelayUrl(url: string): Endpoint {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch (cause) {
    throw new RelayError(ErrorCodes.INVALID_ARGUMENT, `invalid relay url: ${url}`, { cause });
  }
  if (parsed.protocol !== 'tcp:') {
    throw new RelayError(ErrorCodes.INVALID_ARGUMENT, `unsupported relay url scheme ${parsed.protocol} (expected tcp://host:port)`);
  }
  const host = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!host) throw new RelayError(ErrorCodes.INVALID_ARGUMENT, `relay url has no host: ${url}`);
  return { host, port: parsed.port ? Number(parsed.port) : 8333 };
}
