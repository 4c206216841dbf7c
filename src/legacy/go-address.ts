import { isIPv6 } from 'node:net';

/**
 * A peer's address written the way Go's `net.Conn.RemoteAddr().String()`
 * writes it (`10.0.0.2:51234`, `[::1]:51234`), which is the key legacy IM
 * servers store as their connector id. An IPv4 peer seen through a
 * dual-stack socket (`::ffff:10.0.0.2`) is written as plain IPv4, as Go does.
 */
export function goAddress(address: string | undefined, port: number | undefined): string {
  const ip = plainIp(address ?? '');
  return isIPv6(ip) ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/** The address without an IPv4-mapped IPv6 prefix. */
export function plainIp(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  return mapped ? mapped[1]! : address;
}
