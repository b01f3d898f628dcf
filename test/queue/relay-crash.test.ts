import { appendOutbox } from '../../src/outbox';
import { QUEUE, type RevokeLane } from '../../src/queue';
import { createDirectoryRelay } from '../../src/runtime';
import type { OutboxRelay } from '../../src/outbox';
import { emuTeam, liveTokenIds, okta, seedTeamToken, startHarness, type Harness } from '../reconcile/harness';

/**
 * The relay's at-least-once edge (docs/robustness.md, "Outbox and relay") on real Postgres and
 * Redis: a relay that dies after `queue.add` but before its `published_at` update commits
 * leaves the rows unpublished, so they are published again. The second publish is absorbed by
 * deduplication while the first job waits, and when the first jobs already ran, the repeated
 * reconcile and revoke make no Pulumi write and no audit entry. And a row whose lower id
 * commits after a higher one was published is still published.
 */

let h: Harness;
const ids: Record<string, string> = {};

beforeAll(async () => {
  h = await startHarness();
  for (const login of ['alice', 'bob', 'carol']) ids[login] = await okta.createUser(h, `${login}@acme.example`);
  ids.group = await okta.createGroup(h, 'pulumi-dup');
  await okta.addMembers(h, ids.group, [ids.alice, ids.bob, ids.carol]);
  const worker = h.startWorker();
  try {
    await h.settle();
    // Tokens the members made by hand; the next reconcile puts them in the cache the fast lane reads.
    for (const login of ['alice', 'bob', 'carol']) seedTeamToken(h.emu, 'dup', login, `tok-${login}`);
    await h.reconcileTeam({ team: 'dup', reason: 'test setup' });
  } finally {
    await worker.close();
  }
}, 60_000);

afterAll(async () => {
  await h?.close();
});

/** Ends the backend of the transaction that holds outbox rows FOR UPDATE: the relay's, as if its process died. */
async function killRelayTransaction(): Promise<void> {
  const pids: number[] = (
    await h.scim.db.raw(
      `SELECT DISTINCT l.pid FROM pg_locks l JOIN pg_class c ON c.oid = l.relation
        WHERE c.relname = 'outbox' AND l.mode = 'RowShareLock' AND l.pid <> pg_backend_pid()`,
    )
  ).rows.map((r: { pid: number }) => r.pid);
  if (pids.length !== 1) throw new Error(`expected the relay's transaction alone to hold outbox rows, found ${pids.length}`);
  await h.scim.db.raw('SELECT pg_terminate_backend(?)', [pids[0]]);
}

/**
 * Jobs run as soon as they are enqueued: no coalescing window to wait out. The enqueue bound is
 * far above any machine's pace: on a busy machine the 5 s default would record a backoff, which
 * is the queue-down path (relay.test.ts), not the crash this file is about.
 */
function relay(revokeLane: RevokeLane): OutboxRelay {
  return createDirectoryRelay({
    db: h.scim.db,
    policy: h.policy,
    queues: h.queues,
    revokeLane,
    logger: h.logger,
    coalesceMs: 0,
    busyCoalesceMs: 0,
    enqueueTimeoutMs: 120_000,
  });
}

/**
 * One batch through a relay whose process dies right after it enqueued the batch, before
 * `published_at` commits. Rejects, as the relay's transaction does.
 */
async function drainDyingAfterEnqueue(): Promise<void> {
  const dying = relay({
    async enqueue(job) {
      await h.revokeLane.enqueue(job);
      await killRelayTransaction();
    },
  });
  await dying.drainOnce();
}

/** A healthy relay publishing what is due. */
const republisher = () => relay(h.revokeLane);

async function unpublished(): Promise<Array<{ kind: string; attempts: number }>> {
  return h.scim.db('outbox').whereNull('published_at').select('kind', 'attempts');
}

async function jobsOf(queue: (typeof QUEUE)[keyof typeof QUEUE]) {
  return h.queues.queue(queue).getJobs(['wait', 'delayed', 'prioritized', 'active']);
}

/** Runs both workers until neither queue holds work, without publishing the outbox. */
async function runQueuesDry(): Promise<number> {
  const reconciler = h.startWorker();
  const { worker: lane } = h.startRevokeLane({ sweepEveryMs: 0 });
  let teamJobsRun = 0;
  reconciler.on('completed', (job) => {
    if (job.name === 'team' && job.data.team === 'dup') teamJobsRun++;
  });
  try {
    await h.idle([QUEUE.reconcile, QUEUE.revoke]);
  } finally {
    await Promise.all([reconciler.close(), lane.close()]);
  }
  return teamJobsRun;
}

async function auditRows(): Promise<number> {
  return Number((await h.scim.db('audit_log').count({ n: '*' }).first())?.n);
}

