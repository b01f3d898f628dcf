import { createLogger } from '../../src/log';
import { startEmulator, type Emulator } from '../../src/emulator';
import { createPulumiClient } from '../../src/pulumi';
import {
  issueToken,
  listTokens,
  reconcileDependentTokens,
  revokeForIdentityLoss,
  revokeToken,
  sweepTokens,
  type TeamAccessView,
  type PersonState,
  type TokenAuditEntry,
  type TokenDeps,
  TokenError,
} from '../../src/tokens';
import { getToken, markRevoking, replaceTeamTokenCache } from '../../src/tokens/ledger';
import type { StackGrant } from '../../src/tokens/scope';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { emptyAcmePolicy } from '../helpers/policy';

/**
 * The tokens service against real Postgres and the emulator. The reconciler's view of teams
 * (desired grants, membership) is given here as a plain table — it is the input these rules
 * react to; the end-to-end tests in reconcile-hook.test.ts drive it through SCIM + reconcile.
 */

const g = (project: string, stack: string, permission: 101 | 102 | 103): StackGrant => ({ project, stack, permission });

class TableAccess implements TeamAccessView {
  grants = new Map<string, StackGrant[]>();
  members = new Map<string, Set<string>>();
  logins = new Map<string, string[]>();
  async desiredGrants(team: string) {
    return this.grants.get(team) ?? null;
  }
  async isActiveMember(userId: string, team: string) {
    return this.members.get(team)?.has(userId) ?? false;
  }
  async activeMembers(team: string) {
    return new Set(this.members.get(team));
  }
  async loginsOf(userId: string) {
    return this.logins.get(userId) ?? [];
  }
  async personState(userId: string): Promise<PersonState> {
    const user = await tdb.db('users').where({ id: userId }).first('active');
    return !user ? 'deleted' : user.active ? 'active' : 'deactivated';
  }
  async ownedTeams(teams: readonly string[]) {
    return tdb
      .db('owned_teams')
      .whereIn('name', [...teams])
      .pluck('name');
  }
}

let tdb: TestDatabase;
let emu: Emulator;
let deps: TokenDeps;
let access: TableAccess;
let audit: TokenAuditEntry[];
let alice: string;
let bob: string;

const policy = emptyAcmePolicy();

beforeAll(async () => {
  tdb = await createTestDatabase();
  [alice, bob] = (
    await tdb
      .db('users')
      .insert([{ user_name: 'alice@example.com' }, { user_name: 'bob@example.com' }])
      .returning('id')
  ).map((r: { id: string }) => r.id);
});

afterAll(async () => {
  await tdb.drop();
});

beforeEach(async () => {
  emu = await startEmulator({
    seed: {
      members: ['alice', 'bob'],
      stacks: ['infra/dev', 'infra/prod', 'app/dev'],
      teams: [
        {
          name: 'platform',
          members: ['alice', 'bob'],
          stacks: [
            { projectName: 'infra', stackName: 'dev', permission: 102 },
            { projectName: 'infra', stackName: 'prod', permission: 103 },
            { projectName: 'app', stackName: 'dev', permission: 101 },
          ],
        },
      ],
    },
  });
  access = new TableAccess();
  access.grants.set('platform', [g('infra', 'dev', 102), g('infra', 'prod', 103), g('app', 'dev', 101)]);
  access.members.set('platform', new Set([alice, bob]));
  audit = [];
  deps = {
    db: tdb.db,
    pulumi: createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken, retry: { baseDelayMs: 1, maxDelayMs: 5 } }),
    org: 'acme',
    policy: { current: policy },
    access,
    // What was done or failed; intents and `already` outcomes (docs/audit.md) have tests of their own.
    audit: async (e) => void (e.outcome === 'intent' || e.outcome === 'already' || audit.push(e)),
    logger: createLogger({ level: 'error' }),
  };
  await tdb.db('token_ledger').delete();
  await tdb.db('team_token_cache').delete();
  // Each test's emulator numbers its tokens from the start again.
  await tdb.db('revoked_team_tokens').delete();
});

afterEach(async () => {
  await emu.stop();
});

/** The client of a worker killed mid-job: another process, whose memory of its calls died with it. */
const killedWorkersClient = () => createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken });
const team = (name: string) => emu.state.teams.find((t) => t.name === name);
const liveTokensOn = (teamName: string) => emu.state.tokens.filter((t) => t.team === teamName && !t.deleted);

