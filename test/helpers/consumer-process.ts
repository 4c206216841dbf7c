/**
 * An IM node in its own process that consumes its deliveries and prints
 * each message its application took, for tests that kill it with SIGKILL:
 *   node --import tsx test/helpers/consumer-process.ts <url> <nodeId> <delayMs>
 * Prints `READY` once connected, then `TOOK <message>` per delivery (stdout
 * is a pipe: written synchronously, so a line printed is a line the test
 * sees even if the process is killed right after). Exits when stdin closes.
 */
import { RelayClient } from '../../src/index.js';

const [url, nodeId, delay = '0'] = process.argv.slice(2);
const delayMs = Number(delay);
const client = new RelayClient({ url: url!, nodeId: nodeId! });
client.on('error', () => {});
await client.connect();
process.stdout.write('READY\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
for await (const d of client) {
  process.stdout.write(`TOOK ${String(d.message)}\n`);
  if (delayMs > 0) await new Promise((resolve) => setTimeout(resolve, delayMs));
}
