// The browsers connected to this node: each user's open sockets (tabs).
import WebSocket from 'ws';
import type { ServerFrame } from './messages.js';

export class Sessions {
  private readonly byUser = new Map<string, Set<WebSocket>>();

  /** Adds a socket; true when it is the user's first on this node. */
  add(user: string, socket: WebSocket): boolean {
    let sockets = this.byUser.get(user);
    const first = sockets === undefined;
    if (sockets === undefined) this.byUser.set(user, (sockets = new Set()));
    sockets.add(socket);
    return first;
  }

  /** Removes a socket; true when it was the user's last on this node. */
  remove(user: string, socket: WebSocket): boolean {
    const sockets = this.byUser.get(user);
    if (sockets === undefined || !sockets.delete(socket)) return false;
    if (sockets.size > 0) return false;
    this.byUser.delete(user);
    return true;
  }

  has(user: string): boolean {
    return this.byUser.has(user);
  }

  /** The users with at least one socket here. */
  users(): string[] {
    return [...this.byUser.keys()];
  }

  tabs(user: string): number {
    return this.byUser.get(user)?.size ?? 0;
  }

  /** Sends `frame` to every socket of `users` (but `except`); returns the users that have a socket here. */
  send(users: Iterable<string>, frame: ServerFrame, except?: WebSocket): string[] {
    const data = JSON.stringify(frame);
    const reached: string[] = [];
    for (const user of new Set(users)) {
      const sockets = this.byUser.get(user);
      if (sockets === undefined) continue;
      reached.push(user);
      for (const socket of sockets) if (socket !== except) sendRaw(socket, data);
    }
    return reached;
  }

  /** Sends `frame` to every socket on this node. */
  broadcast(frame: ServerFrame): void {
    const data = JSON.stringify(frame);
    for (const sockets of this.byUser.values()) for (const socket of sockets) sendRaw(socket, data);
  }

  /** Closes every socket (the node is shutting down). */
  closeAll(code: number, reason: string): void {
    for (const sockets of this.byUser.values()) for (const socket of sockets) socket.close(code, reason);
  }
}

export function sendFrame(socket: WebSocket, frame: ServerFrame): void {
  sendRaw(socket, JSON.stringify(frame));
}

function sendRaw(socket: WebSocket, data: string): void {
  if (socket.readyState === WebSocket.OPEN) socket.send(data);
}
