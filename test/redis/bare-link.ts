/**
 * A Redis link driven by hand, without a RelayClient: the test sees every
 * frame the link hands up (answers and deliveries, as bytes), every warning
 * and its close, and writes frames into it as a client would.
 */
import { randomBytes } from 'node:crypto';
import { FrameWriter } from '../../src/codec/frame-writer.js';
import { ClosedError, type RelayError } from '../../src/errors.js';
import { Secret } from '../../src/secret.js';
import { createLink, resolveTransport } from '../../src/transport/factory.js';
import type { LinkTerms } from '../../src/transport/link.js';
import type { RedisTransportOptions } from '../../src/transport/redis/options.js';
import type { RedisLink } from '../../src/transport/redis/redis-link.js';
import { withTimeout } from '../helpers/events.js';
import { track } from '../helpers/harness.js';

export interface BareLink {
  readonly link: RedisLink;
  /** Copies of the frames the link handed up, in order. */
  readonly frames: Buffer[];
  readonly warnings: RelayError[];
  readonly ready: Promise<LinkTerms>;
  /** Resolves with the close reason once the link closed. */
  readonly closed: Promise<RelayError | undefined>;
  /** Writes whole frames (payloads without their length prefix), as one flush of a client. */
  write(payloads: Buffer[]): void;
  /** Writes frames already length-prefixed (a FrameWriter's take()), as one flush of a client. */
  writeEncoded(parts: Buffer[]): void;
  /** Resolves once `n` frames have come up in all. */
  waitFrames(n: number, timeoutMs?: number): Promise<void>;
}

export interface BareLinkOptions {
  target: string;
  nodeId: string;
  secret?: string | undefined;
  redisOptions?: RedisTransportOptions | undefined;
}

export function openBareLink(options: BareLinkOptions): BareLink {
  const secret = options.secret === undefined ? undefined : new Secret(options.secret);
  const spec = resolveTransport({ url: options.target, redisOptions: options.redisOptions }, 'binary', secret);
  const frames: Buffer[] = [];
  const warnings: RelayError[] = [];
  const waiters = new Set<() => void>();
  let onReady!: (terms: LinkTerms) => void;
  let onClose!: (error: RelayError | undefined) => void;
  const ready = new Promise<LinkTerms>((resolve) => (onReady = resolve));
  const closed = new Promise<RelayError | undefined>((resolve) => (onClose = resolve));
  // What a RelayClient would give its link (a variable, so that fields other transports need pass through).
  const context = {
    nodeId: options.nodeId,
    incarnation: randomBytes(8),
    maxFrameBytes: 1024 * 1024,
    deliveryWindow: 1024,
    connectTimeoutMs: 2_000,
  };
  const link = createLink(spec, context, {
    onReady: (terms) => onReady(terms),
    onFrame: (buf, start, end) => {
      frames.push(Buffer.from(buf.subarray(start, end)));
      for (const waiter of [...waiters]) waiter();
    },
    onClose: (error) => onClose(error),
    onWarning: (error) => warnings.push(error),
  }) as RedisLink;
  track(`bare redis link ${options.nodeId}`, () => {
    link.destroy(new ClosedError('the test is over'));
    return closed;
  });
  const writer = new FrameWriter();
  return {
    link,
    frames,
    warnings,
    ready,
    closed,
    write(payloads) {
      for (const payload of payloads) writer.appendFrame(payload);
      link.write(writer.take());
    },
    writeEncoded(parts) {
      link.write(parts);
    },
    waitFrames(n, timeoutMs = 3_000) {
      return withTimeout(
        new Promise<void>((resolve) => {
          const check = (): void => {
            if (frames.length < n) return;
            waiters.delete(check);
            resolve();
          };
          waiters.add(check);
          check();
        }),
        timeoutMs,
        `${n} frames from link ${options.nodeId}`,
      );
    },
  };
}
