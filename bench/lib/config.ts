/** How long and how much each part of the bench runs, full and --quick. */
export interface BenchConfig {
  quick: boolean;
  /** Retries of a measurement taken while other processes used much CPU (none in --quick: it is a smoke test). */
  retries: number;
  capacity: {
    warmupMs: number;
    measureMs: number;
    /** Upper bound on frames written per case (the loop also stops at the time bound). */
    maxFrames: number;
    /** Frames per pre-encoded batch (one socket write). */
    batchFrames: number;
    /** PUBLISH requests redis-benchmark makes. */
    redisRequests: number;
    /** Longest wait for the relay to finish what was written after a case stops. */
    quiesceMs: number;
  };
  e2e: {
    warmupMs: number;
    measureMs: number;
    drainMs: number;
    maxMessages: number;
    maxSamples: number;
  };
  slow: {
    /** Messages per second the sender offers, one host per message over 4 hosts. */
    rate: number;
    durationMs: number;
    messageBytes: number;
    /** The relay's per-node outbound limit for this run. */
    maxOutboundBytes: number;
    sampleMs: number;
    drainMs: number;
  };
}

export function benchConfig(quick: boolean): BenchConfig {
  return quick
    ? {
        quick,
        retries: 0,
        capacity: { warmupMs: 100, measureMs: 250, maxFrames: 5_000_000, batchFrames: 1024, redisRequests: 20_000, quiesceMs: 5_000 },
        e2e: { warmupMs: 60, measureMs: 200, drainMs: 5_000, maxMessages: 1_000_000, maxSamples: 1_000_000 },
        slow: { rate: 12_000, durationMs: 1_000, messageBytes: 4096, maxOutboundBytes: 1024 * 1024, sampleMs: 50, drainMs: 10_000 },
      }
    : {
        quick,
        retries: 2,
        capacity: {
          warmupMs: 700,
          measureMs: 3_000,
          maxFrames: 50_000_000,
          batchFrames: 2048,
          redisRequests: 2_000_000,
          quiesceMs: 20_000,
        },
        e2e: { warmupMs: 700, measureMs: 3_000, drainMs: 15_000, maxMessages: 20_000_000, maxSamples: 4_000_000 },
        slow: { rate: 20_000, durationMs: 6_000, messageBytes: 1024, maxOutboundBytes: 8 * 1024 * 1024, sampleMs: 200, drainMs: 60_000 },
      };
}
