/**
 * An IM node in its own process, for tests that kill it with SIGKILL:
 *   node --import tsx test/helpers/node-process.ts <url> <nodeId> [user,user,...]
 * Connects, announces the users as online, waits until the relay has applied
 * that (its own LOCATE answers after the PRESENCE frame), then prints `READY`.
 * Exits when its stdin closes, so it never outlives the test process.
 */
import { RelayClient } from '../../src/index.js';

const [url, nodeId, list = ''] = process.argv.slice(2);
const users = list.split(',').filter((u) => u.length > 0);
const client = new RelayClient({ url: url!, nodeId: nodeId! });
client.on('error', () => {});
await client.connect();
client.online(users);
await client.locate(users);
process.stdout.write('READY\n');
process.stdin.resume();
process.stdin.on('end', () => process.exit(0));
