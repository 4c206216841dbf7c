import { FrameDecoder } from '../codec/frame-decoder.js';
import { ConnectError, RelayError, ProtocolError } from '../errors.js';
import { Features } from '../protocol/index.js';
import type { Secret } from '../secret.js';
import type { RelayStats } from '../server/stats.js';
import type { Link, LinkContext, LinkEvents } from '../transport/link.js';
import type { Endpoint } from '../transport/url.js';
import type { MeshDiscovery } from './discovery/discovery.js';
import { RedisDiscovery } from './discovery/redis-discovery.js';
import { attachMeshLink, detachMeshLink, type MeshControl, type MeshLinkHandle } from './mesh-control.js';
import { MeshNode, endpointUrl, type MeshPeerState } from './mesh-node.js';
import { resolvePeers, type ResolvedMeshOptions } from './mesh-options.js';

/** How long closing waits for the answers of sends already made (as a relay's close bound). */
const LEAVE_ANSWERS_MS = 2_000;

/** What a mesh link needs besides the {@link LinkContext}. */
export interface MeshLinkOptions {
  mesh: ResolvedMeshOptions;
  secret: Secret | undefined;
  /** The client's handle on its mesh, across links. */
  control: MeshControl;
}

/**
 * The link of a node in mesh mode: the node's own {@link MeshNode}, with
 * its listener and its links to every peer. To the client it is a relay
 * that is always there: ready once listening, answering every send itself,
 * and speaking effectively-once delivery; peers come and go inside it.
 */
export class MeshLink implements Link, MeshLinkHandle {
  ready = false;
  readonly writableLength = 0;
  readonly node: MeshNode;
  private readonly decoder: FrameDecoder;
  private discovery: MeshDiscovery | undefined;
  private startTimer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly options: MeshLinkOptions & LinkContext,
    private readonly events: LinkEvents,
  ) {
    this.decoder = new FrameDecoder({ maxFrameBytes: 0x7fff_ffff });
    this.node = new MeshNode(
      {
        nodeId: options.nodeId,
        incarnation: options.incarnation,
        secret: options.secret,
        maxFrameBytes: options.maxFrameBytes,
        deliveryWindow: options.deliveryWindow,
        mesh: options.mesh,
      },
      {
        frame: (buf, start, end) => {
          if (!this.closed) this.events.onFrame(buf, start, end);
        },
        peerUp: (id) => options.control.emit('peer:up', id),
        peerDown: (id, error) => options.control.emit('peer:down', id, error),
        warning: (error) => this.events.onWarning?.(error),
      },
    );
    if (options.control.peers !== undefined) this.node.setPeers(options.control.peers, 'static');
    attachMeshLink(options.control, this);
    this.startTimer = setTimeout(
      () => this.destroy(new ConnectError(`mesh not listening within ${options.connectTimeoutMs} ms`)),
      options.connectTimeoutMs,
    );
    this.start().catch((err: unknown) => this.destroy(err instanceof RelayError ? err : new ConnectError(String(err), { cause: err })));
  }

  /** The url peers dial to reach this node (the advertised one, or `listen` with the port bound). */
  get address(): string | undefined {
    const bound = this.node.address;
    if (bound === undefined) return undefined;
    return this.options.mesh.advertise ?? endpointUrl(bound, this.options.mesh.tls);
  }

  peers(): MeshPeerState[] {
    return this.node.peers();
  }

  stats(): RelayStats {
    return { ...this.node.stats };
  }

  directoryUsers(): number {
    return this.node.directory.table.userCount;
  }

  /** Replaces the static peers map (urls as in `mesh.peers`). */
  setPeers(peers: ReadonlyMap<string, Endpoint>): void {
    this.node.setPeers(peers, 'static');
  }

  write(parts: Buffer[]): void {
    if (this.closed) return;
    try {
      for (const part of parts) this.decoder.push(part);
      let frame: Buffer | undefined;
      while (!this.closed && (frame = this.decoder.next()) !== undefined) this.node.fromClient(frame);
      this.node.flushNow();
    } catch (err) {
      // What would make a relay close a node's connection: the client wrote something it must not.
      this.destroy(err instanceof RelayError ? err : new ProtocolError(String(err)));
    }
  }

  // Never called: this link speaks effectively-once delivery, so it keeps to the client's window.
  pause(): void {}
  resume(): void {}

  end(): void {
    if (this.closed) return;
    this.closed = true;
    void this.leave().then(() => this.finish(undefined));
  }

  destroy(reason: RelayError): void {
    if (this.closed) return;
    this.closed = true;
    this.node.destroy();
    void this.discovery?.stop().catch(() => {});
    this.finish(reason);
  }

  private async start(): Promise<void> {
    await this.node.start();
    if (this.closed) return;
    const { mesh } = this.options;
    if (mesh.discovery !== undefined) {
      const registry = new RedisDiscovery(mesh.discovery, {
        prefix: mesh.discoveryPrefix,
        livenessMs: mesh.discoveryLivenessMs,
        connectTimeoutMs: this.options.connectTimeoutMs,
        onError: (error) => this.events.onWarning?.(error),
      });
      this.discovery = registry;
      await registry.start(this.options.nodeId, this.address!, (members) => {
        const urls: Record<string, string> = {};
        for (const [id, url] of members) urls[id] = url;
        try {
          this.node.setPeers(resolvePeers(urls, this.options.nodeId, this.options.mesh.tls), 'discovery');
        } catch (err) {
          if (err instanceof RelayError) this.events.onWarning?.(err);
        }
      });
      if (this.closed) {
        await registry.stop();
        return;
      }
    }
    clearTimeout(this.startTimer);
    this.ready = true;
    this.events.onReady({
      maxFrameBytes: this.options.maxFrameBytes,
      features: Features.FAILURE_NOTICES | Features.PRESENCE | Features.ACKS | Features.ONCE | Features.LOCATE_PARTS,
      localAddress: '',
    });
  }

  /** Waits (within the close bound) for the answers of what was sent, then says goodbye to every peer. */
  private async leave(): Promise<void> {
    await this.node.answered(LEAVE_ANSWERS_MS);
    await this.discovery?.stop().catch(() => {});
    await this.node.stop();
  }

  private finish(reason: RelayError | undefined): void {
    clearTimeout(this.startTimer);
    this.ready = false;
    detachMeshLink(this.options.control, this);
    this.events.onClose(reason);
  }
}
