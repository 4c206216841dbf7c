import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SERVER_DEFAULTS as D, type RelayServerOptions } from '../server/options.js';
import { OPS_DEFAULTS, type OpsConfig } from './ops-config.js';

/**
 * A `serve` flag: its name (its environment variable is `IMRELAY_` and the
 * name in capitals, see {@link envOf}), and how it sets `T`: the relay's
 * options, or the command's own settings.
 */
interface Flag<T> {
  flag: string;
  help: string;
  /** A switch: given without a value on the command line (`on`); its variable says `on` or `off`. */
  switch?: true;
  apply(target: T, value: string): void;
}

/** A flag taking a whole number into the relay option `key`. */
function whole(flag: string, key: NumericOption, help: string): Flag<RelayServerOptions> {
  return { flag, help, apply: (o, v) => ((o[key] as number) = int(flag, v)) };
}

type NumericOption = {
  [K in keyof RelayServerOptions]-?: NonNullable<RelayServerOptions[K]> extends number ? K : never;
}[keyof RelayServerOptions];

/** The environment variable of a flag: `--max-nodes` reads `IMRELAY_MAX_NODES`. */
function envOf(flag: string): string {
  return `IMRELAY_${flag.toUpperCase().replace(/-/g, '_')}`;
}

const FLAGS: Array<Flag<RelayServerOptions>> = [
  { flag: 'host', help: `interface to listen on (default ${D.host})`, apply: (o, v) => (o.host = v) },
  whole('port', 'port', `TCP port (default ${D.port})`),
  {
    flag: 'secret-file',
    help: 'file holding the shared secret(s), one per line',
    apply: (o, v) => (o.secret = readSecrets(v)),
  },
  {
    flag: 'master-secret-file',
    help: 'file holding the master secret(s) node secrets derive from, current first',
    apply: (o, v) => (o.masterSecret = readSecrets(v)),
  },
  whole('max-frame-bytes', 'maxFrameBytes', `largest frame accepted (default ${D.maxFrameBytes})`),
  whole('max-nodes', 'maxNodes', `most binary nodes at once (default ${D.maxNodes})`),
  whole(
    'max-legacy-nodes',
    'maxLegacyNodes',
    `most Go transmit nodes at once, counted apart from --max-nodes (default ${D.maxLegacyNodes})`,
  ),
  whole(
    'max-pending-connections',
    'maxPendingConnections',
    `most connections not past their hello at once (default ${D.maxPendingConnections})`,
  ),
  whole(
    'max-unproven-per-address',
    'maxUnprovenPerAddress',
    `most unproven connections from one IP address (default ${D.maxUnprovenPerAddress})`,
  ),
  whole(
    'auth-failure-delay-max-ms',
    'authFailureDelayMaxMs',
    `longest delay before answering a failed handshake (default ${D.authFailureDelayMaxMs})`,
  ),
  whole('max-users-per-node', 'maxUsersPerNode', `most users one node may hold in the relay's presence (default ${D.maxUsersPerNode})`),
  whole('max-locate-ids', 'maxLocateIds', `most ids one locate may ask about, at least 1000 (default ${D.maxLocateIds})`),
  whole('max-outbound-bytes', 'maxOutboundBytes', `bytes buffered per node before deliveries overflow (default ${D.maxOutboundBytes})`),
  whole('hello-timeout-ms', 'helloTimeoutMs', `time to complete the hello (default ${D.helloTimeoutMs})`),
  whole('heartbeat-interval-ms', 'heartbeatIntervalMs', `idle time before a ping (default ${D.heartbeatIntervalMs})`),
  whole('heartbeat-timeout-ms', 'heartbeatTimeoutMs', 'silence before a node is dropped (default 2x interval)'),
  {
    flag: 'legacy',
    help: "accept Go transmit nodes: 'on', 'off', or addresses/subnets (10.0.0.0/24,10.0.1.5); default on without a secret",
    apply: (o, v) =>
      (o.legacy =
        v === 'on'
          ? true
          : v === 'off'
            ? false
            : {
                allow: v
                  .split(',')
                  .map((a) => a.trim())
                  .filter(Boolean),
              }),
  },
  whole('presence-grace-ms', 'presenceGraceMs', `how long a dropped node's users stay located on it (default ${D.presenceGraceMs})`),
  whole(
    'delivery-timeout-ms',
    'deliveryTimeoutMs',
    `how long a message may wait for a node's application before it is reported overflow (default ${D.deliveryTimeoutMs})`,
  ),
  whole(
    'startup-grace-ms',
    'startupGraceMs',
    'how long a fresh relay keeps messages for nodes not connected yet (default: the presence grace; 0: off)',
  ),
  {
    flag: 'duplicate-node',
    help: "'replace' (default) or 'reject' a second connection with a known node id",
    apply: (o, v) => (o.duplicateNode = v as 'replace' | 'reject'),
  },
  {
    flag: 'tls-cert',
    help: "speak TLS: file holding the relay's certificate chain (PEM); needs --tls-key",
    apply: (o, v) => (o.tls = { ...o.tls, cert: readPem('tls-cert', v) }),
  },
  {
    flag: 'tls-key',
    help: 'file holding the private key of --tls-cert (PEM, unencrypted)',
    apply: (o, v) => (o.tls = { ...o.tls, key: readPem('tls-key', v) }),
  },
  {
    flag: 'tls-ca',
    help: 'file holding the CA certificate(s) that sign node certificates (PEM)',
    apply: (o, v) => (o.tls = { ...o.tls, ca: readPem('tls-ca', v) }),
  },
  {
    flag: 'tls-require-client-cert',
    help: "nodes must present a certificate signed by --tls-ca that names their node id (variable: 'on' or 'off')",
    switch: true,
    apply: (o, v) => {
      if (!onOff('tls-require-client-cert', v)) return;
      o.tls = { ...o.tls, requestCert: true };
      o.tlsNodeIdentity = 'require';
    },
  },
];

