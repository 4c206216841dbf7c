// The demo's users and groups, read from users.json and groups.json.
import { readFileSync } from 'node:fs';

export interface User {
  id: string;
  name: string;
}

export interface Group {
  id: string;
  name: string;
  members: string[];
}

export class Directory {
  private readonly usersById: Map<string, User>;
  private readonly groupsById: Map<string, Group>;

  constructor(
    readonly users: readonly User[],
    readonly groups: readonly Group[],
  ) {
    this.usersById = new Map(users.map((u) => [u.id, u]));
    this.groupsById = new Map(groups.map((g) => [g.id, g]));
    for (const user of users) {
      // '#' ids are reserved for the nodes' own channel (see cluster-channel.ts).
      if (!/^[a-z0-9_.-]{1,64}$/i.test(user.id)) throw new Error(`bad user id in users.json: ${JSON.stringify(user.id)}`);
    }
    for (const group of groups) {
      for (const member of group.members) {
        if (!this.usersById.has(member)) throw new Error(`group ${group.id} names an unknown user: ${member}`);
      }
    }
  }

  /** Reads users.json and groups.json from `dir` (by default, next to this file). */
  static load(dir: URL = new URL('./', import.meta.url)): Directory {
    const read = <T>(name: string): T => JSON.parse(readFileSync(new URL(name, dir), 'utf8')) as T;
    return new Directory(read<User[]>('users.json'), read<Group[]>('groups.json'));
  }

  user(id: string): User | undefined {
    return this.usersById.get(id);
  }

  group(id: string): Group | undefined {
    return this.groupsById.get(id);
  }

  /** The groups `userId` belongs to. */
  groupsOf(userId: string): Group[] {
    return this.groups.filter((g) => g.members.includes(userId));
  }

  get userIds(): string[] {
    return this.users.map((u) => u.id);
  }
}
