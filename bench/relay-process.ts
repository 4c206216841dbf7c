/**
 * The relay alone in its own process, for the benchmarks.
 *
 *   node --import tsx bench/relay-process.ts [--max-outbound-bytes N]
 *
 * Starts a RelayServer on a free loopback port and prints
 * `{"event":"listening","port":N,"pid":P}`. Then, for each line on stdin:
 *
 * - `stats`: prints `{"event":"stats","t":ms,"hr":µs,"cpu":{"user":µs,"system":µs},
 *   "rss":bytes,"peakRss":bytes,"stats":{...}}`: `process.cpuUsage()`,
 *   `process.memoryUsage().rss`, the highest RSS sampled (every 20 ms) since
 *   the last `reset-peak`, and `server.stats()`;
 * - `reset-peak`: restarts the peak RSS from the current RSS;
 * - `quit`: closes the server and exits (a `--cpu-prof` profile is written then).
 */
import { RelayServer } from '../src/index.js';
import { emit, flags, serve } from './lib/worker.js';

const opts = flags();
const maxOutboundBytes = opts.has('max-outbound-bytes') ? Number(opts.get('max-outbound-bytes')) : undefined;

const server = new RelayServer({
  host: '127.0.0.1',
  port: 0,
  ...(maxOutboundBytes !== undefined ? { maxOutboundBytes } : {}),
});
let peerErrors = 0;
server.on('error', () => {
  peerErrors++;
});

let peakRss = process.memoryUsage.rss();
const sampler = setInterval(() => {
  const rss = process.memoryUsage.rss();
  if (rss > peakRss) peakRss = rss;
}, 20);
sampler.unref();

const address = await server.listen();
emit('listening', { port: address.port, pid: process.pid });

serve(
  (command) => {
    switch (command.cmd) {
      case 'stats': {
        const rss = process.memoryUsage.rss();
        if (rss > peakRss) peakRss = rss;
        emit('stats', {
          t: performance.now(),
          hr: Number(process.hrtime.bigint() / 1000n),
          cpu: process.cpuUsage(),
          rss,
          peakRss,
          peerErrors,
          stats: server.stats(),
        });
        return;
      }
      case 'reset-peak':
        peakRss = process.memoryUsage.rss();
        emit('reset', { rss: peakRss });
        return;
      default:
        emit('error', { message: `unknown command ${command.cmd}` });
    }
  },
  async () => {
    clearInterval(sampler);
    await Promise.race([server.close(), new Promise((resolve) => setTimeout(resolve, 2000))]);
  },
);
