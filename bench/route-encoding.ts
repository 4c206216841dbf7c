/**
 * What a node's library code costs per message, without sockets: writing a
 * ROUTE (routing table and ~100-byte JSON payload) into the outbound slab,
 * and reading a DELIVER back out of a socket chunk (sender id, user list,
 * payload text), for the end-to-end bench's tables: one host with 5 users,
 * and 10 hosts with 20 users each.
 *
 *   node --import tsx bench/route-encoding.ts [--quick] [--with-ioredis]
 *
 * `--with-ioredis` loads ioredis first, as a node on the Redis transport
 * does: ioredis 6 defines a `class extends String` and so leaves
 * `String.prototype` in its slow layout, which per-character string method
 * calls must not pay for (see id-writer.ts).
 *
 * Each case runs in rounds taken in turn across all cases; the median round
 * is reported, in nanoseconds per message.
 */
import { FrameWriter } from '../src/codec/index.js';
import { utf8Text } from '../src/codec/text.js';
import { OriginCache } from '../src/client/origin-cache.js';
import { DeliverSpans, PayloadKind, decodeUserList, encodeDeliver, scanDeliver, writeRoute } from '../src/protocol/index.js';

const QUICK = process.argv.includes('--quick');
if (process.argv.includes('--with-ioredis')) await import('ioredis');
const ROUNDS = QUICK ? 1 : 7;
const ROUND_MS = QUICK ? 50 : 300;

const hostOf = (i: number): string => `imrelay1-r${i}`;
const usersOf = (host: string, n: number): string[] => Array.from({ length: n }, (_, k) => `${host}-u${k}`);
const tableOf = (hosts: number, users: number): Record<string, string[]> =>
  Object.fromEntries(Array.from({ length: hosts }, (_, i) => [hostOf(i), usersOf(hostOf(i), users)]));
const payload = JSON.stringify({ id: 1_000_000, t: 12345.678901234, text: 'x'.repeat(50) });

/** One message's worth of work; returns something so it is not optimised away. */
type Step = () => number;

function writeCase(hosts: number, users: number): Step {
  const table = tableOf(hosts, users);
  const writer = new FrameWriter();
  return () => {
    const written: string[] = [];
    const n = writeRoute(writer, 1, 7, table, payload, 1 << 20, written);
    if (writer.length > 1 << 20) writer.take();
    return n + written.length;
  };
}

function readCase(users: number): Step {
  const frame = encodeDeliver('imrelay1-s0', usersOf(hostOf(0), users), PayloadKind.JSON, Buffer.from(payload));
  // The DELIVER inside a larger chunk, as a socket read hands it over.
  const chunk = Buffer.concat([Buffer.alloc(40), frame, Buffer.alloc(40)]);
  const spans = new DeliverSpans();
  const origins = new OriginCache();
  return () => {
    scanDeliver(chunk, spans, 40, 40 + frame.length);
    const from = origins.get(chunk, spans.originStart, spans.originEnd);
    const list = decodeUserList(chunk, spans.usersStart, spans.payloadStart);
    const text = utf8Text(chunk, spans.payloadStart, spans.payloadEnd);
    return from.length + list.length + text.length;
  };
}

const cases: Array<{ name: string; step: Step; rounds: number[] }> = [
  { name: 'write ROUTE, 1 host × 5 users, ~100 B JSON', step: writeCase(1, 5), rounds: [] },
  { name: 'write ROUTE, 10 hosts × 20 users, ~100 B JSON', step: writeCase(10, 20), rounds: [] },
  { name: 'read DELIVER, 5 users, ~100 B JSON (text, not parsed)', step: readCase(5), rounds: [] },
  { name: 'read DELIVER, 20 users, ~100 B JSON (text, not parsed)', step: readCase(20), rounds: [] },
];

let sink = 0;
function round(step: Step, ms: number): number {
  let n = 0;
  const end = performance.now() + ms;
  const start = performance.now();
  while (performance.now() < end) {
    for (let i = 0; i < 1000; i++) sink += step();
    n += 1000;
  }
  return ((performance.now() - start) * 1e6) / n;
}

for (const c of cases) round(c.step, ROUND_MS);
for (let r = 0; r < ROUNDS; r++) for (const c of cases) c.rounds.push(round(c.step, ROUND_MS));
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[xs.length >> 1]!;
process.stdout.write('| case | ns per message (median round) |\n| --- | --- |\n');
for (const c of cases) process.stdout.write(`| ${c.name} | ${Math.round(median(c.rounds))} |\n`);
if (sink === 0) process.stdout.write('\n');
