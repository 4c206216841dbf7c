import { isRelayError } from '../errors.js';
import { serve } from './serve.js';
import { serveHelp, serveSettings, UsageError } from './serve-config.js';
import { NODE_SECRET_USAGE, nodeSecretCommand } from './node-secret.js';

const USAGE = `imrelay: cross-node message relay for WebSocket IM clusters

Usage:
  imrelay serve [options]   run a relay hub
${NODE_SECRET_USAGE}
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
  if (command === 'node-secret') {
    process.stdout.write(`${nodeSecretCommand(rest)}\n`);
    return 0;
  }
  if (command !== 'serve') throw new UsageError(`unknown command ${JSON.stringify(command)}`);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(USAGE);
    return 0;
  }
  await serve(serveSettings(rest, process.env), VERSION);
  return 0;
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
