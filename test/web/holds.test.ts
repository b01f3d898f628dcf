import { createLogger } from '../../src/log';
import { createQueueFactory, QUEUE, type QueueFactory } from '../../src/queue';
import { queryAudit } from '../../src/reconcile';
import { ADMIN_GROUP, type Harness, provisionUser, reasonOf, startHarness } from '../auth/harness';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';

/**
 * The console's Holds page over HTTP: an admin sees each pending hold in words and approves or
 * rejects it (CSRF-protected); the decision is audited with the signed-in person, channel
 * console, and the team's reconcile is enqueued. SCIM client changes are audited the same way.
 */

let h: Harness;
let queues: QueueFactory;
let adaId: string;
let ada: string;
let bob: string;

beforeAll(async () => {
  queues = createQueueFactory({ redisUrl: TEST_REDIS_URL, prefix: uniquePrefix(), logger: createLogger({ silent: true }) });
  h = await startHarness({
    parts: async (tdb) => {
      adaId = await provisionUser(tdb, 'ada@example.com', { groups: [ADMIN_GROUP] });
      await provisionUser(tdb, 'bob@example.com');
      return { queues };
    },
  });
  [ada, bob] = await Promise.all(['ada@example.com', 'bob@example.com'].map((u) => h.signInAs(u)));
}, 60_000);

afterAll(async () => {
  await h.close();
  await queues.queue(QUEUE.reconcile).obliterate({ force: true });
  await queues.close();
});

async function get(path: string, cookie: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${h.url}${path}`, { headers: { cookie }, redirect: 'manual' });
  return { status: res.status, text: await res.text() };
}

async function post(path: string, cookie: string, fields: Record<string, string>): Promise<{ status: number; text: string; location: string | null }> {
  const res = await fetch(`${h.url}${path}`, {
    method: 'POST',
    redirect: 'manual',
    headers: { cookie, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(fields).toString(),
  });
  return { status: res.status, text: await res.text(), location: res.headers.get('location') };
}

async function csrf(cookie: string): Promise<string> {
  const token = /name="_csrf" value="([^"]+)"/.exec((await get('/console/admin/holds', cookie)).text)?.[1];
  if (!token) throw new Error('no CSRF field on the page');
  return token;
}

/** A pending hold as a reconcile leaves it: two active people out of the team. */
async function seedHold(team: string): Promise<string> {
  const ops = ['bob', 'carol'].map((login) => ({ kind: 'removeMember', team, login }));
  const [{ id }] = await h.tdb
    .db('holds')
    .insert({ team, reason: '2 removals in one reconcile, more than safety.maxRemovals (1)', removals: 2, ops: JSON.stringify(ops) })
    .returning('id');
  return id;
}

async function queuedTeams(): Promise<string[]> {
  const jobs = await queues.queue<{ team: string }>(QUEUE.reconcile).getJobs(['wait', 'delayed', 'prioritized']);
  return jobs.map((j) => j.data.team).sort();
}

describe('the Holds page', () => {
  it('is refused to people outside the admin group', async () => {
    const res = await get('/console/admin/holds', bob);
    expect({ status: res.status, reason: reasonOf(res.text) }).toEqual({ status: 403, reason: 'not_admin' });
  });

  it('says when no hold is waiting', async () => {
    const res = await get('/console/admin/holds', ada);
    expect(res.status).toBe(200);
    expect(res.text).toContain('<p id="no-holds">No holds are waiting.</p>');
    expect(res.text).toContain('href="/console/admin/holds"');
  });

  it('lists a pending hold in words; approving records it, audits the person and enqueues the team', async () => {
    const id = await seedHold('platform');
    const page = (await get('/console/admin/holds', ada)).text;
    expect(page).toContain(
      `<tr id="hold-${id}"><td class="team">platform</td><td>2 removals in one reconcile, more than safety.maxRemovals (1)</td><td>2</td><td>0</td>`,
    );
    expect(page).toContain('<li>remove member bob</li><li>remove member carol</li>');
    expect(page).toContain(`action="/console/admin/holds/${id}/approve"`);
    expect(page).toContain(`action="/console/admin/holds/${id}/reject"`);

    expect((await post(`/console/admin/holds/${id}/approve`, ada, {})).status).toBe(403);
    expect(await h.tdb.db('holds').where({ id }).first('status')).toEqual({ status: 'pending' });

    const approved = await post(`/console/admin/holds/${id}/approve`, ada, { _csrf: await csrf(ada) });
    expect({ status: approved.status, location: approved.location }).toEqual({ status: 303, location: '/console/admin/holds' });
    expect(await h.tdb.db('holds').where({ id }).first('status', 'decided_by', 'decided_channel')).toEqual({
      status: 'approved',
      decided_by: 'ada@example.com',
      decided_channel: 'console',
    });
    expect(await queuedTeams()).toEqual(['platform']);
    const { entries } = await queryAudit(h.tdb.db, { category: 'admin', op: 'hold.approve' });
    expect(entries).toEqual([
      expect.objectContaining({
        team: 'platform',
        subject: id,
        actor: 'ada@example.com',
        channel: 'console',
        detail: expect.objectContaining({ personId: adaId }),
      }),
    ]);
    expect((await get('/console/admin/holds', ada)).text).not.toContain(`hold-${id}`);

    const again = await post(`/console/admin/holds/${id}/reject`, ada, { _csrf: await csrf(ada) });
    expect(again.status).toBe(409);
    expect(again.text).toContain(`hold ${id} is not pending`);
  });

  it('rejecting records it and audits the person', async () => {
    const id = await seedHold('web');
    const rejected = await post(`/console/admin/holds/${id}/reject`, ada, { _csrf: await csrf(ada) });
    expect(rejected.status).toBe(303);
    expect(await h.tdb.db('holds').where({ id }).first('status', 'decided_by')).toEqual({ status: 'rejected', decided_by: 'ada@example.com' });
    expect(await queuedTeams()).toEqual(['platform', 'web']);
    const { entries } = await queryAudit(h.tdb.db, { category: 'admin', op: 'hold.reject' });
    expect(entries).toEqual([expect.objectContaining({ team: 'web', subject: id, actor: 'ada@example.com', channel: 'console' })]);
    expect((await post('/console/admin/holds/00000000-0000-4000-8000-000000000000/approve', ada, { _csrf: await csrf(ada) })).status).toBe(404);
  });
});

describe('SCIM clients in the console', () => {
  it('are audited with the signed-in person, channel console', async () => {
    const token = await csrf(ada);
    expect((await post('/console/admin/scim-clients', ada, { _csrf: token, name: 'entra-prod' })).status).toBe(201);
    expect((await post('/console/admin/scim-clients/entra-prod/rotate', ada, { _csrf: token })).status).toBe(201);
    expect((await post('/console/admin/scim-clients/entra-prod/revoke', ada, { _csrf: token })).status).toBe(303);
    const { entries } = await queryAudit(h.tdb.db, { category: 'admin' });
    expect(
      entries.filter((e) => e.subject === 'entra-prod').map(({ op, actor, channel, detail }) => ({ op, actor, channel, personId: detail.personId })),
    ).toEqual([
      { op: 'scim-client.revoke', actor: 'ada@example.com', channel: 'console', personId: adaId },
      { op: 'scim-client.rotate', actor: 'ada@example.com', channel: 'console', personId: adaId },
      { op: 'scim-client.create', actor: 'ada@example.com', channel: 'console', personId: adaId },
    ]);
  });
});
