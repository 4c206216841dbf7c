/**
 * Encode and decode rates of the framing codec.
 *
 *   node --import tsx bench/codec.ts [--quick]
 *
 * Each case runs for a fixed time after a warm-up, split into rounds taken in
 * turn across all cases so that a GC pause or a busy moment does not land on
 * one case only; the median round is reported as frames/s and MB/s (payload
 * bytes, 1 MB = 10^6 bytes). Decoders are fed a pre-built stream
 * cut into 64 KiB chunks, as a socket delivers it, so frames straddle chunks.
 * The naive decoder (Buffer.concat on every chunk) runs on the same chunks as
 * a baseline. Results are printed as a markdown table and written to
 * bench/results/codec.json.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { FrameDecoder, FrameWriter, encodeFrame } from '../src/codec/index.js';

const QUICK = process.argv.includes('--quick');
const CASE_MS = QUICK ? 100 : 600;
const ROUNDS = QUICK ? 1 : 5;
const WARMUP_MS = QUICK ? 50 : 200;
const SOCKET_CHUNK = 64 * 1024;
const STREAM_BYTES = 4 * 1024 * 1024;
const PAYLOAD_SIZES = [100, 1024, 64 * 1024];

interface Result {
  case: string;
  payloadBytes: number;
  frames: number;
  seconds: number;
  framesPerSecond: number;
  megabytesPerSecond: number;
  roundFramesPerSecond: number[];
}

/** One pass of a case: does some work and returns how many frames it handled. */
type Pass = () => number;

/** Runs `pass` repeatedly for about `ms` milliseconds; returns frames and elapsed seconds. */
function runFor(pass: Pass, ms: number): { frames: number; seconds: number } {
  const start = process.hrtime.bigint();
  const deadline = start + BigInt(ms) * 1_000_000n;
  let frames = 0;
  let now = start;
  do {
    frames += pass();
    now = process.hrtime.bigint();
  } while (now < deadline);
  return { frames, seconds: Number(now - start) / 1e9 };
}

function patterned(length: number, seed: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i++) out[i] = (i * 31 + seed) & 0xff;
  return out;
}

/** A stream of about STREAM_BYTES of frames, and the same stream cut into socket-sized chunks. */
function buildStream(payloadBytes: number): Stream {
  const frames = Math.max(16, Math.floor(STREAM_BYTES / (payloadBytes + 4)));
  const payload = patterned(payloadBytes, 1);
  const stream = Buffer.concat(Array.from({ length: frames }, () => encodeFrame(payload)));
  const chunks: Buffer[] = [];
  for (let at = 0; at < stream.length; at += SOCKET_CHUNK) {
    // Copy, so each chunk owns its memory like a socket read would.
    chunks.push(Buffer.from(stream.subarray(at, at + SOCKET_CHUNK)));
  }
  return { frames, chunks };
}

/** The baseline: grow one buffer with Buffer.concat on every chunk and slice frames off its front. */
class NaiveDecoder {
  private buffer = Buffer.alloc(0);

  push(chunk: Buffer): void {
    this.buffer = Buffer.concat([this.buffer, chunk]);
  }

  next(): Buffer | undefined {
    if (this.buffer.length < 4) return undefined;
    const length = this.buffer.readUInt32LE(0);
    if (this.buffer.length < 4 + length) return undefined;
    const payload = this.buffer.subarray(4, 4 + length);
    this.buffer = this.buffer.subarray(4 + length);
    return payload;
  }
}

let sink = 0;

function encodeFramePass(payload: Buffer): Pass {
  return () => {
    for (let i = 0; i < 256; i++) sink += encodeFrame(payload).length;
    return 256;
  };
}

function frameWriterPass(payload: Buffer): Pass {
  const writer = new FrameWriter();
  return () => {
    for (let i = 0; i < 256; i++) {
      const offset = writer.reserve(payload.length);
      payload.copy(writer.buf, offset);
    }
    for (const part of writer.take()) sink += part.length;
    return 256;
  };
}

interface Stream {
  frames: number;
  chunks: Buffer[];
}

function checkDecoded(stream: Stream, payloadBytes: number, count: number, bytes: number): number {
  if (count !== stream.frames || bytes !== stream.frames * payloadBytes) {
    throw new Error(`decoded ${count} frames (${bytes} bytes), expected ${stream.frames}`);
  }
  return count;
}

