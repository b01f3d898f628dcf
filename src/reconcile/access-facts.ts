import { type Db, peopleByUserName, peopleInGroups, personById, type PersonRef } from '../directory';
import type { OrgStack, Policy } from '../policy';
import { listTokens } from '../tokens';
import type { AccessFacts, AccessPerson, AccessTokenFact } from './access';
import { bindGroups, readDirectory } from './desired';

/**
 * Reads what `explainAccess` decides on: the groups each rule binds to each team, desired
 * members, group members, logins and the ledger's live tokens. Read-only.
 */
export async function readAccessFacts(db: Db, policy: Policy, stacks: readonly OrgStack[]): Promise<AccessFacts> {
  const [bindings, snapshot, tokens] = await Promise.all([bindGroups(db, policy), readDirectory(db, policy, stacks), listTokens({ db }, { state: 'active' })]);
  const flat = [...bindings.values()].flatMap((b) =>
    [...b.groups.values()].map(({ group }) => ({ team: b.team, ruleIndex: b.rule.index, group: { id: group.id, displayName: group.display_name } })),
  );
  const groupMembers = new Map<string, string[]>();
  for (const row of await peopleInGroups(db, [...new Set(flat.map((b) => b.group.id))])) {
    if (row.active) groupMembers.set(row.group_id, [...(groupMembers.get(row.group_id) ?? []), row.id]);
  }
  const people = new Map<string, AccessPerson>(
    snapshot.users.map((u) => [u.id, { userId: u.id, userName: u.user_name, login: snapshot.logins.byUser.get(u.id)?.login ?? null }]),
  );
  const teamMembers = new Map([...snapshot.teams].map(([name, team]) => [name, new Set([...team.members.values()].map((m) => m.userId))]));
  const tokenFacts: AccessTokenFact[] = tokens.map((t) => ({
    id: t.id,
    tokenName: t.tokenName,
    kind: t.kind,
    ownerUserId: t.ownerUserId,
    ownerUserName: t.owner,
    parentTeam: t.team,
    pulumiTeam: t.pulumiTeam,
    // The access view explains stack access; a token's environment grants are not among its rows.
    grants: t.kind === 'scoped' ? (t.grants ?? []).filter((g) => 'stack' in g) : null,
  }));
  return {
    policyFile: policy.file,
    orgDefault: policy.orgDefaultPermission,
    stacks,
    rules: policy.rules,
    bindings: flat,
    teamMembers,
    groupMembers,
    people,
    tokens: tokenFacts,
  };
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** The person `key` names: their SCIM id, their SCIM userName (any case), or the Pulumi login linked to them. */
export async function findAccessPerson(db: Db, key: string): Promise<PersonRef | undefined> {
  if (UUID.test(key)) {
    const byId = await personById(db, key);
    if (byId) return byId;
  }
  const [byName] = await peopleByUserName(db, key, 1);
  if (byName) return byName;
  const link: { user_id: string } | undefined = await db('identity_links').where('login_lower', key.toLowerCase()).first('user_id');
  return link ? personById(db, link.user_id) : undefined;
}
