import { createServer as netServer, type Server, type Socket } from 'node:net';
import { createServer as tlsServer } from 'node:tls';
import { ListenError, type RelayError } from '../errors.js';
import type { Endpoint } from '../transport/url.js';
import type { ResolvedMeshOptions } from './mesh-options.js';

/** What the listener reports besides new connections. */
export interface ListenerEvents {
  /** A TLS handshake with a would-be peer failed (counted, not reported one by one). */
  tlsFailed(): void;
  /** The listener failed after it started. */
  failed(error: RelayError): void;
}

/**
 * Listens where a mesh node's peers reach it: plain TCP, or TLS that asks
 * every peer for its certificate (a link is authenticated both ways). A
 * TLS handshake is bounded by `handshakeMs`, as the mesh handshake after it.
 * Resolves with the server and the address bound (the port chosen when the
 * url said 0); rejects with `ERR_LISTEN` when the address cannot be bound.
 */
export async function listenForPeers(
  mesh: ResolvedMeshOptions,
  handshakeMs: number,
  accept: (socket: Socket) => void,
  events: ListenerEvents,
): Promise<{ server: Server; address: Endpoint }> {
  const tls = mesh.tlsOptions;
  const server =
    tls === undefined
      ? netServer()
      : tlsServer({ ...tls.reveal(), requestCert: true, rejectUnauthorized: true, handshakeTimeout: handshakeMs });
  server.on(tls === undefined ? 'connection' : 'secureConnection', accept);
  server.on('tlsClientError', events.tlsFailed);
  const { host, port } = mesh.listen;
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => reject(new ListenError(`mesh cannot listen on ${host}:${port}: ${err.message}`, { cause: err }));
    server.once('error', failed);
    server.listen(port, host, () => {
      server.off('error', failed);
      resolve();
    });
  });
  server.on('error', (err) => events.failed(new ListenError(`mesh listener failed: ${err.message}`, { cause: err })));
  const bound = server.address();
  return { server, address: { host, port: typeof bound === 'object' && bound !== null ? bound.port : port } };
}
