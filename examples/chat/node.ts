// One IM server node: serves the page and its WebSocket on one port, keeps
// its users' sockets, and reaches users on other nodes through the relay, or,
// in mesh mode, over direct links to the other nodes (no relay).
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import WebSocket, { WebSocketServer } from 'ws';
import { RelayClient } from '../../src/index.js';
import { broadcast, joinCluster } from './cluster-channel.js';
import { Courier } from './courier.js';
import { Directory, type User } from './directory.js';
import type { ChatMessage, ClientFrame, RelayMessage, Target } from './messages.js';
import { MemoryOfflineStore, type OfflineStore } from './offline-store.js';
import { PresenceView } from './presence.js';
import { Sessions, sendFrame } from './sessions.js';
import { sendJson, serveStatic } from './static-files.js';

export interface ChatNodeOptions {
  /** This node's id on the relay (or in the mesh), e.g. `im-1`. */
  nodeId: string;
  /** The relay, `tcp://host:port`. Give this or `meshListen`. */
  relayUrl?: string;
  /**
   * Mesh mode, instead of `relayUrl`: where this node listens for the other
   * nodes' links (`tcp://127.0.0.1:0` picks a free port). Its peers are set
   * once every node listens: `node.relay.mesh!.setPeers(...)`.
   */
  meshListen?: string;
  secret?: string;
  /** HTTP and WebSocket port; 0 picks a free one. */
  port?: number;
  host?: string;
  directory?: Directory;
  store?: OfflineStore;
  /** Node id -> page URL, for the page's links to the other nodes. */
  links?: Record<string, string>;
  log?: (line: string) => void;
}

const MAX_TEXT = 2000;

export class ChatNode {
  readonly nodeId: string;
  readonly relay: RelayClient<RelayMessage>;
  readonly sessions = new Sessions();
  links: Record<string, string>;
  private readonly directory: Directory;
  private readonly courier: Courier;
  private readonly presence: PresenceView;
  private readonly http: Server;
  private readonly wss = new WebSocketServer({ noServer: true, maxPayload: 64 * 1024 });
  private readonly log: (line: string) => void;
  private consuming: Promise<void> | undefined;
  private closing = false;
  private address: AddressInfo | undefined;

  constructor(private readonly options: ChatNodeOptions) {
    this.nodeId = options.nodeId;
    this.directory = options.directory ?? Directory.load();
    this.links = options.links ?? {};
    const log = options.log ?? console.log;
    this.log = (line) => log(`[${this.nodeId}] ${line}`);
    if ((options.relayUrl === undefined) === (options.meshListen === undefined)) {
      throw new Error('give a chat node either relayUrl or meshListen');
    }
    this.relay =
      options.meshListen === undefined
        ? new RelayClient<RelayMessage>({ url: options.relayUrl, nodeId: options.nodeId, secret: options.secret })
        : new RelayClient<RelayMessage>({ mesh: { listen: options.meshListen }, nodeId: options.nodeId, secret: options.secret });
    this.relay.on('connect', () => this.onRelayConnect());
    // Mesh mode: the client is "connected" once it listens; peers come and go one by one.
    this.relay.mesh?.on('peer:up', (peer) => this.onPeerUp(peer));
    this.relay.mesh?.on('peer:down', (peer, reason) => this.onPeerDown(peer, reason?.code));
    const link = options.meshListen === undefined ? 'relay connection' : 'mesh';
    this.relay.on('disconnect', (reason) => this.log(`${link} lost (${reason?.code ?? 'closed'}); reconnecting`));
    this.relay.on('error', (err) => this.log(`relay error: ${err.code} ${err.message}`));
    const store = options.store ?? new MemoryOfflineStore(1000, this.log);
    this.courier = new Courier(this.relay, this.sessions, store, this.log);
    this.presence = new PresenceView(this.relay, this.directory.userIds, (s) => this.sessions.broadcast({ type: 'presence', ...s }));
    this.http = createServer((req, res) => {
      void this.onRequest(req, res).catch((err: Error) => {
        if (!res.headersSent) sendJson(res, 500, { error: err.message });
        else res.destroy();
      });
    });
    this.http.on('upgrade', (req, socket, head) => this.onUpgrade(req, socket, head));
  }

