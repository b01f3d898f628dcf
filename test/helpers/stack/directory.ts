import { loginOf, oktaUser, pool, type ScimClient } from './scim-client';

/**
 * An Okta-shaped directory for the scale scenarios: `users` people, `groups` groups named
 * `pulumi-g0001`… (the bench policy maps each to team `g0001`), every user in
 * `memberships / users` groups, spread evenly. Pushed the way Okta does it: users assigned
 * first, then groups pushed empty, then membership PATCHes of at most `batch` adds each.
 */

export interface DirectoryShape {
  users: number;
  groups: number;
  memberships: number;
}

export function groupName(g: number): string {
  return `pulumi-g${String(g).padStart(4, '0')}`;
}

export function teamName(g: number): string {
  return `g${String(g).padStart(4, '0')}`;
}

/** Member indices of each group: user u joins groups (u·k + j) mod groups, j < memberships/users. */
export function membershipPlan(shape: DirectoryShape): number[][] {
  const perUser = Math.round(shape.memberships / shape.users);
  const members: number[][] = Array.from({ length: shape.groups }, () => []);
  for (let u = 0; u < shape.users; u++) {
    for (let j = 0; j < perUser; j++) members[(u * perUser + j) % shape.groups].push(u);
  }
  return members;
}

/** Desired Pulumi state: team → member logins. */
export function desiredTeams(shape: DirectoryShape): Map<string, Set<string>> {
  const plan = membershipPlan(shape);
  return new Map(plan.map((users, g) => [teamName(g), new Set(users.map(loginOf))]));
}

export interface PushResult {
  userIds: string[];
  groupIds: string[];
  /** performance.now() of the first request sent and the last answer read. */
  firstWriteAt: number;
  lastWriteAt: number;
  requests: number;
}

export async function pushDirectory(scim: ScimClient, shape: DirectoryShape, concurrency: number, batch = 25): Promise<PushResult> {
  const userIds: string[] = new Array(shape.users);
  const groupIds: string[] = new Array(shape.groups);
  const firstWriteAt = performance.now();
  let lastWriteAt = firstWriteAt;
  let requests = 0;
  const note = (at: number) => {
    requests += 1;
    if (at > lastWriteAt) lastWriteAt = at;
  };
  await pool(
    Array.from({ length: shape.users }, (_, i) => i),
    concurrency,
    async (i) => {
      const answer = await scim.createUser(oktaUser(i));
      userIds[i] = answer.body.id;
      note(answer.at);
    },
  );
  await pool(
    Array.from({ length: shape.groups }, (_, g) => g),
    concurrency,
    async (g) => {
      const answer = await scim.createGroup(groupName(g));
      groupIds[g] = answer.body.id;
      note(answer.at);
    },
  );
  const patches: Array<{ g: number; users: number[] }> = [];
  membershipPlan(shape).forEach((users, g) => {
    for (let i = 0; i < users.length; i += batch) patches.push({ g, users: users.slice(i, i + batch) });
  });
  await pool(patches, concurrency, async ({ g, users }) => {
    const answer = await scim.addMembers(
      groupIds[g],
      users.map((u) => ({ value: userIds[u], display: `user${u}@example.test` })),
    );
    note(answer.at);
  });
  return { userIds, groupIds, firstWriteAt, lastWriteAt, requests };
}

/** How many desired teams the emulator holds exactly (members and a grant). */
export function teamsConverged(
  state: { teams: Array<{ name: string; members: Array<{ login: string }>; stacks: unknown[] }> },
  desired: Map<string, Set<string>>,
): number {
  let count = 0;
  for (const [name, logins] of desired) {
    if (converged(state, new Map([[name, logins]]))) count += 1;
  }
  return count;
}

/** Emulator state matches: every desired team exists with exactly these members and a grant. */
export function converged(
  state: { teams: Array<{ name: string; members: Array<{ login: string }>; stacks: unknown[] }> },
  desired: Map<string, Set<string>>,
  expectGrants = true,
): boolean {
  const byName = new Map(state.teams.map((t) => [t.name, t]));
  for (const [name, logins] of desired) {
    const team = byName.get(name);
    if (!team || team.members.length !== logins.size) return false;
    if (expectGrants && team.stacks.length === 0) return false;
    for (const m of team.members) if (!logins.has(m.login)) return false;
  }
  return true;
}

/** Emulator seed: every user already an org member (so the diff is teams, grants and team members). */
export function seedFor(shape: DirectoryShape): { members: string[]; stacks: string[] } {
  return {
    members: Array.from({ length: shape.users }, (_, i) => loginOf(i)),
    stacks: ['infra/dev', 'infra/prod', 'web/prod'],
  };
}
