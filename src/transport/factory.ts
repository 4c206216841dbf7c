import { isIP } from 'node:net';
import type { ConnectionOptions } from 'node:tls';
import { ErrorCodes, InvalidArgumentError, type RelayError } from '../errors.js';
import { MeshControl } from '../mesh/mesh-control.js';
import { MeshLink } from '../mesh/mesh-link.js';
import { resolveMeshOptions, type MeshOptions, type ResolvedMeshOptions } from '../mesh/mesh-options.js';
import { nonNegative, positive, timerMs } from '../option-checks.js';
import type { Secret } from '../secret.js';
import type { Link, LinkContext, LinkEvents } from './link.js';
import { REDIS_DEFAULTS, type RedisTransportOptions } from './redis/options.js';
import type { RedisClientLike } from './redis/redis-client-like.js';
import { ReplayGuard } from './redis/replay-guard.js';
import { RedisLink } from './redis/redis-link.js';
import { TcpLink } from './tcp/tcp-link.js';
import { tlsFailureKind } from './tcp/tls-failures.js';
import { TlsSettings } from './tcp/tls-settings.js';
import { isRedisUrl, parseRelayUrl, type Endpoint } from './url.js';

/** The options a transport is picked from (a subset of the client's). */
export interface TransportOptions {
  url?: string | undefined;
  redis?: RedisClientLike | undefined;
  redisOptions?: RedisTransportOptions | undefined;
  tls?: ConnectionOptions | undefined;
  mesh?: MeshOptions | undefined;
  nodeId?: string | undefined;
}

/** Which transport a client runs over, with what it needs; resolved once, from the options. */
export type TransportSpec =
  | {
      kind: 'tcp';
      dialect: 'binary' | 'legacy';
      endpoint: Endpoint;
      secret: Secret | undefined;
      /** Set for a `tls://` url: the options of every TLS connection (they print without their keys). */
      tls: TlsSettings<ConnectionOptions> | undefined;
    }
  | {
      kind: 'redis';
      target: string | RedisClientLike;
      redis: Required<RedisTransportOptions>;
      secret: Secret | undefined;
    }
  | {
      kind: 'mesh';
      nodeId: string;
      mesh: ResolvedMeshOptions;
      secret: Secret | undefined;
    };

/**
 * Picks the transport from the url or the options: `tcp://` is a relay (or a
 * Go hub, in the legacy dialect), `tls://` a relay over TLS; `redis://`,
 * `rediss://` or a ready client in `redis` run without a relay, over Redis.
 */
export function resolveTransport(options: TransportOptions, dialect: 'binary' | 'legacy', secret: Secret | undefined): TransportSpec {
  if (options.mesh !== undefined) return meshTransport(options, dialect, secret);
  const redisTarget = options.redis ?? (isRedisUrl(options.url) ? options.url : undefined);
  if (redisTarget === undefined) {
    if (options.url === undefined)
      throw new InvalidArgumentError('url is required: tcp://host:port (a relay) or redis://host:port (Redis)');
    const { host, port, tls } = parseRelayUrl(options.url);
    if (!tls && options.tls !== undefined) throw new InvalidArgumentError('tls options need a tls:// url, not tcp://');
    return { kind: 'tcp', dialect, endpoint: { host, port }, secret, tls: tls ? tlsSettings(options.tls, host) : undefined };
  }
  if (options.tls !== undefined) throw new InvalidArgumentError('tls options apply to a tls:// relay url; over Redis use rediss://');
  if (options.redis !== undefined && options.url !== undefined) throw new InvalidArgumentError('give either url or redis, not both');
  if (dialect === 'legacy') throw new InvalidArgumentError('the legacy dialect runs over a Go hub, not over redis');
  const r = options.redisOptions ?? {};
  return {
    kind: 'redis',
    target: redisTarget,
    secret,
    redis: {
      prefix: r.prefix ?? REDIS_DEFAULTS.prefix,
      livenessMs: positive('redisOptions.livenessMs', r.livenessMs ?? REDIS_DEFAULTS.livenessMs),
      presence: r.presence ?? REDIS_DEFAULTS.presence,
      legacyHashKey: r.legacyHashKey ?? REDIS_DEFAULTS.legacyHashKey,
      probeIntervalMs: timerMs('redisOptions.probeIntervalMs', r.probeIntervalMs ?? REDIS_DEFAULTS.probeIntervalMs),
      maxClockSkewMs: nonNegative('redisOptions.maxClockSkewMs', r.maxClockSkewMs ?? REDIS_DEFAULTS.maxClockSkewMs),
    },
  };
}

