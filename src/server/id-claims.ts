import { isIP } from 'node:net';
import { AuthError, type RelayError } from '../errors.js';
import { plainIp } from '../legacy/go-address.js';
import type { ResolvedServerOptions } from './options.js';
import type { Session } from './session.js';

/**
 * Why a binary node may not take the id it announced, if it may not.
 *
 * Legacy (Go) nodes are named by their `ip:port`, and prove nothing. A binary
 * node announcing an id of that shape, for an address the relay accepts Go
 * nodes from, could receive that Go node's messages: it may use such an id
 * only for its own IP address.
 */
export function idClaimProblem(session: Session, options: ResolvedServerOptions): RelayError | undefined {
  const ip = addressInId(session.nodeId);
  if (ip === undefined || !options.acceptsLegacy(ip)) return undefined;
  const own = plainIp(session.socket.remoteAddress ?? '');
  if (ip === own) return undefined;
  return new AuthError(`node id ${session.nodeId} names the address of a possible legacy node, and the node connects from ${own}`);
}

/** The IP of an `ip:port` or `[ipv6]:port` id; `undefined` for any other id. */
export function addressInId(nodeId: string): string | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|(\d{1,3}(?:\.\d{1,3}){3})):(\d{1,5})$/.exec(nodeId);
  if (match === null) return undefined;
  const ip = match[1] ?? match[2]!;
  return isIP(ip) === 0 ? undefined : plainIp(ip);
}