describe('issuing a scoped token', () => {
  it('creates a private team holding scope ∩ parent grants, with no members, and a token on it', async () => {
    const issued = await issueToken(deps, {
      team: 'platform',
      owner: 'Alice@Example.com',
      description: 'ci for infra',
      scope: [
        { project: 'infra', stack: 'dev' },
        { project: 'infra', stack: 'prod', permission: 'read' },
        { project: 'web', stack: 'dev' },
      ],
    });

    expect(issued.pulumiTeam).toMatch(/^pis-tok-[0-9a-f]{32}$/);
    expect(issued.tokenValue.length).toBeGreaterThan(10);
    const priv = team(issued.pulumiTeam)!;
    expect(priv.members).toEqual([]);
    expect(priv.stacks).toEqual(
      expect.arrayContaining([
        { projectName: 'infra', stackName: 'dev', permission: 102 },
        { projectName: 'infra', stackName: 'prod', permission: 101 },
      ]),
    );
    expect(priv.stacks).toHaveLength(2);
    expect(liveTokensOn(issued.pulumiTeam)).toHaveLength(1);

    const row = await getToken(tdb.db, issued.id);
    expect(row).toMatchObject({ state: 'active', kind: 'scoped', ownerUserId: alice, parentTeam: 'platform', generation: 1 });
    expect(JSON.stringify(await tdb.db('token_ledger').select('*'))).not.toContain(issued.tokenValue);
    expect(audit.map((a) => a.action)).toEqual(['token.issued']);
  });

  it('answers even when the creator of a new team joins it: the member is removed', async () => {
    emu.config.creatorJoinsNewTeam = true;
    const issued = await issueToken(deps, { team: 'platform', owner: 'alice@example.com', description: '', scope: [{ project: 'app', stack: 'dev' }] });
    expect(team(issued.pulumiTeam)!.members).toEqual([]);
  });

  it('takes the next name generation when the name is taken', async () => {
    emu.faults.add({ method: 'POST', path: '/api/orgs/acme/teams/*/tokens', kind: 'status', status: 409, times: 1 });
    const issued = await issueToken(deps, { team: 'platform', owner: 'alice@example.com', description: '', scope: [{ project: 'app', stack: 'dev' }] });
    const row = await getToken(tdb.db, issued.id);
    expect(row).toMatchObject({ state: 'active', generation: 2 });
    expect(row!.tokenName).toMatch(/-2$/);
    expect(liveTokensOn(issued.pulumiTeam).map((t) => t.name)).toEqual([row!.tokenName]);
  });

  it('cleans up the private team and records the failure when Pulumi refuses the token', async () => {
    emu.faults.add({ method: 'POST', path: '/api/orgs/acme/teams/*/tokens', kind: 'status', status: 403 });
    await expect(
      issueToken(deps, { team: 'platform', owner: 'alice@example.com', description: '', scope: [{ project: 'app', stack: 'dev' }] }),
    ).rejects.toMatchObject({ code: 'pulumi_unavailable' });
    expect(emu.state.teams.filter((t) => t.name.startsWith('pis-tok-'))).toEqual([]);
    const [row] = await tdb.db('token_ledger').select('state');
    expect(row.state).toBe('failed');
  });
});

describe('issuing without a scope', () => {
  it('puts the token on the parent team and records its owner', async () => {
    const issued = await issueToken(deps, { team: 'platform', owner: 'bob@example.com', description: 'deploys' });
    expect(issued.pulumiTeam).toBe('platform');
    expect(liveTokensOn('platform')).toHaveLength(1);
    expect(await listTokens(deps, { ownerUserId: bob })).toEqual([
      expect.objectContaining({ id: issued.id, owner: 'bob@example.com', ownerUserId: bob, kind: 'team', pulumiTeam: 'platform', state: 'active' }),
    ]);
    expect(await listTokens(deps, { ownerUserId: alice })).toEqual([]);
  });
});

describe('the owner', () => {
  it('may be named by SCIM id, and the token is recorded under that person', async () => {
    const issued = await issueToken(deps, { team: 'platform', owner: bob, description: 'by id' });
    expect(await getToken(tdb.db, issued.id)).toMatchObject({ ownerUserId: bob, ownerUserName: 'bob@example.com' });
  });

  it('is unknown when no SCIM user has that id or userName', async () => {
    await expect(issueToken(deps, { team: 'platform', owner: '00000000-0000-4000-8000-000000000000', description: '' })).rejects.toMatchObject({
      code: 'unknown_owner',
    });
  });
});