// The two decoder loops are the same on purpose: separate functions keep each
// call site monomorphic, so neither decoder pays for the other being measured.
function frameDecoderPass(stream: Stream, payloadBytes: number): Pass {
  return () => {
    const decoder = new FrameDecoder();
    let count = 0;
    let bytes = 0;
    for (const chunk of stream.chunks) {
      decoder.push(chunk);
      for (let p = decoder.next(); p !== undefined; p = decoder.next()) {
        count++;
        bytes += p.length;
        sink += p[p.length - 1]!;
      }
    }
    return checkDecoded(stream, payloadBytes, count, bytes);
  };
}

function naiveDecoderPass(stream: Stream, payloadBytes: number): Pass {
  return () => {
    const decoder = new NaiveDecoder();
    let count = 0;
    let bytes = 0;
    for (const chunk of stream.chunks) {
      decoder.push(chunk);
      for (let p = decoder.next(); p !== undefined; p = decoder.next()) {
        count++;
        bytes += p.length;
        sink += p[p.length - 1]!;
      }
    }
    return checkDecoded(stream, payloadBytes, count, bytes);
  };
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

function formatBytes(n: number): string {
  return n >= 1024 ? `${n / 1024} KiB` : `${n} B`;
}

function main(): void {
  const cases: { name: string; payloadBytes: number; pass: Pass }[] = [];
  for (const size of PAYLOAD_SIZES) {
    const payload = patterned(size, 2);
    const stream = buildStream(size);
    cases.push(
      { name: 'encodeFrame', payloadBytes: size, pass: encodeFramePass(payload) },
      { name: 'FrameWriter', payloadBytes: size, pass: frameWriterPass(payload) },
      { name: 'FrameDecoder', payloadBytes: size, pass: frameDecoderPass(stream, size) },
      { name: 'naive concat decoder', payloadBytes: size, pass: naiveDecoderPass(stream, size) },
    );
  }

  for (const c of cases) runFor(c.pass, WARMUP_MS);

  const rounds = cases.map(() => [] as { frames: number; seconds: number }[]);
  for (let round = 0; round < ROUNDS; round++) {
    cases.forEach((c, i) => rounds[i]!.push(runFor(c.pass, CASE_MS / ROUNDS)));
  }

  const results: Result[] = cases.map((c, i) => {
    const runs = rounds[i]!;
    const roundFramesPerSecond = runs.map((r) => r.frames / r.seconds);
    const framesPerSecond = median(roundFramesPerSecond);
    return {
      case: c.name,
      payloadBytes: c.payloadBytes,
      frames: runs.reduce((n, r) => n + r.frames, 0),
      seconds: runs.reduce((n, r) => n + r.seconds, 0),
      framesPerSecond,
      megabytesPerSecond: (framesPerSecond * c.payloadBytes) / 1e6,
      roundFramesPerSecond,
    };
  });

  const lines = [
    '| case | payload | frames/s | MB/s |',
    '| --- | ---: | ---: | ---: |',
    ...results.map(
      (r) =>
        `| ${r.case} | ${formatBytes(r.payloadBytes)} | ${Math.round(r.framesPerSecond).toLocaleString('en-US')} | ${r.megabytesPerSecond.toFixed(1)} |`,
    ),
  ];
  console.log(lines.join('\n'));
  console.log(
    `\nNode ${process.version}, ${CASE_MS} ms per case in ${ROUNDS} round(s), median shown${QUICK ? ' (--quick)' : ''}; ` +
      `decoders fed ${SOCKET_CHUNK / 1024} KiB chunks; MB/s counts payload bytes.`,
  );

  const out = join(dirname(fileURLToPath(import.meta.url)), 'results', 'codec.json');
  mkdirSync(dirname(out), { recursive: true });
  const report = {
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    date: new Date().toISOString(),
    quick: QUICK,
    caseMs: CASE_MS,
    rounds: ROUNDS,
    socketChunkBytes: SOCKET_CHUNK,
    results,
  };
  writeFileSync(out, JSON.stringify(report, null, 2) + '\n');
  console.log(`Results written to ${out}`);
  if (sink === -1) console.log(sink);
}

main();
