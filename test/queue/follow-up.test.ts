import type { Job, Worker } from 'bullmq';
import { QUEUE } from '../../src/queue';
import { createDirectoryRelay } from '../../src/runtime';
import type { OutboxRelay } from '../../src/outbox';
import { emuTeam, okta, startHarness, type Harness } from '../reconcile/harness';

/**
 * Team jobs are deduplicated per team (docs/robustness.md, "Job ids and deduplication"), and deduplication must never drop a
 * change: a change committed while its team's reconcile is already past reading state gets one
 * follow-up reconcile (keepLastIfActive), however many changes arrive meanwhile; and a finished
 * job that BullMQ still retains never absorbs the next change (the trap of deduplicating by
 * jobId). On real Postgres, Redis and the Pulumi emulator.
 */

let h: Harness;
let relay: OutboxRelay;
let worker: Worker;
const ids: Record<string, string> = {};
const completed: Job[] = [];
/** Set while a test holds the team's reconcile after its first op. */
let hold: { reached: () => void; released: Promise<void> } | undefined;

beforeAll(async () => {
  h = await startHarness();
  // No coalescing window: a job runs as soon as it is enqueued, so the follow-up is the only
  // thing that can pick up a change made while the first job runs.
  relay = createDirectoryRelay({
    db: h.scim.db,
    policy: h.policy,
    queues: h.queues,
    revokeLane: h.revokeLane,
    logger: h.logger,
    coalesceMs: 0,
    busyCoalesceMs: 0,
  });
  worker = h.startWorker({
    afterOp: async (op) => {
      const current = hold;
      if (current && 'team' in op && op.team === 'follow') {
        hold = undefined;
        current.reached();
        await current.released;
      }
    },
  });
  worker.on('completed', (job) => {
    if (job.name === 'team' && job.data.team === 'follow') completed.push(job);
  });
  for (const login of ['alice', 'bob', 'carol', 'dave']) ids[login] = await okta.createUser(h, `${login}@acme.example`);
  ids.group = await okta.createGroup(h, 'pulumi-follow');
  await okta.addMembers(h, ids.group, [ids.alice]);
  await publish();
  await h.idle([QUEUE.reconcile]);
  expect(emuTeam(h.emu, 'follow')?.members).toEqual(['alice']);
}, 60_000);

afterAll(async () => {
  await worker?.close();
  await h?.close();
});

async function publish(): Promise<void> {
  while ((await relay.drainOnce()) > 0);
}

describe('deduplicated team reconciles', () => {
  it('give changes committed while the reconcile runs one follow-up reconcile, which applies all of them', async () => {
    let release!: () => void;
    const reached = new Promise<void>((resolve) => {
      hold = { reached: resolve, released: new Promise<void>((r) => (release = r)) };
    });
    const before = completed.length;
    await okta.addMembers(h, ids.group, [ids.bob]);
    await publish();
    await reached;

    // The reconcile that adds bob has read its state and is applying it; two more changes commit.
    await okta.addMembers(h, ids.group, [ids.carol]);
    await publish();
    await okta.addMembers(h, ids.group, [ids.dave]);
    await publish();
    release();
    await h.idle([QUEUE.reconcile]);

    expect(emuTeam(h.emu, 'follow')?.members).toEqual(['alice', 'bob', 'carol', 'dave']);
    expect(completed.length - before).toBe(2);
  });

  it('never let a finished job that is still retained absorb the next change', async () => {
    const last = completed[completed.length - 1];
    expect(await h.queues.queue(QUEUE.reconcile).getJobState(last.id!)).toBe('completed');
    const before = completed.length;

    await okta.removeMember(h, ids.group, ids.dave);
    await publish();
    await h.idle([QUEUE.reconcile]);

    expect(emuTeam(h.emu, 'follow')?.members).toEqual(['alice', 'bob', 'carol']);
    expect(completed.length - before).toBe(1);
  });
});
