// A relay and two IM nodes in one process: im-1 sends a group message to
// users on im-2 and on a node that is not connected, and stores the offline
// users' message. Run: node --import tsx examples/basic.ts
import { RelayClient, RelayServer } from '../src/index.js';

interface ChatMessage {
  from: string;
  text: string;
}

const secret = 'change-me';
const server = new RelayServer({ host: '127.0.0.1', port: 0, secret });
const { port } = await server.listen();
const url = `tcp://127.0.0.1:${port}`;

const im1 = new RelayClient<ChatMessage>({ url, nodeId: 'im-1', secret });
const im2 = new RelayClient<ChatMessage>({ url, nodeId: 'im-2', secret });
await Promise.all([im1.connect(), im2.connect()]);

// im-2's consumer loop: hand each delivery to its users' sockets.
const consumed = (async () => {
  for await (const d of im2) {
    for (const user of d.users) console.log(`im-2 -> ${user}: ${d.message.text} (from ${d.message.from} via ${d.from})`);
  }
})();

const report = await im1.send({ 'im-2': ['carol', 'dave'], 'im-3': ['erin'] }, { from: 'alice', text: 'hi all' });
console.log('delivered to', report.delivered);
for (const [host, users] of Object.entries(report.offline)) {
  console.log(`store offline for ${users.join(', ')} (${host}: ${report.reasons?.[host]})`);
}

await im1.close();
await im2.close();
await consumed;
await server.close();
