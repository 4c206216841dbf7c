// The chat demo as a mesh (`npm start -- --mesh`): three chat nodes on free
// ports linked directly to each other, no relay process. Real WebSockets
// stand in for the pages (chat.browser.test.ts drives the same pages in
// chromium over the relay): a message from a user on one node must reach a
// user on another node once, through the mesh links.
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDemo, type Demo } from '../../examples/chat/demo.js';
import type { ChatMessage, ServerFrame, Target } from '../../examples/chat/messages.js';

let demo: Demo | undefined;
const pages: Page[] = [];

beforeAll(async () => {
  demo = await startDemo({ mesh: true, nodePorts: [0, 0, 0], log: () => {} });
}, 20_000);

afterAll(async () => {
  for (const page of pages) page.close();
  await demo?.close();
}, 20_000);

/** A page's WebSocket: every frame its node sent it, in order. */
class Page {
  readonly frames: ServerFrame[] = [];
  private readonly waiters = new Set<() => void>();
  private refs = 0;

  private constructor(
    readonly user: string,
    private readonly socket: WebSocket,
  ) {
    socket.on('message', (data) => {
      this.frames.push(JSON.parse(String(data)) as ServerFrame);
      for (const wake of [...this.waiters]) wake();
    });
  }

  /** Opens `user`'s page on `node`, as app.js does (`ws://<node>/ws?user=...`), and waits for the welcome. */
  static async open(node: string, user: string): Promise<Page> {
    const url = new URL('ws', demo!.urls[node]);
    url.protocol = 'ws:';
    url.searchParams.set('user', user);
    const page = new Page(user, new WebSocket(url));
    pages.push(page);
    const welcome = await page.next((f) => f.type === 'welcome');
    expect(welcome).toMatchObject({ type: 'welcome', node, user: { id: user } });
    return page;
  }

  /** The first frame (from the start of the page) that matches, waiting up to `timeoutMs` for it. */
  next(match: (frame: ServerFrame) => boolean, timeoutMs = 8_000): Promise<ServerFrame> {
    return new Promise((resolve, reject) => {
      const check = (): void => {
        const found = this.frames.find(match);
        if (found === undefined) return;
        this.waiters.delete(check);
        clearTimeout(timer);
        resolve(found);
      };
      const timer = setTimeout(() => {
        this.waiters.delete(check);
        reject(
          new Error(`${this.user}'s page: no such frame within ${timeoutMs} ms; got ${JSON.stringify(this.frames.map((f) => f.type))}`),
        );
      }, timeoutMs);
      this.waiters.add(check);
      check();
    });
  }

  /** Sends a message as the page's composer does; resolves with the node's answer (`sent`). */
  async send(to: Target, text: string): Promise<Extract<ServerFrame, { type: 'sent' }>> {
    const ref = `r${++this.refs}`;
    this.socket.send(JSON.stringify({ type: 'send', ref, to, text }));
    const answer = await this.next((f) => (f.type === 'sent' || f.type === 'error') && f.ref === ref);
    if (answer.type !== 'sent') throw new Error(`${this.user}'s node refused the message: ${JSON.stringify(answer)}`);
    return answer;
  }

  /** The chat messages with `text` this page received (not counting the sender's own `sent` answer). */
  received(text: string): ChatMessage[] {
    return this.frames.flatMap((f) => (f.type === 'message' && f.message.text === text ? [f.message] : []));
  }

  /** Waits until the node's presence shows `user` online on exactly `nodes`. */
  async sees(user: string, nodes: string[]): Promise<void> {
    await this.next((f) => f.type === 'presence' && JSON.stringify(f.online[user] ?? []) === JSON.stringify(nodes));
  }

  close(): void {
    this.socket.close();
  }
}

async function settle(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
}

describe('chat demo as a mesh', () => {
  it('runs without a relay, every pair of nodes linked directly', () => {
    expect(demo!.relay).toBeUndefined();
    expect(Object.keys(demo!.mesh!)).toEqual(['im-1', 'im-2', 'im-3']);
    for (const node of demo!.nodes) {
      const peers = node.relay.mesh!.list();
      expect(peers.map((p) => [p.id, p.linked])).toEqual(
        demo!.nodes.filter((other) => other !== node).map((other) => [other.nodeId, true]),
      );
    }
  });

  it('delivers across nodes through the mesh exactly once, and stored messages on connect', { timeout: 30_000 }, async () => {
    const alice = await Page.open('im-1', 'alice');
    const bob = await Page.open('im-2', 'bob');
    const carol = await Page.open('im-3', 'carol');

    // Presence travels on the links: each node's directory knows who is where.
    await alice.sees('bob', ['im-2']);
    await alice.sees('carol', ['im-3']);
    await carol.sees('bob', ['im-2']);

    // A single message, im-1 -> im-2, straight over the im-1 <-> im-2 link.
    const hi = await alice.send({ kind: 'user', id: 'bob' }, 'Hi Bob, over the mesh');
    expect(hi.status).toEqual({ state: 'delivered', stored: [] });
    await bob.next((f) => f.type === 'message' && f.message.text === 'Hi Bob, over the mesh');
    expect(bob.received('Hi Bob, over the mesh')).toMatchObject([{ from: 'alice', node: 'im-1', to: { kind: 'user', id: 'bob' } }]);

    // A group message from im-3 to members on im-1 and im-2.
    const group = await carol.send({ kind: 'group', id: 'design' }, 'Mockups, meshed');
    expect(group.status.state).toBe('delivered');
    await alice.next((f) => f.type === 'message' && f.message.text === 'Mockups, meshed');
    await bob.next((f) => f.type === 'message' && f.message.text === 'Mockups, meshed');

    // Dave is online nowhere: im-1 keeps the message; when he connects to im-3, im-3 says so
    // over the mesh, and im-1 sends what it kept over its link to im-3.
    const later = await alice.send({ kind: 'user', id: 'dave' }, 'Dave, call me back');
    expect(later.status).toEqual({ state: 'stored', stored: ['dave'] });
    const dave = await Page.open('im-3', 'dave');
    await dave.next((f) => f.type === 'message' && f.message.text === 'Dave, call me back');
    // The sender's page hears that Dave got it.
    await alice.next((f) => f.type === 'receipt' && f.user === 'dave');

    await settle();
    expect(bob.received('Hi Bob, over the mesh')).toHaveLength(1);
    expect(carol.received('Hi Bob, over the mesh')).toHaveLength(0);
    expect(alice.received('Mockups, meshed')).toHaveLength(1);
    expect(bob.received('Mockups, meshed')).toHaveLength(1);
    expect(dave.received('Dave, call me back')).toHaveLength(1);
    expect(dave.frames.find((f) => f.type === 'message' && f.message.text === 'Dave, call me back')).toMatchObject({ stored: true });
  });
});
