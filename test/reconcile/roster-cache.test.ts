import { Reconciler } from '../../src/reconcile';
import { okta, startHarness, type Harness } from './harness';

/**
 * The org roster (every org member, many pages at scale) is read once and then kept: members a
 * reconcile adds are recorded in place, and an expired roster is refreshed in the background
 * while reconciles go on with the one they have.
 */

let h: Harness;
const MEMBER_LIST = 'GET /api/orgs/{org}/members';
const ORG_ADD = 'POST /api/orgs/{org}/members/{login}';

beforeAll(async () => {
  h = await startHarness();
});

afterAll(async () => {
  await h.close();
});

it('reads the roster once for many team reconciles and remembers the members it added', async () => {
  const alice = await okta.createUser(h, 'alice@acme.example');
  const erin = await okta.createUser(h, 'erin@acme.example'); // has a Pulumi account, not an org member
  const teams = ['one', 'two', 'three', 'four'];
  for (const team of teams) {
    const group = await okta.createGroup(h, `pulumi-${team}`);
    await okta.addMembers(h, group, [alice, erin]);
  }
  const reconciler = new Reconciler({ db: h.scim.db, client: h.client, policy: h.policy, logger: h.logger, cacheTtlMs: 60_000 });
  const probe = h.emu.calls.snapshot().byRoute[MEMBER_LIST] ?? 0;
  await h.client.listOrgMembers('acme');
  const pagesOfOneListing = (h.emu.calls.snapshot().byRoute[MEMBER_LIST] ?? 0) - probe;
  const before = h.emu.calls.snapshot().byRoute;

  for (const team of teams) await reconciler.reconcileTeam({ team, reason: 'test' });

  const after = h.emu.calls.snapshot().byRoute;
  const calls = (route: string) => (after[route] ?? 0) - (before[route] ?? 0);
  expect(calls(MEMBER_LIST)).toBe(pagesOfOneListing); // however many teams were reconciled
  // erin joined the org during the first team's reconcile, and only then.
  expect(calls(ORG_ADD)).toBe(1);
  for (const team of teams)
    expect(
      h.emu.state.teams
        .find((t) => t.name === team)
        ?.members.map((m) => m.login)
        .sort(),
    ).toEqual(['alice', 'erin']);

  // With the roster expired, a reconcile goes on with the roster it has and refreshes it behind.
  const expiring = new Reconciler({ db: h.scim.db, client: h.client, policy: h.policy, logger: h.logger, cacheTtlMs: 0 });
  const group = await okta.createGroup(h, 'pulumi-five');
  await okta.addMembers(h, group, [alice, erin]);
  await expiring.reconcileTeam({ team: 'five', reason: 'test' }); // first load
  const mark = h.emu.calls.snapshot().byRoute[MEMBER_LIST] ?? 0;
  await okta.addMembers(h, await okta.createGroup(h, 'pulumi-six'), [alice, erin]);
  await expiring.reconcileTeam({ team: 'six', reason: 'test' });
  await h.emu.calls.idle();
  expect(h.emu.calls.snapshot().byRoute[MEMBER_LIST] ?? 0).toBeGreaterThan(mark); // refreshed behind
  for (const team of ['five', 'six'])
    expect(
      h.emu.state.teams
        .find((t) => t.name === team)
        ?.members.map((m) => m.login)
        .sort(),
    ).toEqual(['alice', 'erin']);
  expect((h.emu.calls.snapshot().byRoute[ORG_ADD] ?? 0) - (before[ORG_ADD] ?? 0)).toBe(1);
});
