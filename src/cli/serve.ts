import type { AddressInfo } from 'node:net';
import type { Logger } from '../metrics/logger.js';
import { requiresProof, type RelayServerOptions } from '../server/options.js';
import { RelayServer } from '../server/relay-server.js';
import { lineLogger } from './log-format.js';
import type { OpsConfig } from './ops-config.js';
import { OpsListener } from './ops-listener.js';
import { writeProcessMetrics } from './process-metrics.js';

// Past the grace, close() has cut every node off; this much more is for the flush and the last lines.
const EXIT_MARGIN_MS = 2_000;

/**
 * `imrelay serve`: runs a relay until SIGTERM or SIGINT, then drains it.
 *
 * With a metrics port, `/healthz` answers 503 until the relay listens, 200
 * while it serves, and 503 again from the signal on, while `/metrics` keeps
 * answering to the end. The drain tells every node to go (GOODBYE
 * `ERR_SHUTDOWN`: they reconnect to another instance as their backoff
 * allows), flushes what is in flight, and gives nodes `drainGraceMs` to hang
 * up before cutting them off. Resolves once everything is closed: the
 * process then exits 0. A second signal exits at once, with status 1.
 */
export async function serve(settings: { options: RelayServerOptions; ops: OpsConfig }, version: string): Promise<void> {
  const { options, ops } = settings;
  // A closed log pipe (the supervisor's reader went away) must not take the relay down with it.
  process.stdout.on('error', ignoreBrokenPipe);
  process.stderr.on('error', ignoreBrokenPipe);
  const logger = lineLogger(ops.logFormat, (line) => process.stdout.write(line));
  const server = new RelayServer({ ...options, closeTimeoutMs: ops.drainGraceMs, logger });
  const listener = ops.metricsPort === undefined ? undefined : new OpsListener(() => server.metrics() + writeProcessMetrics(version));

  // The metrics listener first: a supervisor sees /healthz say "starting" rather than nothing.
  const metricsAddress = listener === undefined ? undefined : await listener.listen(ops.metricsHost, ops.metricsPort!);
  let address: AddressInfo;
  try {
    address = await server.listen();
  } catch (err) {
    await listener?.close();
    throw err;
  }
  if (listener !== undefined) listener.health = 'serving';
  logStart(logger, server, version, address, metricsAddress, ops);

  const signal = await new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', () => resolve('SIGINT'));
    process.once('SIGTERM', () => resolve('SIGTERM'));
  });
  if (listener !== undefined) listener.health = 'draining';
  const nodes = server.stats().nodes;
  logger.info(
    { event: 'drain', signal, nodes, graceMs: ops.drainGraceMs },
    `${signal}: closing: draining ${nodes} node${nodes === 1 ? '' : 's'} within ${ops.drainGraceMs} ms`,
  );
  const forced = (again: NodeJS.Signals): void => {
    logger.warn({ event: 'drain_forced', signal: again }, `${again} while draining: exiting now`);
    process.exit(1);
  };
  process.once('SIGINT', forced);
  process.once('SIGTERM', forced);
  const backstop = setTimeout(() => {
    logger.error({ event: 'drain_timeout', graceMs: ops.drainGraceMs }, `the drain did not finish within ${ops.drainGraceMs} ms: exiting`);
    process.exit(1);
  }, ops.drainGraceMs + EXIT_MARGIN_MS);
  backstop.unref();

  const started = Date.now();
  await server.close();
  clearTimeout(backstop);
  const stats = server.stats();
  logger.info(
    {
      event: 'closed',
      routes: stats.routes,
      deliveries: stats.deliveries,
      usersOffline: stats.usersOffline,
      drainMs: Date.now() - started,
    },
    `closed after routing ${stats.routes} messages (${stats.deliveries} deliveries, ${stats.usersOffline} users offline)`,
  );
  await listener?.close();
  process.off('SIGINT', forced);
  process.off('SIGTERM', forced);
}

function logStart(
  logger: Logger,
  server: RelayServer,
  version: string,
  address: AddressInfo,
  metricsAddress: AddressInfo | undefined,
  ops: OpsConfig,
): void {
  const where = hostPort(address);
  const metrics = metricsAddress === undefined ? undefined : `http://${hostPort(metricsAddress)}/metrics`;
  const secretRequired = requiresProof(server.options);
  logger.info(
    { event: 'start', version, address: where, secretRequired, ...(metrics === undefined ? {} : { metrics }), pid: process.pid },
    `imrelay ${version} listening on ${where}${server.options.tls ? ' (TLS)' : ''}${secretRequired ? ' (secret required)' : ''}${metrics === undefined ? '' : `, metrics on ${metrics}`}`,
  );
  const scheme = server.options.tls ? 'tls' : 'tcp';
  if (ops.logFormat === 'text')
    logger.info({}, `connect a node: new RelayClient({ url: '${scheme}://${where}', nodeId: 'im-1' }).connect()`);
}

function hostPort(address: AddressInfo): string {
  return address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
}

function ignoreBrokenPipe(err: NodeJS.ErrnoException): void {
  if (err.code !== 'EPIPE') throw err;
}