  /** The page's URL, once started. */
  get url(): string {
    if (this.address === undefined) throw new Error('the node is not started');
    return `http://${this.address.address}:${this.address.port}/`;
  }

  /** Mesh mode: the url the other nodes dial to reach this one, once started. */
  get meshAddress(): string | undefined {
    return this.relay.mesh?.address;
  }

  /** Connects to the relay (in mesh mode: listens for peers), starts delivering, and listens; resolves with the page's URL. */
  async start(): Promise<string> {
    joinCluster(this.relay);
    await this.relay.connect();
    this.consuming = this.consume();
    await new Promise<void>((resolve, reject) => {
      this.http.once('error', reject);
      this.http.listen(this.options.port ?? 0, this.options.host ?? '127.0.0.1', () => {
        this.http.off('error', reject);
        resolve();
      });
    });
    this.address = this.http.address() as AddressInfo;
    return this.url;
  }

  /** Says goodbye to the pages, stops listening, and leaves the relay. */
  async close(): Promise<void> {
    if (this.closing) return;
    this.closing = true;
    this.presence.stop();
    this.sessions.closeAll(1001, 'the node is shutting down');
    this.wss.close();
    const httpClosed = new Promise<void>((resolve) => this.http.close(() => resolve()));
    this.http.closeAllConnections();
    await httpClosed;
    await this.relay.close();
    await this.consuming;
  }

  private async onRequest(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const path = new URL(req.url ?? '/', 'http://localhost').pathname;
    if (path === '/api/users' && req.method === 'GET') {
      const presence = await this.presence.take().catch(() => this.presence.current);
      sendJson(res, 200, { node: this.nodeId, users: this.directory.users, ...presence });
      return;
    }
    if (await serveStatic(req, res)) return;
    sendJson(res, 404, { error: 'not found' });
  }

