/**
 * The receiving side of the capacity runs: connects as nodes (HELLO/WELCOME
 * over a raw socket) and counts the DELIVER frames it is sent by their
 * length prefixes, decoding nothing else. With `listen-raw`, it accepts
 * plain connections (the raw TCP pipe) and counts their frames the same way.
 *
 * Commands: connect {port, nodes}, listen-raw, counts, close, quit.
 */
import { createServer, type Server, type Socket } from 'node:net';
import { FrameCounter } from '../lib/frame-counter.js';
import { openNode } from '../lib/wire.js';
import { emit, serve } from '../lib/worker.js';

let counters: FrameCounter[] = [];
let sockets: Socket[] = [];
let server: Server | undefined;

serve(async (command) => {
  switch (command.cmd) {
    case 'connect': {
      const port = Number(command.port);
      const nodes = command.nodes as string[];
      const opened = await Promise.all(
        nodes.map(async (id) => {
          const counter = new FrameCounter();
          const socket = await openNode(port, id, (chunk) => counter.push(chunk));
          return { socket, counter };
        }),
      );
      counters = opened.map((o) => o.counter);
      sockets = opened.map((o) => o.socket);
      emit('connected', { nodes: sockets.length });
      return;
    }
    case 'listen-raw': {
      counters = [];
      server = createServer((socket) => {
        socket.setNoDelay(true);
        const counter = new FrameCounter();
        counters.push(counter);
        sockets.push(socket);
        socket.on('data', (chunk: Buffer) => counter.push(chunk));
        socket.on('error', () => {});
      });
      await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
      const address = server.address();
      emit('listening', { port: typeof address === 'object' && address ? address.port : 0 });
      return;
    }
    case 'counts': {
      let deliver = 0;
      let report = 0;
      let other = 0;
      let bytes = 0;
      for (const c of counters) {
        deliver += c.deliver;
        report += c.report;
        other += c.other;
        bytes += c.bytes;
      }
      emit('counts', { t: performance.now(), deliver, report, other, bytes, cpu: process.cpuUsage() });
      return;
    }
    case 'close':
      for (const s of sockets) s.destroy();
      sockets = [];
      counters = [];
      server?.close();
      server = undefined;
      emit('closed');
      return;
    default:
      emit('error', { message: `unknown command ${command.cmd}` });
  }
});
