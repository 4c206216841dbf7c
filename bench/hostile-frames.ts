/**
 * What two hostile frame patterns cost a relay process: its peak RSS, and how
 * long an honest node's PING waits for its PONG meanwhile.
 *
 *   node --import tsx bench/hostile-frames.ts [--root=DIR] [--case=reset-parts|locate] [--frames=N]
 *
 * `--root` runs the relay of another checkout (to compare before and after a
 * change); the frames are the same wire bytes either way.
 *
 * - reset-parts: an authenticated node sends N presence RESET_PART frames of
 *   about 1 MB (8-byte ids) and never the RESET that would end them.
 * - locate: eight nodes with 255-byte ids hold the same 60,000 users; one
 *   node sends a single LOCATE of about 1 MB asking for 150,000 ids.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { join } from 'node:path';
import { FrameDecoder, encodeFrame } from '../src/codec/index.js';
import {
  FrameType,
  PROTOCOL_VERSION_MAX,
  PROTOCOL_VERSION_MIN,
  PresenceOp,
  decodeControl,
  encodeControl,
  encodeLocate,
  encodePresence,
  newNonce,
} from '../src/protocol/index.js';

const args = new Map(process.argv.slice(2).map((a) => a.replace(/^--/, '').split('=') as [string, string]));
const root = args.get('root') ?? process.cwd();
const which = args.get('case') ?? 'reset-parts';

interface Peer {
  socket: Socket;
  frames: Buffer[];
  pongs: number;
  closed: boolean;
  wait(pred: () => boolean, ms: number): Promise<boolean>;
}

function peer(port: number): Promise<Peer> {
  return new Promise((resolve, reject) => {
    const socket = connect({ host: '127.0.0.1', port });
    const decoder = new FrameDecoder({ maxFrameBytes: 1 << 30 });
    const waiters = new Set<() => void>();
    const p: Peer = {
      socket,
      frames: [],
      pongs: 0,
      closed: false,
      wait: (pred, ms) =>
        new Promise((done) => {
          const check = (): void => {
            if (!pred()) return;
            waiters.delete(check);
            clearTimeout(timer);
            done(true);
          };
          const timer = setTimeout(() => {
            waiters.delete(check);
            done(false);
          }, ms);
          waiters.add(check);
          check();
        }),
    };
    socket.on('data', (chunk) => {
      decoder.push(chunk);
      for (let f = decoder.next(); f !== undefined; f = decoder.next()) {
        if (f[0] === FrameType.PONG) p.pongs++;
        else p.frames.push(Buffer.from(f.length <= 4096 ? f : f.subarray(0, 64)));
      }
      for (const w of [...waiters]) w();
    });
    socket.on('error', () => {});
    socket.on('drain', () => {
      for (const w of [...waiters]) w();
    });
    socket.on('close', () => {
      p.closed = true;
      for (const w of [...waiters]) w();
    });
    socket.once('connect', () => resolve(p));
    socket.once('error', reject);
  });
}

async function hello(p: Peer, nodeId: string): Promise<void> {
  const nonce = newNonce();
  p.socket.write(
    encodeControl({
      type: FrameType.HELLO,
      minVersion: PROTOCOL_VERSION_MIN,
      maxVersion: PROTOCOL_VERSION_MAX,
      nodeId,
      maxFrameBytes: 1 << 30,
      features: 0,
      nonce,
    }),
  );
  await p.wait(() => p.frames.some((f) => f[0] === FrameType.WELCOME), 5_000);
}

function peakRss(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return Number(/VmHWM:\s+(\d+) kB/.exec(status)![1]) * 1024;
}

/** The time an honest node's PING takes to come back as a PONG. */
async function pingMs(p: Peer): Promise<number> {
  const before = p.pongs;
  const started = performance.now();
  p.socket.write(encodeControl({ type: FrameType.PING }));
  await p.wait(() => p.pongs > before || p.closed, 120_000);
  return performance.now() - started;
}

const child = spawn(process.execPath, ['--import', 'tsx', join(root, 'src/cli/main.ts'), 'serve', '--port', '0'], {
  cwd: root,
  stdio: ['ignore', 'pipe', 'inherit'],
});
let out = '';
const port = await new Promise<number>((resolve) => {
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    const match = /listening on 127\.0\.0\.1:(\d+)/.exec(out);
    if (match) resolve(Number(match[1]));
  });
});
const pid = child.pid!;
// Made before the clock starts: building them would stall this process's own PING timing.
const partFrames = which === 'reset-parts' ? Array.from({ length: Number(args.get('frames') ?? 200) }, (_, i) => resetPart(i)) : [];

