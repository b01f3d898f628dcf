import type { Job } from 'bullmq';
import { readStatus } from '../../src/reconcile';
import { emuTeam, okta, startHarness, type Harness } from './harness';

/**
 * docs/robustness.md, "Testing reconcilers" (requeue on error): the counterpart of the terminal case in
 * faults.integration.test.ts. A transient Pulumi failure the client does not retry itself (a
 * 503 on team creation, which is not idempotent) fails one attempt; BullMQ retries the job
 * with backoff, the retry converges, and the team is never marked degraded.
 */

let h: Harness;
beforeAll(async () => {
  h = await startHarness();
});
afterAll(async () => {
  await h.close();
});

it('a transient 5xx fails one attempt; the job is retried and converges, and the team is not degraded', async () => {
  const worker = h.startWorker();
  const failed: Array<{ job: Job; err: Error }> = [];
  const completed: Job[] = [];
  worker.on('failed', (job, err) => {
    if (job?.data.team === 'flaky') failed.push({ job, err });
  });
  worker.on('completed', (job) => {
    if (job.data.team === 'flaky') completed.push(job);
  });
  h.emu.faults.add({ method: 'POST', path: '/api/orgs/acme/teams/pulumi', kind: 'status', status: 503, times: 1 });
  try {
    const alice = await okta.createUser(h, 'alice@acme.example');
    const group = await okta.createGroup(h, 'pulumi-flaky');
    await okta.addMembers(h, group, [alice]);
    await h.settle(30_000);
  } finally {
    await worker.close();
    h.emu.faults.clear();
  }

  expect(failed.map(({ err }) => err.name)).toEqual(['ServerError']);
  expect(completed).toHaveLength(1);
  expect(completed[0].id).toBe(failed[0].job.id);
  expect(emuTeam(h.emu, 'flaky')?.members).toEqual(['alice']);
  const status = await readStatus(h.scim.db, h.queues);
  expect(status.degradedTeams).not.toContain('flaky');
  expect(status.teams.find((t) => t.team === 'flaky')).toMatchObject({ degraded: false, lastOutcome: 'success' });
});
