import { BlockList, isIPv6 } from 'node:net';
import { InvalidArgumentError } from '../errors.js';
import { plainIp } from '../legacy/go-address.js';

/**
 * Which connections may speak the legacy JSON dialect:
 * - `true`: any (refused together with a secret: a legacy node cannot prove anything);
 * - `false`: none;
 * - `{ allow: [...] }`: peers whose IP is listed, as an address (`10.0.0.7`) or a subnet (`10.0.0.0/24`).
 *
 * Unset: on when the relay has no secret, off when it has one.
 */
export type LegacyAcceptance = boolean | { allow: readonly string[] };

/** Decides, from the peer's IP, whether a connection may be a legacy node. */
export type LegacyPolicy = (remoteAddress: string | undefined) => boolean;

export function legacyPolicy(option: LegacyAcceptance | undefined, hasSecret: boolean): LegacyPolicy {
  const accept = option ?? !hasSecret;
  if (accept === false) return () => false;
  if (accept === true) {
    if (hasSecret) {
      throw new InvalidArgumentError('legacy nodes cannot prove a secret: with a secret set, list their addresses in legacy.allow');
    }
    return () => true;
  }
  const list = new BlockList();
  for (const entry of accept.allow) {
    const [ip, prefix] = entry.split('/');
    const type = isIPv6(ip!) ? 'ipv6' : 'ipv4';
    try {
      if (prefix === undefined) list.addAddress(ip!, type);
      else list.addSubnet(ip!, Number(prefix), type);
    } catch (cause) {
      throw new InvalidArgumentError(`legacy.allow: invalid address or subnet ${entry}`, { cause });
    }
  }
  return (remoteAddress) => {
    if (!remoteAddress) return false;
    const ip = plainIp(remoteAddress);
    return list.check(ip, isIPv6(ip) ? 'ipv6' : 'ipv4');
  };
}
