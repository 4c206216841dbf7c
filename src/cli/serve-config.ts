import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SERVER_DEFAULTS as D, type RelayServerOptions } from '../server/options.js';

/** A `serve` flag: its option name, its environment variable, and how to read it. */
interface Flag {
  flag: string;
  env: string;
  help: string;
  apply(options: RelayServerOptions, value: string): void;
}

const FLAGS: Flag[] = [
  { flag: 'host', env: 'IMRELAY_HOST', help: `interface to listen on (default ${D.host})`, apply: (o, v) => (o.host = v) },
  { flag: 'port', env: 'IMRELAY_PORT', help: `TCP port (default ${D.port})`, apply: (o, v) => (o.port = int('port', v)) },
  {
    flag: 'secret-file',
    env: 'IMRELAY_SECRET_FILE',
    help: 'file holding the shared secret(s), one per line',
    apply: (o, v) => (o.secret = readSecrets(v)),
  },
  {
    flag: 'max-frame-bytes',
    env: 'IMRELAY_MAX_FRAME_BYTES',
    help: `largest frame accepted (default ${D.maxFrameBytes})`,
    apply: (o, v) => (o.maxFrameBytes = int('max-frame-bytes', v)),
  },
  {
    flag: 'max-nodes',
    env: 'IMRELAY_MAX_NODES',
    help: `most nodes at once (default ${D.maxNodes})`,
    apply: (o, v) => (o.maxNodes = int('max-nodes', v)),
  },
  {
    flag: 'max-outbound-bytes',
    env: 'IMRELAY_MAX_OUTBOUND_BYTES',
    help: `bytes buffered per node before deliveries overflow (default ${D.maxOutboundBytes})`,
    apply: (o, v) => (o.maxOutboundBytes = int('max-outbound-bytes', v)),
  },
  {
    flag: 'hello-timeout-ms',
    env: 'IMRELAY_HELLO_TIMEOUT_MS',
    help: `time to complete the hello (default ${D.helloTimeoutMs})`,
    apply: (o, v) => (o.helloTimeoutMs = int('hello-timeout-ms', v)),
  },
  {
    flag: 'heartbeat-interval-ms',
    env: 'IMRELAY_HEARTBEAT_INTERVAL_MS',
    help: `idle time before a ping (default ${D.heartbeatIntervalMs})`,
    apply: (o, v) => (o.heartbeatIntervalMs = int('heartbeat-interval-ms', v)),
  },
  {
    flag: 'heartbeat-timeout-ms',
    env: 'IMRELAY_HEARTBEAT_TIMEOUT_MS',
    help: 'silence before a node is dropped (default 2x interval)',
    apply: (o, v) => (o.heartbeatTimeoutMs = int('heartbeat-timeout-ms', v)),
  },
  {
    flag: 'legacy',
    env: 'IMRELAY_LEGACY',
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
  {
    flag: 'presence-grace-ms',
    env: 'IMRELAY_PRESENCE_GRACE_MS',
    help: `how long a dropped node's users stay located on it (default ${D.presenceGraceMs})`,
    apply: (o, v) => (o.presenceGraceMs = int('presence-grace-ms', v)),
  },
  {
    flag: 'delivery-timeout-ms',
    env: 'IMRELAY_DELIVERY_TIMEOUT_MS',
    help: `how long a message may wait for a node's application before it is reported overflow (default ${D.deliveryTimeoutMs})`,
    apply: (o, v) => (o.deliveryTimeoutMs = int('delivery-timeout-ms', v)),
  },
  {
    flag: 'startup-grace-ms',
    env: 'IMRELAY_STARTUP_GRACE_MS',
    help: 'how long a fresh relay keeps messages for nodes not connected yet (default: the presence grace; 0: off)',
    apply: (o, v) => (o.startupGraceMs = int('startup-grace-ms', v)),
  },
  {
    flag: 'duplicate-node',
    env: 'IMRELAY_DUPLICATE_NODE',
    help: "'replace' (default) or 'reject' a second connection with a known node id",
    apply: (o, v) => (o.duplicateNode = v as 'replace' | 'reject'),
  },
];

/** Thrown for a bad command line, with the text to print. */
export class UsageError extends Error {}

/**
 * Builds the server options for `imrelay serve` from flags, falling back to
 * `IMRELAY_*` environment variables. Flags win over the environment.
 */
export function serveConfig(argv: string[], env: NodeJS.ProcessEnv): RelayServerOptions {
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: Object.fromEntries(FLAGS.map((f) => [f.flag, { type: 'string' as const }])),
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  const options: RelayServerOptions = {};
  for (const f of FLAGS) {
    const value = (values[f.flag] as string | undefined) ?? env[f.env];
    if (value !== undefined && value !== '') f.apply(options, value);
  }
  return options;
}

export function serveHelp(): string {
  const width = Math.max(...FLAGS.map((f) => f.flag.length)) + 4;
  return FLAGS.map((f) => `  --${f.flag.padEnd(width)}${f.help}\n  ${''.padEnd(width + 2)}env ${f.env}`).join('\n');
}

function int(name: string, value: string): number {
  if (!/^\d+$/.test(value)) throw new UsageError(`--${name} must be a whole number, got ${JSON.stringify(value)}`);
  return Number(value);
}

function readSecrets(path: string): string[] {
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
