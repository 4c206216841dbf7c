import { RelayServer } from '../server/relay-server.js';
import { isRelayError } from '../errors.js';
import { serveConfig, serveHelp, UsageError } from './serve-config.js';

const USAGE = `imrelay: cross-node message relay for WebSocket IM clusters

Usage:
  imrelay serve [options]   run a relay hub
  imrelay --help            show this help
  imrelay --version         show the version

serve options (each also read from its environment variable):
${serveHelp()}
`;

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    process.stdout.write(USAGE);
    return command === undefined ? 1 : 0;
  }
  if (command === '--version' || command === '-v') {
    process.stdout.write(`${VERSION}\n`);
    return 0;
  }
  if (command !== 'serve') throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  await serve(serveConfig(rest, process.env));
  return 0;
}

async function serve(options: ReturnType<typeof serveConfig>): Promise<void> {
  const server = new RelayServer(options);
  const log = (line: string): void => {
    process.stdout.write(`${new Date().toISOString()} ${line}\n`);
  };
  server.on('node:up', (node) => log(`node up ${node.nodeId} from ${node.remoteAddress}`));
  server.on('node:down', (node, reason) => log(`node down ${node.nodeId}${reason ? ` (${reason.code}: ${reason.message})` : ''}`));
  server.on('error', (err, peer) => log(`error ${err.code}${peer ? ` from ${peer.remoteAddress}` : ''}: ${err.message}`));
  const address = await server.listen();
  const where = address.family === 'IPv6' ? `[${address.address}]:${address.port}` : `${address.address}:${address.port}`;
  log(`imrelay ${VERSION} listening on ${where}${server.options.secrets.length ? ' (secret required)' : ''}`);
  log(`connect a node: new RelayClient({ url: 'tcp://${where}', nodeId: 'im-1' }).connect()`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string): void => {
      log(`${signal}: closing`);
      server.close().then(resolve, resolve);
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
  const stats = server.stats();
  log(`closed after routing ${stats.routes} messages (${stats.deliveries} deliveries, ${stats.usersOffline} users offline)`);
}

declare const __VERSION__: string | undefined;
const VERSION = typeof __VERSION__ === 'string' ? __VERSION__ : '0.0.0-dev';

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`imrelay: ${err.message}\n\n${USAGE}`);
      process.exitCode = 2;
    } else {
      process.stderr.write(`imrelay: ${isRelayError(err) ? `${err.code}: ` : ''}${(err as Error).message ?? String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
