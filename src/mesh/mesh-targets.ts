import { HostIndex } from '../server/host-index.js';
import type { RouteTarget, RouteTargets } from '../server/route-endpoints.js';

/** The nodes a mesh node can write to right now: itself, and every peer whose link is up. */
export class MeshTargets implements RouteTargets {
  private readonly byKey = new Map<string, RouteTarget>();
  private readonly index = new HostIndex<RouteTarget>();

  get(key: string): RouteTarget | undefined {
    return this.byKey.get(key);
  }

  find(bytes: Uint8Array, start: number, end: number): RouteTarget | undefined {
    return this.index.find(bytes, start, end);
  }

  add(key: string, target: RouteTarget): void {
    this.remove(key);
    this.byKey.set(key, target);
    this.index.add(target);
  }

  remove(key: string): void {
    const target = this.byKey.get(key);
    if (target === undefined) return;
    this.byKey.delete(key);
    this.index.delete(target);
  }
}
