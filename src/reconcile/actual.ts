import type { Db } from '../directory';
import type { PulumiClient } from '../pulumi';
import type { ActualTeam, IdentityRecord } from './types';

/** The team as Pulumi has it, with its tokens when the daemon may revoke them. */
export async function readActualTeam(client: PulumiClient, org: string, team: string, owned: boolean): Promise<ActualTeam | null> {
  const t = await client.getTeam(org, team);
  if (!t) return null;
  const tokens = owned && t.kind === 'pulumi' ? await client.listTeamTokens(org, team) : [];
  return {
    name: t.name,
    kind: t.kind,
    displayName: t.displayName,
    description: t.description,
    members: (t.members ?? []).map((m) => m.githubLogin),
    grants: (t.stacks ?? []).map((s) => ({ projectName: s.projectName, stackName: s.stackName, permission: s.permission })),
    environments: (t.environments ?? []).map((e) => ({
      projectName: e.projectName,
      envName: e.envName,
      permission: e.permission,
      ...(e.maxOpenDuration ? { maxOpenDuration: e.maxOpenDuration } : {}),
    })),
    tokens,
    admins: (t.members ?? []).filter((m) => m.role === 'admin').map((m) => m.githubLogin),
    roleIds: t.roleIds ?? [],
  };
}

/** Identities of token creators; when a login maps to several users, a live one wins. */
export async function identitiesFor(db: Db, logins: string[]): Promise<Map<string, IdentityRecord>> {
  const out = new Map<string, IdentityRecord>();
  if (logins.length === 0) return out;
  const rows: Array<{ user_id: string; login_lower: string; state: IdentityRecord['state'] }> = await db('identities')
    .whereIn('login_lower', [...new Set(logins.map((l) => l.toLowerCase()))])
    .select('user_id', 'login_lower', 'state');
  const rank = { active: 0, inactive: 1, deleted: 2 };
  for (const r of rows) {
    const current = out.get(r.login_lower);
    if (!current || rank[r.state] < rank[current.state]) out.set(r.login_lower, { userId: r.user_id, state: r.state });
  }
  return out;
}

/** Whether the daemon owns the team, and whether it took it over rather than created it. */
export async function ownershipOf(db: Db, team: string): Promise<{ owned: boolean; adopted: boolean }> {
  const row = (await db('owned_teams').where('name', team).first('adopted')) as { adopted: boolean } | undefined;
  return { owned: Boolean(row), adopted: row?.adopted ?? false };
}

export async function isOwnedTeam(db: Db, team: string): Promise<boolean> {
  return (await ownershipOf(db, team)).owned;
}

/**
 * Those of `teams` whose members and tokens the daemon manages: owned, and not taken over for
 * their grants only (as the last reconcile found).
 */
export async function ownedAmong(db: Db, teams: readonly string[]): Promise<string[]> {
  if (teams.length === 0) return [];
  return db('owned_teams as o')
    .leftJoin('team_status as s', 's.team', 'o.name')
    .whereIn('o.name', [...teams])
    .where((q) => q.whereNull('s.management').orWhere('s.management', 'full'))
    .pluck('o.name');
}
