import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PresenceTable } from '../../src/presence/presence-table.js';

/** nodesOf as a sorted array ([] when online nowhere), whatever shape the table keeps. */
function nodes(table: PresenceTable, user: string): string[] {
  const n = table.nodesOf(user);
  return n === undefined ? [] : typeof n === 'string' ? [n] : [...n].sort();
}

/** usersOf as a sorted array ([] when the node holds nobody). */
function users(table: PresenceTable, node: string): string[] {
  return [...(table.usersOf(node) ?? [])].sort();
}

describe('PresenceTable', () => {
  it('starts empty', () => {
    const t = new PresenceTable();
    expect(t.userCount).toBe(0);
    expect(t.nodeCount).toBe(0);
    expect(t.nodesOf('u')).toBeUndefined();
    expect(t.usersOf('a')).toBeUndefined();
  });

  it('online is idempotent', () => {
    const t = new PresenceTable();
    t.online('a', 'u');
    t.online('a', 'u');
    t.online('a', 'u');
    expect(t.nodesOf('u')).toBe('a');
    expect(users(t, 'a')).toEqual(['u']);
    expect(t.userCount).toBe(1);
    expect(t.nodeCount).toBe(1);
  });

  it('offline is idempotent, and a no-op for unknown users and nodes', () => {
    const t = new PresenceTable();
    t.online('a', 'u');
    t.online('a', 'v');
    t.offline('a', 'u');
    t.offline('a', 'u');
    t.offline('b', 'v'); // v is not on b
    t.offline('zz', 'nobody');
    expect(t.nodesOf('u')).toBeUndefined();
    expect(t.nodesOf('v')).toBe('a');
    expect(users(t, 'a')).toEqual(['v']);
    expect(t.userCount).toBe(1);
    expect(t.nodeCount).toBe(1);
  });

  it('forgets a node whose last user goes offline', () => {
    const t = new PresenceTable();
    t.online('a', 'u');
    t.offline('a', 'u');
    expect(t.usersOf('a')).toBeUndefined();
    expect(t.nodeCount).toBe(0);
    expect(t.userCount).toBe(0);
  });

  it('keeps a multi-device user on every node, and removing one device leaves the others', () => {
    const t = new PresenceTable();
    t.online('a', 'u');
    t.online('b', 'u');
    t.online('c', 'u');
    t.online('b', 'u'); // idempotent on a second node too
    expect(nodes(t, 'u')).toEqual(['a', 'b', 'c']);
    expect(t.userCount).toBe(1);
    expect(t.nodeCount).toBe(3);

    t.offline('b', 'u');
    expect(nodes(t, 'u')).toEqual(['a', 'c']);
    expect(users(t, 'b')).toEqual([]);
    expect(t.nodeCount).toBe(2);

    t.offline('a', 'u');
    // Back to a single node: one key, not a one-element array.
    expect(t.nodesOf('u')).toBe('c');
    expect(t.userCount).toBe(1);

    t.offline('c', 'u');
    expect(t.nodesOf('u')).toBeUndefined();
    expect(t.userCount).toBe(0);
    expect(t.nodeCount).toBe(0);
  });

  it('a single-device user is one string key; a second device makes it a list', () => {
    const t = new PresenceTable();
    t.online('a', 'u');
    expect(typeof t.nodesOf('u')).toBe('string');
    t.online('b', 'u');
    expect(Array.isArray(t.nodesOf('u'))).toBe(true);
    expect(nodes(t, 'u')).toEqual(['a', 'b']);
  });

  it('reset applies the difference on that node only', () => {
    const t = new PresenceTable();
    for (const u of ['u1', 'u2', 'u3']) t.online('a', u);
    t.online('b', 'u1');
    t.online('b', 'u2');

    t.reset('a', ['u2', 'u4', 'u4']);

    expect(users(t, 'a')).toEqual(['u2', 'u4']);
    // b is untouched: u1 and u2 are still there.
    expect(users(t, 'b')).toEqual(['u1', 'u2']);
    expect(nodes(t, 'u1')).toEqual(['b']);
    expect(nodes(t, 'u2')).toEqual(['a', 'b']);
    expect(nodes(t, 'u3')).toEqual([]);
    expect(nodes(t, 'u4')).toEqual(['a']);
    expect(t.userCount).toBe(3);
    expect(t.nodeCount).toBe(2);
  });

  it('reset of an unknown node adds its users; reset to nothing forgets the node', () => {
    const t = new PresenceTable();
    t.reset('a', ['u', 'v']);
    expect(users(t, 'a')).toEqual(['u', 'v']);
    t.online('b', 'v');
    t.reset('a', []);
    expect(t.usersOf('a')).toBeUndefined();
    expect(nodes(t, 'u')).toEqual([]);
    expect(nodes(t, 'v')).toEqual(['b']);
    expect(t.userCount).toBe(1);
    expect(t.nodeCount).toBe(1);
  });

  it('dropNode forgets every user of that node and leaves their other devices', () => {
    const t = new PresenceTable();
    t.online('a', 'u1');
    t.online('a', 'u2');
    t.online('a', 'u3');
    t.online('b', 'u2');
    t.online('c', 'u3');
    t.online('b', 'u3');

    t.dropNode('a');
    t.dropNode('a'); // idempotent
    t.dropNode('never-seen');

    expect(t.usersOf('a')).toBeUndefined();
    expect(nodes(t, 'u1')).toEqual([]);
    expect(t.nodesOf('u2')).toBe('b');
    expect(nodes(t, 'u3')).toEqual(['b', 'c']);
    expect(t.userCount).toBe(2);
    expect(t.nodeCount).toBe(2);
  });

  it('counts many users over several nodes', () => {
    const t = new PresenceTable();
    for (let i = 0; i < 1000; i++) t.online(`n${i % 10}`, `u${i}`);
    // Every tenth user also on a second node.
    for (let i = 0; i < 1000; i += 10) t.online(`n${(i + 1) % 10}`, `u${i}`);
    expect(t.userCount).toBe(1000);
    expect(t.nodeCount).toBe(10);
    expect(users(t, 'n0').length).toBe(100);
    expect(users(t, 'n1').length).toBe(200);
    t.dropNode('n1');
    // The users that were only on n1 are gone; the doubles of n0 lose their second device.
    expect(t.userCount).toBe(900);
    expect(t.nodesOf('u0')).toBe('n0');
    expect(t.nodesOf('u1')).toBeUndefined();
  });

  describe('agrees with a reference model (Map<node, Set<user>>)', () => {
    const NODES = ['a', 'b', 'c', 'd'];
    const USERS = ['u0', 'u1', 'u2', 'u3', 'u4', 'u5'];

    type Op =
      | { kind: 'online' | 'offline'; node: string; user: string }
      | { kind: 'reset'; node: string; users: string[] }
      | { kind: 'dropNode'; node: string };

    const node = fc.constantFrom(...NODES);
    const user = fc.constantFrom(...USERS);
    const op: fc.Arbitrary<Op> = fc.oneof(
      { weight: 4, arbitrary: fc.record({ kind: fc.constant('online' as const), node, user }) },
      { weight: 3, arbitrary: fc.record({ kind: fc.constant('offline' as const), node, user }) },
      // Duplicates allowed: a RESET may name a user twice.
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('reset' as const), node, users: fc.array(user, { maxLength: 8 }) }) },
      { weight: 1, arbitrary: fc.record({ kind: fc.constant('dropNode' as const), node }) },
    );

    function applyModel(model: Map<string, Set<string>>, o: Op): void {
      switch (o.kind) {
        case 'online': {
          let s = model.get(o.node);
          if (s === undefined) model.set(o.node, (s = new Set()));
          s.add(o.user);
          break;
        }
        case 'offline': {
          const s = model.get(o.node);
          s?.delete(o.user);
          if (s?.size === 0) model.delete(o.node);
          break;
        }
        case 'reset':
          if (o.users.length === 0) model.delete(o.node);
          else model.set(o.node, new Set(o.users));
          break;
        case 'dropNode':
          model.delete(o.node);
          break;
      }
    }

    function applyTable(t: PresenceTable, o: Op): void {
      if (o.kind === 'online') t.online(o.node, o.user);
      else if (o.kind === 'offline') t.offline(o.node, o.user);
      else if (o.kind === 'reset') t.reset(o.node, o.users);
      else t.dropNode(o.node);
    }

    function check(t: PresenceTable, model: Map<string, Set<string>>, step: number): void {
      for (const n of NODES) {
        expect(users(t, n), `usersOf(${n}) after op ${step}`).toEqual([...(model.get(n) ?? [])].sort());
        // A node holding nobody is forgotten, not kept as an empty set.
        expect(t.usersOf(n) === undefined, `usersOf(${n}) undefined after op ${step}`).toBe(!model.has(n));
      }
      let online = 0;
      for (const u of USERS) {
        const where = NODES.filter((n) => model.get(n)?.has(u));
        expect(nodes(t, u), `nodesOf(${u}) after op ${step}`).toEqual(where);
        const raw = t.nodesOf(u);
        // One node: a plain key; several: a list without duplicates.
        if (where.length === 1) expect(raw).toBe(where[0]);
        if (where.length > 1) expect(Array.isArray(raw) && new Set(raw).size === raw.length).toBe(true);
        if (where.length > 0) online++;
      }
      expect(t.userCount, `userCount after op ${step}`).toBe(online);
      expect(t.nodeCount, `nodeCount after op ${step}`).toBe(model.size);
    }

    it('for random sequences of online, offline, reset and dropNode', () => {
      fc.assert(
        fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
          const t = new PresenceTable();
          const model = new Map<string, Set<string>>();
          ops.forEach((o, i) => {
            applyTable(t, o);
            applyModel(model, o);
            check(t, model, i);
          });
        }),
        { numRuns: 500 },
      );
    });
  });
});