/** Mesh mode: no relay and no Redis to connect to, the node's own listener and links instead. */
function meshTransport(options: TransportOptions, dialect: 'binary' | 'legacy', secret: Secret | undefined): TransportSpec {
  if (dialect === 'legacy') throw new InvalidArgumentError('the legacy dialect runs over a Go hub, not in a mesh');
  if (options.url !== undefined || options.redis !== undefined)
    throw new InvalidArgumentError('mesh mode takes no url or redis: peers link directly');
  if (options.tls !== undefined) throw new InvalidArgumentError('in mesh mode, TLS options go in mesh.tls');
  const nodeId = options.nodeId ?? '';
  return { kind: 'mesh', nodeId, mesh: resolveMeshOptions(options.mesh!, nodeId), secret };
}

/**
 * A relay's TLS options as every connection uses them. The server name
 * (sent in SNI, and checked against the certificate) defaults to the url's
 * host when that is a name; for an IP address the certificate must name the
 * address itself.
 */
function tlsSettings(options: ConnectionOptions | undefined, host: string): TlsSettings<ConnectionOptions> {
  if (options !== undefined && (typeof options !== 'object' || options === null)) {
    throw new InvalidArgumentError('tls must be an object of tls.connect options');
  }
  const servername = options?.servername ?? (isIP(host) === 0 ? host : undefined);
  return new TlsSettings({ ...options, ...(servername === undefined ? {} : { servername }) });
}

/**
 * What retrying can do about a link's close reason, as far as the transport
 * knows beyond the error's code: `never` for a certificate refused on either
 * side (only new certificates or trust settings fix it), `not-first` for a
 * TLS handshake that failed otherwise (a plain relay, no shared protocol: a
 * first `connect()` reports it at once), `maybe` for the rest.
 */
export function retryOutlook(reason: RelayError): 'never' | 'not-first' | 'maybe' {
  if (reason.code !== ErrorCodes.CONNECT) return 'maybe';
  const kind = tlsFailureKind(reason.cause);
  return kind === 'certificate' ? 'never' : kind === 'handshake' ? 'not-first' : 'maybe';
}

/** Opens one link of the transport `spec` names. */
export function createLink(spec: TransportSpec, context: LinkContext, events: LinkEvents): Link {
  switch (spec.kind) {
    case 'tcp':
      return new TcpLink({ ...context, dialect: spec.dialect, endpoint: spec.endpoint, secret: spec.secret, tls: spec.tls }, events);
    case 'redis':
      return new RedisLink({ ...context, target: spec.target, redis: spec.redis, secret: spec.secret, guard: guardOf(spec) }, events);
    case 'mesh':
      return new MeshLink({ ...context, mesh: spec.mesh, secret: spec.secret, control: meshControlOf(spec) }, events);
  }
}

const controls = new WeakMap<TransportSpec, MeshControl>();

/** The mesh handle of the client whose spec this is (mesh mode only). */
export function meshControlOf(spec: TransportSpec & { kind: 'mesh' }): MeshControl {
  let control = controls.get(spec);
  if (control === undefined) {
    control = new MeshControl(spec.nodeId, spec.mesh.tls);
    controls.set(spec, control);
  }
  return control;
}

/**
 * One replay guard per client, shared by its links one after the other: a
 * channel message replayed across a reconnect is still known. A spec is
 * resolved once per client, so it stands for the client here (kept out of
 * the spec itself, which is public and printed).
 */
const guards = new WeakMap<TransportSpec, ReplayGuard>();

function guardOf(spec: TransportSpec & { kind: 'redis' }): ReplayGuard {
  let guard = guards.get(spec);
  if (guard === undefined) {
    guard = new ReplayGuard(spec.redis.maxClockSkewMs);
    guards.set(spec, guard);
  }
  return guard;
}

/** Where a spec points, for messages. */
export function describeTransport(spec: TransportSpec): string {
  if (spec.kind === 'mesh') return `the mesh at ${spec.mesh.listen.host}:${spec.mesh.listen.port}`;
  if (spec.kind === 'tcp') return `the ${spec.tls ? 'TLS ' : ''}relay at ${spec.endpoint.host}:${spec.endpoint.port}`;
  return typeof spec.target === 'string' ? `redis at ${redactUrl(spec.target)}` : 'redis';
}

/** A url with any password replaced, fit for messages and logs. */
function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = 'redacted';
    return parsed.toString();
  } catch {
    return 'redis';
  }
}
