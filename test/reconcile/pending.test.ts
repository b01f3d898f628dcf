import { Writable } from 'node:stream';
import type { Worker } from 'bullmq';
import { createLogger } from '../../src/log';
import { registerPendingUsersCollector, registry } from '../../src/metrics';
import { enqueueTeamReconcile } from '../../src/queue';
import { countPendingUsers, createReconcileWorker, Reconciler, readStatus } from '../../src/reconcile';
import { okta, startHarness, type Harness } from './harness';

/**
 * People who wait for a Pulumi account: the reconcile's log line, status and the metric count
 * them alike, whether or not this reconcile tried them again, and they are tried again when
 * their retry time comes, without waiting for the drift reconcile.
 */

const RETRY_MS = 1500;
let h: Harness;
let reconciler: Reconciler;
let worker: Worker | undefined;
let unregister: () => void;
const lines: Array<Record<string, unknown>> = [];

beforeAll(async () => {
  h = await startHarness();
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  reconciler = new Reconciler({ db: h.scim.db, client: h.client, policy: h.policy, logger: createLogger({ stream }), cacheTtlMs: 0, pendingRetryMs: RETRY_MS });
  unregister = registerPendingUsersCollector(() => countPendingUsers(h.scim.db));
  // alice has a Pulumi account in the emulator's org; zed and yan have none.
  const people = await Promise.all(['alice@acme.example', 'zed@example.com', 'yan@example.com'].map((email) => okta.createUser(h, email)));
  await okta.addMembers(h, await okta.createGroup(h, 'Platform Engineers'), people);
});

afterAll(async () => {
  await worker?.close();
  unregister();
  await h.close();
});

const reconciled = () => lines.filter((l) => l.message === 'team reconciled' && l.team === 'platform');
const metric = async () => (await registry.getSingleMetric('idp_sync_pending_users')?.get())?.values[0]?.value;
const pendingOf = async () => (await readStatus(h.scim.db, undefined, { pendingRetryMs: RETRY_MS })).pendingUsers.filter((p) => p.team === 'platform');

async function until(what: string, probe: () => Promise<boolean>, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await probe())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

it('counts pending people alike in the log line, status and the metric, tried now or not', async () => {
  const first = await reconciler.reconcileTeam({ team: 'platform', reason: 'test' });
  expect(first.nextPendingRetryAt).toBeInstanceOf(Date);
  let status = await readStatus(h.scim.db, undefined, { pendingRetryMs: RETRY_MS });
  const pending = status.pendingUsers.filter((p) => p.team === 'platform');
  expect(pending.map((p) => [p.login, p.reason, p.attempts])).toEqual([
    ['yan', 'no-pulumi-account', 1],
    ['zed', 'no-pulumi-account', 1],
  ]);
  for (const p of pending) expect(Date.parse(p.nextAttemptAt as string)).toBe(Date.parse(p.lastAttemptAt) + RETRY_MS);
  expect(status.pendingPeople).toBe(2);
  expect(await metric()).toBe(2);
  expect(reconciled().at(-1)).toMatchObject({ pending: 2, pendingTried: 2, nextPendingRetryAt: first.nextPendingRetryAt?.toISOString() });

  // Before their retry time: not tried again, and still counted as waiting (the log used to say 0).
  await reconciler.reconcileTeam({ team: 'platform', reason: 'test' });
  expect(reconciled().at(-1)).toMatchObject({ pending: 2, pendingTried: 0 });
  status = await readStatus(h.scim.db, undefined, { pendingRetryMs: RETRY_MS });
  expect(status.pendingUsers.filter((p) => p.team === 'platform').map((p) => p.attempts)).toEqual([1, 1]);
  expect(status.pendingPeople).toBe(2);
  expect(await metric()).toBe(2);
});

it('tries them again when their retry time comes, without another trigger, and shows each attempt', async () => {
  worker = createReconcileWorker({ queues: h.queues, reconciler, logger: h.logger, concurrency: 1 });
  await enqueueTeamReconcile(h.queues, { team: 'platform', reason: 'test' });
  // The job enqueued here tries them only if their retry time has already come (a slow machine);
  // either way the later attempts are the scheduled retries' own.
  await until('a third attempt', async () => (await pendingOf()).every((p) => p.attempts >= 3));
  await until('a scheduled retry that tried them', async () => reconciled().some((l) => l.reason === 'pending-retry' && l.pendingTried === 2));
  expect(reconciled().filter((l) => l.reason === 'pending-retry')).toContainEqual(expect.objectContaining({ pending: 2, pendingTried: 2 }));
  const [zed] = (await pendingOf()).filter((p) => p.login === 'zed');
  expect(Date.parse(zed.nextAttemptAt as string)).toBeGreaterThan(Date.parse(zed.lastAttemptAt));
  expect(await metric()).toBe(2);
});