/** A RESET_PART of 111,000 distinct 8-byte ids (about 1 MB), written byte by byte: fast to make. */
function resetPart(part: number): Buffer {
  const count = 111_000;
  const p = Buffer.allocUnsafe(6 + count * 9);
  p[0] = FrameType.PRESENCE;
  p[1] = PresenceOp.RESET_PART;
  p.writeUInt32LE(count, 2);
  for (let j = 0, pos = 6; j < count; j++, pos += 9) {
    p[pos] = 8;
    p.write(`${String(part).padStart(3, '0')}${String(j).padStart(5, '0')}`, pos + 1, 'latin1');
  }
  return encodeFrame(p);
}
const baseline = peakRss(pid);
const honest = await peer(port);
await hello(honest, 'honest');
let worstPing = 0;
let pinging = true;
const pinger = (async () => {
  while (pinging && !honest.closed) worstPing = Math.max(worstPing, await pingMs(honest));
})();

const started = performance.now();
let outcome = '';
if (which === 'reset-parts') {
  const frames = Number(args.get('frames') ?? 200);
  const hostile = await peer(port);
  await hello(hostile, 'hostile');
  let sent = 0;
  for (const frame of partFrames) {
    if (hostile.closed) break;
    if (!hostile.socket.write(frame)) await hostile.wait(() => hostile.closed || !hostile.socket.writableNeedDrain, 600_000);
    sent++;
  }
  // A LOCATE after the parts: its answer says every part before it was taken in.
  hostile.socket.write(encodeFrame(encodeLocate(1, ['x'])));
  await hostile.wait(() => hostile.closed || hostile.frames.some((f) => f[0] === FrameType.LOCATED), 600_000);
  const error = hostile.frames.find((f) => f[0] === FrameType.ERROR);
  outcome = `${sent} of ${frames} RESET_PART frames written; ${error ? `closed with ${(decodeControl(error) as { code: string }).code}` : 'all accepted'}`;
} else {
  const users = Array.from({ length: 60_000 }, (_, i) => `u${i}`);
  for (let n = 0; n < 8; n++) {
    const holder = await peer(port);
    await hello(holder, `${n}${'n'.repeat(254)}`);
    for (let i = 0; i < users.length; i += 20_000)
      holder.socket.write(encodeFrame(encodePresence(PresenceOp.ONLINE, users.slice(i, i + 20_000))));
    holder.socket.write(encodeFrame(encodeLocate(1, ['u0'])));
    await holder.wait(() => holder.frames.some((f) => f[0] === FrameType.LOCATED), 60_000);
  }
  const asker = await peer(port);
  await hello(asker, 'asker');
  const asked = Array.from({ length: 150_000 }, (_, i) => users[i % users.length]!);
  const frame = encodeFrame(encodeLocate(2, asked));
  asker.socket.write(frame);
  await asker.wait(() => asker.closed || asker.frames.some((f) => f[0] === FrameType.LOCATED || f[0] === FrameType.ERROR), 600_000);
  const error = asker.frames.find((f) => f[0] === FrameType.ERROR);
  outcome = `one LOCATE of ${frame.length} bytes for ${asked.length} ids: ${error ? `refused with ${(decodeControl(error) as { code: string }).code}` : 'answered'}`;
}
const elapsed = performance.now() - started;
if (honest.closed) {
  const why = honest.frames.find((f) => f[0] === FrameType.ERROR);
  outcome += `; the honest node was cut off${why ? ` with ${(decodeControl(why) as { code: string }).code}` : ''}${child.exitCode !== null ? ` (the relay exited ${child.exitCode})` : ''}`;
}
pinging = false;
await pinger;
const peak = peakRss(pid);
child.kill('SIGKILL');
const mb = (b: number): string => `${(b / 1024 / 1024).toFixed(0)} MB`;
console.log(
  `${which} (${root}): ${outcome} in ${(elapsed / 1000).toFixed(1)} s; relay peak RSS ${mb(peak)} (started at ${mb(baseline)}); honest node's slowest PING ${worstPing.toFixed(0)} ms`,
);
process.exit(0);