/** The `serve` flags of the command itself (monitoring, logs, shutdown), not relay options. */
const OPS_FLAGS: Array<Flag<OpsConfig>> = [
  {
    flag: 'metrics-port',
    help: 'serve /metrics (Prometheus) and /healthz on this HTTP port (default: off; 0 picks a free port)',
    apply: (c, v) => (c.metricsPort = int('metrics-port', v)),
  },
  {
    flag: 'metrics-host',
    help: `interface of the metrics listener (default ${OPS_DEFAULTS.metricsHost})`,
    apply: (c, v) => (c.metricsHost = v),
  },
  {
    flag: 'log-format',
    help: "'text' (default) or 'json' (one JSON object per line)",
    apply: (c, v) => {
      if (v !== 'text' && v !== 'json') throw new UsageError(`--log-format must be 'text' or 'json', got ${JSON.stringify(v)}`);
      c.logFormat = v;
    },
  },
  {
    flag: 'drain-grace-ms',
    help: `on SIGTERM, how long nodes have to finish and hang up before they are cut off (default ${OPS_DEFAULTS.drainGraceMs})`,
    apply: (c, v) => {
      c.drainGraceMs = int('drain-grace-ms', v);
      if (c.drainGraceMs === 0) throw new UsageError('--drain-grace-ms must be at least 1');
    },
  },
];

/** Thrown for a bad command line, with the text to print. */
export class UsageError extends Error {}

/**
 * Builds the server options for `imrelay serve` from flags, falling back to
 * `IMRELAY_*` environment variables. Flags win over the environment.
 */
export function serveConfig(argv: string[], env: NodeJS.ProcessEnv): RelayServerOptions {
  return serveSettings(argv, env).options;
}

/**
 * The relay's options and the command's own settings (see {@link OpsConfig})
 * for `imrelay serve`, from flags and `IMRELAY_*` variables.
 */
export function serveSettings(argv: string[], env: NodeJS.ProcessEnv): { options: RelayServerOptions; ops: OpsConfig } {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(
        [...FLAGS, ...OPS_FLAGS].map((f) => [f.flag, { type: 'switch' in f && f.switch ? ('boolean' as const) : ('string' as const) }]),
      ),
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const options: RelayServerOptions = {};
  for (const f of FLAGS) {
    const given = values[f.flag];
    const value = given === true ? 'on' : ((given as string | undefined) ?? env[envOf(f.flag)]);
    if (value !== undefined && value !== '') f.apply(options, value);
  }
  checkTlsFlags(options);
  const ops: OpsConfig = { ...OPS_DEFAULTS };
  for (const f of OPS_FLAGS) {
    const value = (values[f.flag] as string | undefined) ?? env[envOf(f.flag)];
    if (value !== undefined && value !== '') f.apply(ops, value);
  }
  return { options, ops };
}

export function serveHelp(): string {
  const all = [...FLAGS, ...OPS_FLAGS];
  const width = Math.max(...all.map((f) => f.flag.length)) + 4;
  return all.map((f) => `  --${f.flag.padEnd(width)}${f.help}\n  ${''.padEnd(width + 2)}env ${envOf(f.flag)}`).join('\n');
}

function int(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

/** The secrets in a file: one per line, blank lines and `#` comments skipped. */
export function readSecrets(path: string): string[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`cannot read the secret file ${path}: ${(err as Error).message}`);
  }
  const secrets = text
    .split(/\r?\n/)
    .map((line) => line.trim())
    .filter((line) => line && !line.startsWith('#'));
  if (secrets.length === 0) throw new UsageError(`the secret file ${path} holds no secret`);
  return secrets;
}

/** A PEM file named by a TLS flag, read at start-up; a file that cannot be read is a usage error naming the flag. */
function readPem(flag: string, path: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (err) {
    throw new UsageError(`--${flag}: cannot read ${path}: ${(err as Error).message}`);
  }
}

function onOff(flag: string, value: string): boolean {
  if (/^(on|true|1|yes)$/i.test(value)) return true;
  if (/^(off|false|0|no)$/i.test(value)) return false;
  throw new UsageError(`--${flag} must be 'on' or 'off', got ${JSON.stringify(value)}`);
}

/** The TLS flags that only make sense together. */
function checkTlsFlags(options: RelayServerOptions): void {
  const tls = options.tls;
  if (tls === undefined) return;
  if (tls.cert === undefined || tls.key === undefined) {
    throw new UsageError('TLS needs both --tls-cert and --tls-key (or IMRELAY_TLS_CERT and IMRELAY_TLS_KEY)');
  }
  if (tls.requestCert && tls.ca === undefined) {
    throw new UsageError('--tls-require-client-cert needs --tls-ca, the CA that signs node certificates');
  }
}