describe('a relay killed between queue.add and the published_at update', () => {
  // knex reports each killed connection on console.log; here that is the point, not news.
  const log = console.log;
  let quiet: jest.SpyInstance;
  beforeAll(() => {
    quiet = jest.spyOn(console, 'log').mockImplementation((...args: unknown[]) => {
      if (!String(args[0]).startsWith('Connection Error')) log(...args);
    });
  });
  afterAll(() => quiet.mockRestore());

  it('leaves the rows unpublished; publishing them again while the jobs wait adds no second job', async () => {
    await okta.removeMember(h, ids.group, ids.alice);
    await expect(drainDyingAfterEnqueue()).rejects.toThrow();
    // Rolled back with the connection: no backoff recorded, the rows are simply due again.
    expect(await unpublished()).toEqual([{ kind: 'group.members_changed', attempts: 0 }]);
    const [teamJobs, revokeJobs] = [await jobsOf(QUEUE.reconcile), await jobsOf(QUEUE.revoke)];
    expect(teamJobs.map((j) => j.data)).toEqual([expect.objectContaining({ team: 'dup' })]);
    expect(revokeJobs.map((j) => j.data)).toEqual([expect.objectContaining({ userId: ids.alice })]);

    expect(await republisher().drainOnce()).toBe(1);
    expect(await unpublished()).toEqual([]);
    expect((await jobsOf(QUEUE.reconcile)).map((j) => j.id)).toEqual(teamJobs.map((j) => j.id));
    expect((await jobsOf(QUEUE.revoke)).map((j) => j.id)).toEqual(revokeJobs.map((j) => j.id));

    expect(await runQueuesDry()).toBe(1);
    expect(emuTeam(h.emu, 'dup')?.members).toEqual(['bob', 'carol']);
    expect(liveTokenIds(h.emu, 'dup')).toEqual(['tok-bob', 'tok-carol']);
  });

  it('repeats nothing once the first jobs ran: the second reconcile and revoke write nothing to Pulumi or the audit log', async () => {
    await okta.removeMember(h, ids.group, ids.bob);
    await expect(drainDyingAfterEnqueue()).rejects.toThrow();
    expect(await unpublished()).toEqual([{ kind: 'group.members_changed', attempts: 0 }]);
    expect(await runQueuesDry()).toBe(1);
    expect(emuTeam(h.emu, 'dup')?.members).toEqual(['carol']);
    expect(liveTokenIds(h.emu, 'dup')).toEqual(['tok-carol']);
    const writes = h.emu.calls.writes;
    const audited = await auditRows();

    // The row is published again; the finished jobs' deduplication is gone, so new jobs run.
    expect(await republisher().drainOnce()).toBe(1);
    expect((await jobsOf(QUEUE.revoke)).map((j) => j.data)).toEqual([expect.objectContaining({ userId: ids.bob })]);
    expect(await runQueuesDry()).toBe(1);

    expect(h.emu.calls.writes).toBe(writes);
    expect(await auditRows()).toBe(audited);
    expect(emuTeam(h.emu, 'dup')?.members).toEqual(['carol']);
    expect(liveTokenIds(h.emu, 'dup')).toEqual(['tok-carol']);
  });
});

describe('rows committed out of id order', () => {
  it('publishes a row whose lower id commits after a higher one was published', async () => {
    let release!: () => void;
    const held = new Promise<void>((resolve) => (release = resolve));
    let appended!: () => void;
    const slowAppended = new Promise<void>((resolve) => (appended = resolve));
    const slow = h.scim.db.transaction(async (trx) => {
      const [g] = await trx('groups').insert({ display_name: 'late-commit-slow' }).returning('id');
      await appendOutbox(trx, { kind: 'group.created', groupId: g.id }, 'req-late-slow');
      appended();
      await held;
    });
    await slowAppended;
    await h.scim.db.transaction(async (trx) => {
      const [g] = await trx('groups').insert({ display_name: 'late-commit-fast' }).returning('id');
      await appendOutbox(trx, { kind: 'group.created', groupId: g.id }, 'req-late-fast');
    });
    while ((await h.relay.drainOnce()) > 0);
    release();
    await slow;
    const row = (requestId: string) => h.scim.db('outbox').where('request_id', requestId).first('id', 'published_at');
    const [lower, higher] = [await row('req-late-slow'), await row('req-late-fast')];
    expect(BigInt(lower.id)).toBeLessThan(BigInt(higher.id));
    expect(higher.published_at).toBeInstanceOf(Date);
    expect(lower.published_at).toBeNull();

    while ((await h.relay.drainOnce()) > 0);
    expect((await row('req-late-slow')).published_at).toBeInstanceOf(Date);
  });
});
