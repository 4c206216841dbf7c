/** The shape of bench/results/latest.json. */

export interface Machine {
  cpuModel: string;
  cores: number;
  memoryGiB: number;
  node: string;
  platform: string;
  kernel: string;
  redisServer?: string;
  natsServer?: string;
  ioredis?: string;
  natsClient?: string;
  commit?: string;
}

export interface CapacityRow {
  id: string;
  /** The case, e.g. "1 host/msg + REPORT". */
  label: string;
  /** What was measured, e.g. "imrelay relay". */
  system: string;
  skipped?: string;
  /** Frames (ROUTE in, or PUBLISH, or raw frames) handled per second. */
  framesPerSecond?: number;
  /** DELIVER frames written per second (imrelay relay only). */
  deliveriesPerSecond?: number;
  /** Server CPU (user + system) per frame, µs. */
  cpuMicrosPerFrame?: number;
  /** Server CPU time over wall time, % of one core. */
  cpuPercent?: number;
  peakRssBytes?: number;
  frameBytes?: number;
  frames?: number;
  seconds?: number;
  /** CPU other processes on the machine used during the window, % of one core. */
  otherCpuPercent?: number;
  /** The measuring window on the relay's monotonic clock, µs (to cut a --cpu-prof profile to it). */
  window?: { fromMicros: number; toMicros: number };
  /** Anything that did not add up (lost frames, missing reports). */
  problems?: string[];
  note?: string;
}

export interface Latency {
  p50: number;
  p99: number;
  p999: number;
  max: number;
  samples: number;
}

export interface E2ERow {
  workload: string;
  workloadLabel: string;
  /** `fixed`: offered a rate given on the command line (bench/run.ts --rate). */
  mode: 'peak' | 'half-peak' | 'fixed';
  system: string;
  systemLabel: string;
  skipped?: string;
  /** Offered rate (msg/s) in a half-peak or fixed run. */
  targetRate?: number;
  messagesPerSecond?: number;
  deliveriesPerSecond?: number;
  userDeliveriesPerSecond?: number;
  megabytesPerSecond?: number;
  latencyMs?: Latency;
  /** CPU of the node process (all senders and receivers) per message, µs. */
  nodeCpuMicrosPerMessage?: number;
  /** The kernel's share of it (socket reads and writes, loopback TCP), µs. */
  nodeSystemCpuMicrosPerMessage?: number;
  /** CPU of the node process over wall time, % of one core. */
  nodeCpuPercent?: number;
  /** CPU of the server process per message, µs. */
  serverCpuMicrosPerMessage?: number;
  serverPeakRssBytes?: number;
  sent?: number;
  consumed?: number;
  lost?: number;
  sendErrors?: number;
  offlineUsers?: number;
  firstError?: string;
  /** CPU other processes on the machine used during the window, % of one core. */
  otherCpuPercent?: number;
  /** The measuring window on the node process's monotonic clock, µs (to cut a --cpu-prof profile to it). */
  window?: { fromMicros: number; toMicros: number };
}

export interface SlowConsumerResult {
  skipped?: string;
  ok: boolean;
  rate: number;
  seconds: number;
  messageBytes: number;
  maxOutboundBytes: number;
  sent: number;
  /** Messages the reports said were handed to a node. */
  reportedDelivered: number;
  /** Messages reported undelivered with reason overflow. */
  reportedOverflow: number;
  reportedOther: number;
  /** Sends that were rejected with an error (the sender knows). */
  rejected: number;
  /** Rejected sends by error code. */
  rejections: Record<string, number>;
  /** Messages that reached the consumer loops. */
  consumed: number;
  /** sent - consumed - reported undelivered - rejected: must be 0. */
  unaccounted: number;
  perHost: Array<{ host: string; slow: boolean; sent: number; delivered: number; overflow: number; consumed: number }>;
  relayOverflows: number;
  rss: { startBytes: number; peakBytes: number; endBytes: number; samples: Array<[number, number]> };
  problems: string[];
}

export interface TargetRow {
  target: string;
  measured: string;
  met: boolean | undefined;
}

/** CPU used by processes other than the bench while a section ran, % of one core. */
export interface SectionLoad {
  otherCpuPercent: number;
  stealPercent: number;
}

export interface Results {
  version: 1;
  quick: boolean;
  startedAt: string;
  seconds: number;
  machine: Machine;
  /** The 1, 5 and 15 minute load averages when the run started. */
  loadAverageAtStart: number[];
  /** Per section: CPU that other processes on the machine used meanwhile. */
  load: Record<string, SectionLoad>;
  capacity: CapacityRow[];
  e2e: E2ERow[];
  slowConsumer?: SlowConsumerResult;
  targets: TargetRow[];
  /** Failures of the bench or of imrelay (the run exits non-zero). */
  errors: string[];
  /** Baselines that failed, and other things worth a look. */
  warnings: string[];
}
