import { desiredTeams, pushDirectory, seedFor, teamName, type DirectoryShape } from '../helpers/stack/directory';
import { startNodeProcess, type NodeProcess } from '../helpers/stack/processes';
import { startPulumiTap, type PulumiTap, type TappedCall } from '../helpers/stack/pulumi-tap';
import { benchPolicy, startStack, type Stack } from '../helpers/stack/stack';
import { expectConverged } from './harness';

/**
 * Scale-out: two `npm run worker` processes on one Redis and one Postgres. Each worker reaches
 * Pulumi through its own tap, so every call is attributed to a worker. While a burst of group
 * changes keeps both busy, no team ever has Pulumi calls from both workers in flight at once:
 * each team is reconciled by exactly one worker at a time — and both workers do share the work.
 */

const SHAPE: DirectoryShape = { users: 60, groups: 6, memberships: 120 };
let stack: Stack;
const taps: PulumiTap[] = [];
const workers: NodeProcess[] = [];

beforeAll(async () => {
  stack = await startStack({
    label: 'twoworkers',
    seed: seedFor(SHAPE),
    policy: benchPolicy(),
    pulumiLatencyMs: 15,
    workers: 0,
    mode: 'source',
    env: { RUN_WORKERS: 'false' },
  });
  for (const name of ['a', 'b']) {
    const tap = await startPulumiTap(stack.emulator.url);
    taps.push(tap);
    // Two reconciles at once per worker, fewer than the 6 teams: with the default 16, whichever
    // worker fetches first can take every team and the other never contends.
    // Two workers on one host: each serves /metrics on a port of its own (0: any free one).
    const env = { ...stack.env, PULUMI_BACKEND_URL: tap.url, WORKER_CONCURRENCY: '2', METRICS_PORT: '0' };
    workers.push(startNodeProcess('workers/main.js', env, `twoworkers-${name}`, 'source'));
  }
}, 90_000);

afterAll(async () => {
  await Promise.all(workers.map((w) => w.stop()));
  await Promise.all(taps.map((t) => t.stop()));
  await stack?.stop();
});

function teamOf(call: TappedCall): string | undefined {
  // POST …/teams/pulumi creates a team (CreatePulumiTeam): its name is in the body, not the path.
  if (call.method === 'POST' && /\/teams\/pulumi$/.test(call.path)) return (call.body as { name?: string } | undefined)?.name;
  return /\/teams\/([^/?]+)/.exec(call.path)?.[1];
}

it('reconciles each team on one worker at a time, with both workers sharing the teams', async () => {
  const push = await pushDirectory(stack.scim, SHAPE, 8);
  // Bursts: every group loses and regains members many times, from 8 clients at once. Three
  // waves, each run to convergence, so each team is reconciled several times over the run and
  // both workers get their turns at the same teams.
  const flips = Array.from({ length: 120 }, (_, i) => ({ g: i % SHAPE.groups, u: i % SHAPE.users }));
  const desired = desiredTeams(SHAPE);
  // Each flip ends with the user in the group, whether or not the plan had put them there.
  for (const { g, u } of flips) desired.get(teamName(g))!.add(`user${u}`);
  for (let wave = 0; wave < 3; wave++) {
    await Promise.all(
      Array.from({ length: 8 }, async (_, lane) => {
        for (let i = lane; i < flips.length; i += 8) {
          const { g, u } = flips[i];
          await stack.scim.request('PATCH', `/Groups/${push.groupIds[g]}`, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [{ op: 'remove', path: `members[value eq "${push.userIds[u]}"]` }],
          });
          await stack.scim.request('PATCH', `/Groups/${push.groupIds[g]}`, {
            schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
            Operations: [{ op: 'add', path: 'members', value: [{ value: push.userIds[u] }] }],
          });
        }
      }),
    );
    await expectConverged(stack, desired, 120_000);
  }

  const byTeam = new Map<string, Array<TappedCall & { worker: number }>>();
  taps.forEach((tap, worker) => {
    for (const call of tap.calls) {
      const team = teamOf(call);
      if (!team) continue;
      if (!byTeam.has(team)) byTeam.set(team, []);
      byTeam.get(team)!.push({ ...call, worker });
    }
  });
  const overlaps: string[] = [];
  // The revoke lane removes a person who lost access and lists the team's tokens outside the team
  // lock, on purpose (docs/robustness.md, "One Pulumi budget per org"): only the reconciles' other
  // calls must never overlap.
  const laneWork = (c: TappedCall) => c.path.endsWith('/tokens') || (c.body as { memberAction?: string } | undefined)?.memberAction === 'remove';
  for (const [team, all] of byTeam) {
    const calls = all.filter((c) => !laneWork(c));
    const a = calls.filter((c) => c.worker === 0);
    const b = calls.filter((c) => c.worker === 1);
    for (const x of a)
      for (const y of b) {
        if (x.startedAt < y.answeredAt && y.startedAt < x.answeredAt) overlaps.push(`${team}: ${x.method} ${x.path} with ${y.method} ${y.path}`);
      }
  }
  expect(overlaps).toEqual([]);
  const teamsPerWorker = [0, 1].map((w) => [...byTeam.values()].filter((calls) => calls.some((c) => c.worker === w)).length);
  expect(teamsPerWorker[0]).toBeGreaterThan(0);
  expect(teamsPerWorker[1]).toBeGreaterThan(0);
  // Some team was reconciled by both workers (at different times), so the check above was a real contest.
  expect([...byTeam.values()].filter((calls) => new Set(calls.map((c) => c.worker)).size === 2).length).toBeGreaterThan(0);
}, 240_000);
