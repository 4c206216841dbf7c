import type { Socket } from 'node:net';
import { TLSSocket, type PeerCertificate } from 'node:tls';
import { AuthError } from '../errors.js';

/**
 * Whether a node's TLS client certificate must name its node id:
 * - `none` (default): any node the TLS layer lets in may say any node id;
 * - `require`: the node id in its hello must be the certificate's subject
 *   CN, or one of its subjectAltName `DNS:` or `URI:` entries, exactly.
 *   Needs `tls.requestCert: true` (and `rejectUnauthorized` left on).
 */
export type TlsNodeIdentity = 'none' | 'require';

/**
 * The names a certificate gives its holder: the subject's CN (each, when
 * there are several) and the subjectAltName `DNS:` and `URI:` entries, in
 * that order. IP addresses and e-mail entries name no node.
 */
export function certificateNames(cert: PeerCertificate): string[] {
  const names: string[] = [];
  const cn: unknown = cert.subject?.CN;
  if (typeof cn === 'string') names.push(cn);
  else if (Array.isArray(cn)) for (const each of cn) if (typeof each === 'string') names.push(each);
  for (const entry of splitAltNames(cert.subjectaltname ?? '')) {
    const colon = entry.indexOf(':');
    const kind = entry.slice(0, colon);
    if (kind === 'DNS' || kind === 'URI') names.push(unquote(entry.slice(colon + 1)));
  }
  return names;
}

/**
 * True when `socket` is a TLS connection whose peer presented a certificate
 * the TLS layer verified, and that certificate names `nodeId` (see
 * {@link certificateNames}; names are compared exactly, case included, as
 * node ids are). False for a plain TCP socket, which names nothing.
 */
export function certificateNamesNode(socket: Socket, nodeId: string): boolean {
  if (!(socket instanceof TLSSocket) || !socket.authorized) return false;
  return certificateNames(socket.getPeerCertificate()).includes(nodeId);
}

/**
 * The refusal (`ERR_AUTH`) of a node whose hello says `nodeId` on `socket`,
 * or undefined to let it in. With `tlsNodeIdentity: 'none'` every node is
 * let in; with `require`, only one whose verified certificate names its node
 * id. The message names the node id and what the certificate names instead.
 */
export function checkNodeCertificate(
  socket: Socket,
  nodeId: string,
  options: { readonly tlsNodeIdentity: TlsNodeIdentity },
): AuthError | undefined {
  if (options.tlsNodeIdentity !== 'require') return undefined;
  if (!(socket instanceof TLSSocket))
    return new AuthError(`node id ${JSON.stringify(nodeId)} connected without TLS: no certificate names it`);
  const cert = socket.getPeerCertificate();
  if (!socket.authorized || cert === null || Object.keys(cert).length === 0) {
    return new AuthError(`node id ${JSON.stringify(nodeId)} presented no verified client certificate`);
  }
  const names = certificateNames(cert);
  if (names.includes(nodeId)) return undefined;
  const named = names.length === 0 ? 'nothing' : names.map((n) => JSON.stringify(n)).join(', ');
  return new AuthError(`node id ${JSON.stringify(nodeId)} is not named by its certificate, which names ${named}`);
}

/**
 * Splits Node's `subjectaltname` text (`DNS:a, URI:b, IP Address:c`). Node
 * writes an entry holding a comma or a quote as a JSON string
 * (`DNS:"a,b"`), so commas are separators only outside quotes.
 */
function splitAltNames(text: string): string[] {
  const entries: string[] = [];
  let start = 0;
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i];
    if (quoted && ch === '\\') i++;
    else if (ch === '"') quoted = !quoted;
    else if (!quoted && ch === ',') {
      entries.push(text.slice(start, i).trim());
      start = i + 1;
    }
  }
  const last = text.slice(start).trim();
  if (last) entries.push(last);
  return entries;
}

function unquote(value: string): string {
  if (!value.startsWith('"')) return value;
  try {
    return JSON.parse(value) as string;
  } catch {
    return value;
  }
}
