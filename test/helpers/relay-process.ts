/**
 * A relay in its own process, for tests that kill it with SIGKILL:
 *   node --import tsx test/helpers/relay-process.ts <port>
 * Prints `PORT <n>` once listening. Exits when its stdin closes, so it never
 * outlives the test process that started it.
 */
import { RelayServer } from '../../src/index.js';

const port = Number(process.argv[2] ?? 0);
const server = new RelayServer({ host: '127.0.0.1', port });
const address = await server.listen();
process.stdout.write(`PORT ${address.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