describe('bad issuance requests', () => {
  const cases: Array<[string, unknown, string, RegExp]> = [
    ['a missing team', { owner: 'alice@example.com', description: '' }, 'invalid_request', /team/],
    ['an unknown field', { team: 'platform', owner: 'alice@example.com', description: '', admin: true }, 'invalid_request', /admin/],
    [
      'a bad permission',
      { team: 'platform', owner: 'alice@example.com', description: '', scope: [{ project: 'a', stack: 'b', permission: 'owner' }] },
      'invalid_request',
      /permission/,
    ],
    ['an empty scope list', { team: 'platform', owner: 'alice@example.com', description: '', scope: [] }, 'invalid_request', /scope/],
    [
      'a duplicate scope entry',
      {
        team: 'platform',
        owner: 'alice@example.com',
        description: '',
        scope: [
          { project: 'a', stack: 'b' },
          { project: 'a', stack: 'b' },
        ],
      },
      'invalid_request',
      /twice/,
    ],
    [
      'an expiry in the past',
      { team: 'platform', owner: 'alice@example.com', description: '', expiresAt: '2020-01-01T00:00:00Z' },
      'invalid_request',
      /future/,
    ],
    ['a malformed expiry', { team: 'platform', owner: 'alice@example.com', description: '', expiresAt: 'tomorrow' }, 'invalid_request', /ISO-8601/],
    ['an unknown owner', { team: 'platform', owner: 'carol@example.com', description: '' }, 'unknown_owner', /carol/],
    ['an unknown team', { team: 'nope', owner: 'alice@example.com', description: '' }, 'unknown_team', /nope/],
    [
      'a scope the team holds nothing of',
      { team: 'platform', owner: 'alice@example.com', description: '', scope: [{ project: 'web', stack: 'prod' }] },
      'empty_scope',
      /none of the stacks/,
    ],
  ];
  it.each(cases)('rejects %s', async (_name, body, code, message) => {
    const err = await issueToken(deps, body).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(TokenError);
    expect(err).toMatchObject({ code, message: expect.stringMatching(message) });
    expect(emu.calls.writes).toBe(0);
  });

  it('rejects an owner who is not a member of the team', async () => {
    access.members.set('platform', new Set([bob]));
    await expect(issueToken(deps, { team: 'platform', owner: 'alice@example.com', description: '' })).rejects.toMatchObject({ code: 'not_a_member' });
  });
});

