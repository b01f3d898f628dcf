import { QUEUE } from '../../src/queue';
import { emuTeam, liveTokenIds, okta, seedTeamToken, startHarness, type Harness } from './harness';

/**
 * docs/robustness.md, "Deleted user, hand-made team": a SCIM user deleted → removed from the teams the daemon owns, and
 * only from those. The hand-made `legacy-ops` team of the demo seed is mapped by policy (group
 * "Legacy Ops") but not owned: neither the team reconciles nor the fast revoke lane may touch
 * it — not its members, not the tokens the deleted person made on it.
 */

let h: Harness;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness();
  h.startRevokeLane({ sweepEveryMs: 0 });
  h.startWorker();
  for (const login of ['alice', 'dave']) ids[login] = await okta.createUser(h, `${login}@acme.example`);
  for (const group of ['Platform Engineers', 'Legacy Ops']) {
    ids[group] = await okta.createGroup(h, group);
    await okta.addMembers(h, ids[group], [ids.alice, ids.dave]);
  }
  await h.settle();
  seedTeamToken(h.emu, 'platform', 'alice', 'tok-alice-platform');
  seedTeamToken(h.emu, 'legacy-ops', 'alice', 'tok-alice-legacy');
  // Refreshes the token cache the fast lane reads.
  await h.reconcileTeam({ team: 'platform', reason: 'test setup' });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

it('a deleted user leaves the owned team and loses their tokens there; the hand-made team is not touched', async () => {
  const legacyBefore = emuTeam(h.emu, 'legacy-ops');
  expect(legacyBefore?.members).toEqual(['alice', 'dave']);
  const legacyTokensBefore = liveTokenIds(h.emu, 'legacy-ops');
  expect(legacyTokensBefore).toContain('tok-alice-legacy');
  expect(emuTeam(h.emu, 'platform')?.members).toEqual(['alice', 'dave']);
  const seq = h.emu.calls.entries.at(-1)?.seq ?? 0;

  await okta.deleteUser(h, ids.alice);
  await h.settle();
  await h.idle([QUEUE.revoke]);

  expect(emuTeam(h.emu, 'platform')?.members).toEqual(['dave']);
  expect(liveTokenIds(h.emu, 'platform')).not.toContain('tok-alice-platform');
  expect(emuTeam(h.emu, 'legacy-ops')).toEqual(legacyBefore);
  expect(liveTokenIds(h.emu, 'legacy-ops')).toEqual(legacyTokensBefore);
  const writesToLegacy = h.emu.calls.entries.filter((c) => c.seq > seq && c.write && c.path.includes('/teams/legacy-ops'));
  expect(writesToLegacy).toEqual([]);
});
