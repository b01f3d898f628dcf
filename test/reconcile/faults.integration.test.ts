import type { Job } from 'bullmq';
import { readStatus } from '../../src/reconcile';
import { emuTeam, okta, startHarness, type Harness } from './harness';

/**
 * Failure paths on real infrastructure: a worker killed in the middle of applying a plan,
 * Pulumi rate limiting, and a permanent Pulumi error.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

const SEED_LOGINS = ['alice', 'bob', 'carol', 'dave', 'erin'];

describe('reconcile failures', () => {
  it('a worker killed mid-apply leaves state that the next worker converges, without duplicates', async () => {
    const users = [];
    for (const login of SEED_LOGINS) users.push(await okta.createUser(h, `${login}@acme.example`));
    const group = await okta.createGroup(h, 'pulumi-crash');
    await okta.addMembers(h, group, users);

    let killedAfter = -1;
    // The stalled check is throttled queue-wide by the interval of whichever worker ran it last.
    const victim = h.startWorker({
      lockDuration: 1000,
      stalledInterval: 500,
      afterOp: async (_op, index) => {
        if (index === 1 && killedAfter < 0) {
          killedAfter = index;
          // Like a process dying: the worker stops renewing locks and reporting results.
          void victim.close(true);
          throw new Error('worker killed');
        }
      },
    });
    while ((await h.relay.drainOnce()) > 0);
    for (let i = 0; i < 200 && killedAfter < 0; i++) await new Promise((r) => setTimeout(r, 25));
    expect(killedAfter).toBe(1);
    const partial = emuTeam(h.emu, 'crash');
    expect(partial?.members.length ?? 0).toBeLessThan(SEED_LOGINS.length);

    const rescuer = h.startWorker({ lockDuration: 1000, stalledInterval: 500 });
    await h.settle(30_000);
    expect(emuTeam(h.emu, 'crash')).toMatchObject({ members: SEED_LOGINS, grants: { 'data/dev': 102, 'infra/dev': 102, 'web/dev': 102 } });
    const team = h.emu.state.teams.find((t) => t.name === 'crash')!;
    expect(new Set(team.members.map((m) => m.login)).size).toBe(team.members.length);
    expect(h.emu.state.members.filter((m) => m.login === 'erin')).toHaveLength(1);

    const writes = h.emu.calls.writes;
    await h.reconciler.reconcileTeam({ team: 'crash', reason: 'manual' });
    expect(h.emu.calls.writes).toBe(writes);
    await rescuer.close();
  });

  it('a Pulumi 429 pauses the queue without using up an attempt, then converges', async () => {
    const worker = h.startWorker();
    const completed: Job[] = [];
    worker.on('completed', (job) => completed.push(job));
    h.emu.faults.add({ method: 'PATCH', path: '/api/orgs/acme/teams/*', kind: 'rate-limit', retryAfterSeconds: 1, times: 3 });
    const frank = await okta.createUser(h, 'frank@acme.example');
    const group = await okta.createGroup(h, 'pulumi-limited');
    await okta.addMembers(h, group, [frank]);
    await h.settle(30_000);
    await worker.close();
    expect(emuTeam(h.emu, 'limited')?.members).toEqual(['frank']);
    const job = completed.find((j) => j.data.team === 'limited');
    expect(job?.attemptsStarted).toBeGreaterThan(1);
    expect(job?.attemptsMade).toBeLessThanOrEqual(1);
    expect(h.emu.faults.list().length === 0 || h.emu.faults.list().every((f) => f.fired === 3)).toBe(true);
    h.emu.faults.clear();
  });

  it('a permanent Pulumi error fails the job without retries and marks the team degraded', async () => {
    const worker = h.startWorker();
    const failed: Job[] = [];
    worker.on('failed', (job) => job && failed.push(job));
    h.emu.faults.add({ method: 'POST', path: '/api/orgs/acme/teams/pulumi', kind: 'status', status: 400 });
    const group = await okta.createGroup(h, 'pulumi-broken');
    await okta.addMembers(h, group, []);
    await h.settle(30_000);
    await worker.close();
    h.emu.faults.clear();
    const job = failed.find((j) => j.data.team === 'broken');
    expect(job?.attemptsMade).toBe(1);
    expect(job?.failedReason).toMatch(/^BadRequestError/);
    const status = await readStatus(h.scim.db, h.queues);
    expect(status.degradedTeams).toContain('broken');
    expect(status.teams.find((t) => t.team === 'broken')).toMatchObject({ degraded: true, lastOutcome: 'degraded' });

    // Once the cause is gone, the next reconcile clears the degraded mark.
    await h.reconciler.reconcileTeam({ team: 'broken', reason: 'manual' });
    expect((await readStatus(h.scim.db)).degradedTeams).not.toContain('broken');
  });
});