  private onUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const user = this.directory.user(url.searchParams.get('user') ?? '');
    if (url.pathname !== '/ws' || user === undefined) {
      socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      return;
    }
    this.wss.handleUpgrade(req, socket, head, (ws) => this.onSocket(ws, user));
  }

  private onSocket(socket: WebSocket, user: User): void {
    const first = this.sessions.add(user.id, socket);
    sendFrame(socket, {
      type: 'welcome',
      node: this.nodeId,
      user,
      users: [...this.directory.users],
      groups: this.directory.groupsOf(user.id),
      links: this.links,
    });
    sendFrame(socket, { type: 'presence', ...this.presence.current });
    this.log(`${user.id} connected (${this.sessions.tabs(user.id)} tab(s) here)`);
    if (first) {
      // The relay hears of the user before the nodes do (it reads this node's
      // frames in order), so a node that hears the news finds the user here.
      this.setPresence(user.id, true);
      void this.courier.flush(user.id);
    }
    this.presence.refresh();

    socket.on('message', (data) => this.onClientFrame(socket, user, data.toString()));
    socket.on('close', () => {
      if (this.sessions.remove(user.id, socket) && !this.closing) {
        this.setPresence(user.id, false);
        this.log(`${user.id} left`);
      }
      if (!this.closing) this.presence.refresh();
    });
    socket.on('error', () => socket.terminate());
  }

  private onClientFrame(socket: WebSocket, user: User, raw: string): void {
    let frame: ClientFrame;
    try {
      frame = JSON.parse(raw) as ClientFrame;
    } catch {
      sendFrame(socket, { type: 'error', error: 'not JSON' });
      return;
    }
    if (typeof frame !== 'object' || frame === null || frame.type !== 'send') {
      sendFrame(socket, { type: 'error', error: 'expected a frame of type "send"' });
      return;
    }
    const text = typeof frame.text === 'string' ? frame.text.trim() : '';
    const recipients = this.recipients(user.id, frame.to);
    if (text.length === 0 || text.length > MAX_TEXT || recipients === undefined) {
      sendFrame(socket, {
        type: 'error',
        ref: frame.ref,
        error: recipients === undefined ? 'unknown recipient' : `a message has 1 to ${MAX_TEXT} characters`,
      });
      return;
    }
    const to: Target = frame.to.kind === 'group' ? { kind: 'group', id: frame.to.id } : { kind: 'user', id: frame.to.id };
    const message: ChatMessage = { id: randomUUID(), from: user.id, to, text, sentAt: Date.now(), node: this.nodeId };
    void this.courier.send(message, recipients, socket).then((status) => {
      sendFrame(socket, { type: 'sent', ref: frame.ref, message, status });
      if (status.stored.length > 0) this.log(`stored a message from ${user.id} for ${status.stored.join(', ')} (offline)`);
    });
  }

  /** Everyone who should see a message from `from` to `to` (the sender included, for their other tabs). */
  private recipients(from: string, to: Target | undefined): string[] | undefined {
    if (to?.kind === 'user' && this.directory.user(to.id) !== undefined) return [...new Set([to.id, from])];
    if (to?.kind === 'group') {
      const group = this.directory.group(to.id);
      if (group?.members.includes(from)) return group.members;
    }
    return undefined;
  }

  /** Tells the relay, then every node, that `user` is online here (or no longer). */
  private setPresence(user: string, online: boolean): void {
    try {
      if (online) this.relay.online([user]);
      else this.relay.offline([user]);
    } catch (err) {
      // Only when the relay client has given up for good (closed, or replaced by another node with this id).
      this.log(`could not update presence for ${user}: ${(err as Error).message}`);
      return;
    }
    this.announce([user], online);
  }

  /** Tells every node that `users` came online here (or left). */
  private announce(users: string[], online: boolean): void {
    broadcast(this.relay, { kind: 'presence', node: this.nodeId, users, online }).catch((err: Error) =>
      this.log(`could not tell the other nodes about ${users.join(', ')}: ${err.message}`),
    );
  }

  private onRelayConnect(): void {
    // (Re)joined: the client has re-announced this node's users to the relay;
    // tell the nodes, so they refresh and hand over what they kept for them.
    this.announce(this.sessions.users(), true);
    this.presence.refresh();
  }

  private onPeerUp(peer: string): void {
    this.log(`linked to ${peer}`);
    if (this.closing) return;
    // A peer linked (for the first time, or again after its link dropped):
    // the mesh has just exchanged both nodes' users. Tell the nodes, as after
    // a reconnect to the relay, so that what they kept for this node's users
    // is handed over, and refresh the pages.
    this.announce(this.sessions.users(), true);
    this.presence.refresh();
  }

  private onPeerDown(peer: string, code: string | undefined): void {
    this.log(`link to ${peer} down (${code ?? 'it left'})`);
    if (!this.closing) this.presence.refresh();
  }

  /** The deliveries from the relay (or the mesh's peers), for users connected here. */
  private async consume(): Promise<void> {
    try {
      for await (const d of this.relay) {
        // This node already served its own users before it sent.
        if (d.from === this.nodeId) continue;
        const m = d.message;
        if (m.kind === 'chat') {
          this.sessions.send(d.users, { type: 'message', message: m.message, stored: m.stored });
        } else if (m.kind === 'receipt') {
          this.sessions.send(d.users, { type: 'receipt', id: m.id, user: m.user });
        } else if (m.kind === 'presence') {
          this.presence.refresh();
          if (m.online) for (const user of m.users) void this.courier.flush(user);
        }
      }
    } catch (err) {
      this.log(`delivery loop ended: ${(err as Error).message}`);
    }
  }
}