describe('narrowing and revocation after the parent team changes', () => {
  async function issueScoped() {
    return issueToken(deps, {
      team: 'platform',
      owner: 'alice@example.com',
      description: '',
      scope: [
        { project: 'infra', stack: 'dev' },
        { project: 'app', stack: 'dev' },
      ],
    });
  }

  it('downgrades the private team when the parent grant goes from write to read, keeping the token', async () => {
    const issued = await issueScoped();
    access.grants.set('platform', [g('infra', 'dev', 101), g('infra', 'prod', 103), g('app', 'dev', 101)]);

    expect(await reconcileDependentTokens(deps, { team: 'platform', requestId: 'req-1', requestedAt: new Date() })).toEqual({ revoked: 0, narrowed: 1 });
    expect(team(issued.pulumiTeam)!.stacks).toEqual(
      expect.arrayContaining([
        { projectName: 'infra', stackName: 'dev', permission: 101 },
        { projectName: 'app', stackName: 'dev', permission: 101 },
      ]),
    );
    expect(liveTokensOn(issued.pulumiTeam)).toHaveLength(1);
    expect(audit.at(-1)).toMatchObject({ action: 'token.narrowed', requestId: 'req-1', latencyMs: expect.any(Number) });

    const writes = emu.calls.writes;
    expect(await reconcileDependentTokens(deps, { team: 'platform' })).toEqual({ revoked: 0, narrowed: 0 });
    expect(emu.calls.writes).toBe(writes);
  });

  it('does not widen the private team when the parent gains access', async () => {
    const issued = await issueScoped();
    access.grants.set('platform', [g('infra', 'dev', 103), g('app', 'dev', 103)]);
    await reconcileDependentTokens(deps, { team: 'platform' });
    expect(team(issued.pulumiTeam)!.stacks).toEqual(
      expect.arrayContaining([
        { projectName: 'infra', stackName: 'dev', permission: 102 },
        { projectName: 'app', stackName: 'dev', permission: 101 },
      ]),
    );
  });

  it('revokes the token and deletes the private team when the last granted stack of the scope goes', async () => {
    const issued = await issueScoped();
    access.grants.set('platform', [g('infra', 'prod', 103)]);
    expect(await reconcileDependentTokens(deps, { team: 'platform', requestId: 'req-2', requestedAt: new Date() })).toEqual({ revoked: 1, narrowed: 0 });
    expect(team(issued.pulumiTeam)).toBeUndefined();
    expect(liveTokensOn(issued.pulumiTeam)).toEqual([]);
    expect(await getToken(tdb.db, issued.id)).toMatchObject({ state: 'revoked', revokeRequestId: 'req-2' });
    expect(audit.at(-1)).toMatchObject({ action: 'token.revoked', requestId: 'req-2', reason: expect.stringMatching(/no longer holds any stack/) });
  });

  it('revokes a token whose owner left the parent team and leaves other owners alone', async () => {
    const alices = await issueScoped();
    const bobs = await issueToken(deps, { team: 'platform', owner: 'bob@example.com', description: '' });
    access.members.set('platform', new Set([bob]));
    expect(await reconcileDependentTokens(deps, { team: 'platform' })).toEqual({ revoked: 1, narrowed: 0 });
    expect((await getToken(tdb.db, alices.id))!.state).toBe('revoked');
    expect((await getToken(tdb.db, bobs.id))!.state).toBe('active');
    expect(liveTokensOn('platform')).toHaveLength(1);
    expect(audit.at(-1)!.reason).toBe('owner is no longer a member of team platform');
  });
});

describe('ledger follows tokens deleted outside it', () => {
  it('marks an unscoped token revoked once Pulumi no longer has it, but not on a stale list alone', async () => {
    const kept = await issueToken(deps, { team: 'platform', owner: 'bob@example.com', description: '' });
    const gone = await issueToken(deps, { team: 'platform', owner: 'alice@example.com', description: '' });
    const goneRow = (await getToken(tdb.db, gone.id))!;
    await deps.pulumi.deleteTeamToken('acme', 'platform', goneRow.pulumiTokenId!);

    // A list read before both tokens existed: only the really deleted one is revoked.
    expect(await reconcileDependentTokens(deps, { team: 'platform', tokens: [] })).toEqual({ revoked: 1, narrowed: 0 });
    expect(await getToken(tdb.db, gone.id)).toMatchObject({ state: 'revoked', revokeReason: 'token was deleted outside pulumi-idp-sync' });
    expect((await getToken(tdb.db, kept.id))!.state).toBe('active');
  });
});

