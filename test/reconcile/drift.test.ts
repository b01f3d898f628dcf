import { QUEUE } from '../../src/queue';
import { DRIFT_SCHEDULER_ID, queryAudit, upsertDriftSchedule } from '../../src/reconcile';
import { parsePolicy } from '../../src/policy';
import { emuTeam, okta, POLICY_YAML, startHarness, type Harness } from './harness';

/** The drift job scheduler repairs hand edits on its own, and is idempotent across upserts. */

let h: Harness;
beforeAll(async () => {
  h = await startHarness({ policyYaml: `${POLICY_YAML}\nreconcile:\n  every: 500ms\n` });
  const bob = await okta.createUser(h, 'bob@acme.example');
  await okta.addMembers(h, await okta.createGroup(h, 'Platform Engineers'), [bob]);
});
afterAll(async () => {
  await h.close();
});

describe('drift schedule', () => {
  it('one scheduler, however often it is upserted, with the policy interval', async () => {
    await upsertDriftSchedule(h.queues, h.policy.current);
    await upsertDriftSchedule(h.queues, h.policy.current);
    const schedulers = await h.queues.queue(QUEUE.reconcile).getJobSchedulers();
    expect(schedulers).toHaveLength(1);
    expect(schedulers[0]).toMatchObject({ key: DRIFT_SCHEDULER_ID, every: 500 });
    await upsertDriftSchedule(h.queues, parsePolicy(`${POLICY_YAML}\nreconcile:\n  cron: "0 * * * *"\n`, 'sync.yaml'));
    const [cron] = await h.queues.queue(QUEUE.reconcile).getJobSchedulers();
    expect(cron).toMatchObject({ key: DRIFT_SCHEDULER_ID, pattern: '0 * * * *', tz: 'UTC' });
    await upsertDriftSchedule(h.queues, h.policy.current);
  });

  it('repairs a hand edit of an owned team without any directory change, audited as drift', async () => {
    const worker = h.startWorker();
    try {
      // The scheduler always keeps its next job delayed, so wait for the state, not an empty queue.
      while ((await h.relay.drainOnce()) > 0);
      for (let i = 0; i < 200 && !emuTeam(h.emu, 'platform')?.members.includes('bob'); i++) await new Promise((r) => setTimeout(r, 50));
      expect(emuTeam(h.emu, 'platform')?.members).toEqual(['bob']);
      h.emu.state.teams.find((t) => t.name === 'platform')!.members.push({ login: 'carol', role: 'member' });
      // The intent is written before the removal and the outcome after it: wait for both the entry and Pulumi.
      const repaired = async () => (await queryAudit(h.scim.db, { category: 'drift', op: 'removeMember' })).entries;
      for (let i = 0; i < 2400 && ((await repaired()).length === 0 || emuTeam(h.emu, 'platform')?.members.some((m) => m === 'carol')); i++)
        await new Promise((r) => setTimeout(r, 50));
      expect(emuTeam(h.emu, 'platform')?.members).toEqual(['bob']);
      const entries = await repaired();
      expect(entries.map((e) => [e.op, e.subject, e.reason])).toEqual([['removeMember', 'carol', 'drift']]);
    } finally {
      await worker.close();
    }
  });
});
