/** How `imrelay serve` writes its log lines. */
export type LogFormat = 'text' | 'json';

/** The settings of `imrelay serve` that are not the relay's options: monitoring, logs, shutdown. */
export interface OpsConfig {
  /** Port of the HTTP listener for `/metrics` and `/healthz`; none when undefined (0 picks a free one). */
  metricsPort: number | undefined;
  /** Interface of that listener. */
  metricsHost: string;
  /** `text` lines for a terminal, or `json` lines for a log pipeline. */
  logFormat: LogFormat;
  /**
   * How long a SIGTERM drain may take: nodes are told to go, and what is in
   * flight is flushed; nodes still connected then are cut off.
   */
  drainGraceMs: number;
}

export const OPS_DEFAULTS: Readonly<OpsConfig> = {
  metricsPort: undefined,
  // Metrics tell a lot about a cluster: loopback unless asked otherwise.
  metricsHost: '127.0.0.1',
  logFormat: 'text',
  drainGraceMs: 10_000,
};
