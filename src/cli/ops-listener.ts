import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { ListenError } from '../errors.js';
import { PROMETHEUS_CONTENT_TYPE } from '../metrics/exposition.js';

/** Where the relay is in its life, as `/healthz` tells a load balancer or Kubernetes. */
export type Health = 'starting' | 'serving' | 'draining';

/**
 * The HTTP listener of `imrelay serve --metrics-port`, apart from the
 * relay's own port: `GET /metrics` (the Prometheus text format) and
 * `GET /healthz` (200 while serving; 503 while starting and once draining,
 * so that no new node is sent to a relay on its way out).
 */
export class OpsListener {
  /** What `/healthz` answers. */
  health: Health = 'starting';
  private readonly server: Server;

  constructor(private readonly metrics: () => string) {
    this.server = createServer(this.onRequest);
    // A scrape holds no state worth waiting for when the relay stops.
    this.server.keepAliveTimeout = 5_000;
  }

  /** Starts listening; rejects with `ERR_LISTEN` (the OS error as `cause`) when the address cannot be bound. */
  listen(host: string, port: number): Promise<AddressInfo> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void =>
        reject(new ListenError(`cannot listen for metrics on ${host}:${port}: ${err.message}`, { cause: err }));
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        resolve(this.server.address() as AddressInfo);
      });
    });
  }

  /** Stops listening and closes every connection, idle or not. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      this.server.closeAllConnections();
    });
  }

  private readonly onRequest = (req: IncomingMessage, res: ServerResponse): void => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics' && path !== '/healthz') {
      answer(res, 404, 'not found: try /metrics or /healthz\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('Allow', 'GET, HEAD');
      answer(res, 405, 'method not allowed\n');
      return;
    }
    if (path === '/healthz') {
      answer(res, this.health === 'serving' ? 200 : 503, `${this.health}\n`);
      return;
    }
    let body: string;
    try {
      body = this.metrics();
    } catch (err) {
      answer(res, 500, `metrics failed: ${(err as Error).message}\n`);
      return;
    }
    answer(res, 200, body, PROMETHEUS_CONTENT_TYPE);
  };
}

function answer(res: ServerResponse, status: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(body), 'Cache-Control': 'no-store' });
  res.end(res.req.method === 'HEAD' ? undefined : body);
}