describe('fast lane (revokeForIdentityLoss)', () => {
  async function seedCreatorToken(createdBy: string): Promise<string> {
    const res = await fetch(`${emu.handEditUrl}/api/orgs/acme/teams/platform/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-emulator-acting-as': createdBy },
      body: JSON.stringify({ name: `hand-${createdBy}-${Date.now()}`, description: '', expires: 0 }),
    });
    expect(res.ok).toBe(true);
    await replaceTeamTokenCache(tdb.db, 'platform', await deps.pulumi.listTeamTokens('acme', 'platform'));
    return ((await res.json()) as { id: string }).id;
  }

  it('revokes the person’s creator-bound and ledger tokens from the cache, once, and leaves others', async () => {
    access.logins.set(alice, ['alice']);
    access.logins.set(bob, ['bob']);
    const alicesHand = await seedCreatorToken('alice');
    const bobsHand = await seedCreatorToken('bob');
    const alicesScoped = await issueToken(deps, { team: 'platform', owner: 'alice@example.com', description: '', scope: [{ project: 'app', stack: 'dev' }] });
    access.members.set('platform', new Set([bob]));

    const calls = emu.calls.entries.length;
    expect(await revokeForIdentityLoss(deps, { userId: alice, requestId: 'req-fast', requestedAt: new Date() })).toEqual({
      ledgerRevoked: 1,
      creatorBoundRevoked: 1,
    });
    // The DELETEs, and one read of the teams Pulumi still lists alice on (none here that the
    // daemon owns, so no token list is read).
    expect(
      emu.calls.entries
        .slice(calls)
        .map((c) => `${c.method} ${c.route}`)
        .sort(),
    ).toEqual([
      'DELETE /api/orgs/{org}/teams/{team}',
      'DELETE /api/orgs/{org}/teams/{team}/tokens/{tokenId}',
      'DELETE /api/orgs/{org}/teams/{team}/tokens/{tokenId}',
      'GET /api/orgs/{org}/members/{login}/teams',
    ]);
    expect(liveTokensOn('platform').map((t) => t.id)).toEqual([bobsHand]);
    expect(liveTokensOn('platform').map((t) => t.id)).not.toContain(alicesHand);
    expect(team(alicesScoped.pulumiTeam)).toBeUndefined();
    expect(
      audit
        .filter((a) => a.action === 'token.revoked')
        .map((a) => [a.requestId, a.reason])
        .sort(),
    ).toEqual([
      ['req-fast', 'creator is no longer a member of team platform'],
      ['req-fast', 'owner is no longer a member of team platform'],
    ]);

    // A repeat (a redelivered job) finds nothing left to do.
    expect(await revokeForIdentityLoss(deps, { userId: alice, requestId: 'req-fast', requestedAt: new Date() })).toEqual({
      ledgerRevoked: 0,
      creatorBoundRevoked: 0,
    });
    expect(audit.filter((a) => a.action === 'token.revoked')).toHaveLength(2);
  });

  it('revokes a token made since the team was last reconciled (not cached) on an owned team Pulumi still lists the person on', async () => {
    access.logins.set(alice, ['alice']);
    const handEdit = (method: string, path: string, body: unknown, actingAs: string) =>
      fetch(`${emu.handEditUrl}${path}`, {
        method,
        headers: { 'content-type': 'application/json', 'x-emulator-acting-as': actingAs },
        body: JSON.stringify(body),
      });
    // alice is still on platform in Pulumi (the seed); only the directory says she left.
    const res = await handEdit('POST', '/api/orgs/acme/teams/platform/tokens', { name: `fresh-${Date.now()}`, description: '', expires: 0 }, 'alice');
    const fresh = ((await res.json()) as { id: string }).id;
    access.members.set('platform', new Set([bob]));

    // Not a team the daemon owns: the live path leaves it alone (as the reconciler would).
    expect(await revokeForIdentityLoss(deps, { userId: alice, requestId: 'req-live', requestedAt: new Date() })).toEqual({
      ledgerRevoked: 0,
      creatorBoundRevoked: 0,
    });
    expect(liveTokensOn('platform').map((t) => t.id)).toContain(fresh);

    await tdb.db('owned_teams').insert({ name: 'platform' }).onConflict('name').ignore();
    expect(await revokeForIdentityLoss(deps, { userId: alice, requestId: 'req-live', requestedAt: new Date() })).toEqual({
      ledgerRevoked: 0,
      creatorBoundRevoked: 1,
    });
    expect(liveTokensOn('platform').map((t) => t.id)).not.toContain(fresh);
    expect(audit.filter((a) => a.action === 'token.revoked').map((a) => a.requestId)).toEqual(['req-live']);
  });

  it('killed after a creator-bound DELETE: the repeat gets 404, records the revocation and audits once', async () => {
    access.logins.set(alice, ['alice']);
    const hand = await seedCreatorToken('alice');
    access.members.set('platform', new Set([bob]));
    await killedWorkersClient().deleteTeamToken('acme', 'platform', hand);

    expect(await revokeForIdentityLoss(deps, { userId: alice, requestId: 'req-x', requestedAt: null })).toEqual({ ledgerRevoked: 0, creatorBoundRevoked: 1 });
    expect(emu.calls.entries.filter((c) => c.method === 'DELETE' && c.path.endsWith(`/tokens/${hand}`)).map((c) => c.status)).toEqual([204, 404]);
    expect(audit.filter((a) => a.action === 'token.revoked')).toHaveLength(1);
    expect(await revokeForIdentityLoss(deps, { userId: alice, requestId: 'req-x', requestedAt: null })).toEqual({ ledgerRevoked: 0, creatorBoundRevoked: 0 });
  });

  it('leaves creator-bound tokens alone when tokens.revokeWhenCreatorLeaves is off', async () => {
    access.logins.set(alice, ['alice']);
    const hand = await seedCreatorToken('alice');
    access.members.set('platform', new Set([bob]));
    deps.policy = { current: emptyAcmePolicy('tokens:\n  revokeWhenCreatorLeaves: false\n') };
    expect(await revokeForIdentityLoss(deps, { userId: alice, requestId: null, requestedAt: null })).toEqual({ ledgerRevoked: 0, creatorBoundRevoked: 0 });
    expect(liveTokensOn('platform').map((t) => t.id)).toContain(hand);
  });
});

describe('at-least-once revocation', () => {
  it('a worker killed between the DELETE and the ledger update: the next run revokes nothing twice and misses nothing', async () => {
    const issued = await issueToken(deps, { team: 'platform', owner: 'alice@example.com', description: '', scope: [{ project: 'app', stack: 'dev' }] });
    const row = (await getToken(tdb.db, issued.id))!;
    // What the killed worker got done: the decision recorded, the token DELETE answered.
    await markRevoking(tdb.db, row.id, { reason: 'owner deactivated in the IdP', requestId: 'req-9', requestedAt: new Date() });
    await killedWorkersClient().deleteTeamToken('acme', issued.pulumiTeam, row.pulumiTokenId!);
    const deletesBefore = emu.calls.entries.filter((c) => c.method === 'DELETE' && c.status === 204).length;

    const result = await sweepTokens(deps);
    expect(result).toMatchObject({ resumed: 1, failed: 0 });
    expect(await getToken(tdb.db, row.id)).toMatchObject({ state: 'revoked', revokeRequestId: 'req-9' });
    expect(team(issued.pulumiTeam)).toBeUndefined();
    // The repeat DELETE of the token was answered 404 (already gone): no second revocation.
    const tokenDeletes = emu.calls.entries.filter((c) => c.method === 'DELETE' && c.route.endsWith('/tokens/{tokenId}'));
    expect(tokenDeletes.map((c) => c.status)).toEqual([204, 404]);
    expect(emu.calls.entries.filter((c) => c.method === 'DELETE' && c.status === 204).length).toBe(deletesBefore + 1);
    expect(audit.filter((a) => a.action === 'token.revoked')).toHaveLength(1);

    expect(await sweepTokens(deps)).toEqual({ expired: 0, resumed: 0, abandoned: 0, failed: 0 });
    expect(audit.filter((a) => a.action === 'token.revoked')).toHaveLength(1);
  });

  it('a worker killed after recording the decision but before the DELETE: the next run deletes', async () => {
    const issued = await issueToken(deps, { team: 'platform', owner: 'bob@example.com', description: '' });
    await markRevoking(tdb.db, issued.id, { reason: 'owner deleted in the IdP', requestId: 'req-10', requestedAt: new Date() });
    expect(liveTokensOn('platform')).toHaveLength(1);
    await sweepTokens(deps);
    expect(liveTokensOn('platform')).toEqual([]);
    expect((await getToken(tdb.db, issued.id))!.state).toBe('revoked');
  });
});

describe('expiry and explicit revocation', () => {
  it('the sweep revokes expired tokens and deletes their private teams', async () => {
    const issued = await issueToken(deps, {
      team: 'platform',
      owner: 'alice@example.com',
      description: '',
      scope: [{ project: 'app', stack: 'dev' }],
      expiresAt: new Date(Date.now() + 3600_000).toISOString(),
    });
    expect(await sweepTokens(deps)).toMatchObject({ expired: 0 });
    deps.now = () => new Date(Date.now() + 2 * 3600_000);
    expect(await sweepTokens(deps)).toMatchObject({ expired: 1 });
    expect(await getToken(tdb.db, issued.id)).toMatchObject({ state: 'revoked', revokeReason: 'expired' });
    expect(team(issued.pulumiTeam)).toBeUndefined();
  });

  it('revokeToken revokes once; again is a no-op; an unknown id is a clear error', async () => {
    const issued = await issueToken(deps, { team: 'platform', owner: 'bob@example.com', description: '' });
    expect(await revokeToken(deps, issued.id)).toMatchObject({ state: 'revoked', revokeReason: 'revoked on request' });
    expect(await revokeToken(deps, issued.id)).toMatchObject({ state: 'revoked' });
    expect(audit.filter((a) => a.action === 'token.revoked')).toHaveLength(1);
    await expect(revokeToken(deps, 'not-a-uuid')).rejects.toMatchObject({ code: 'unknown_token' });
  });
});
