import { ADMIN_GROUP, type Harness, provisionUser, startHarness } from '../auth/harness';

/**
 * A process that has none of the console's data sources (no policy, tokens, reconciler, SCIM
 * client store or queues wired) shows each page as unavailable, never invented data.
 */

let h: Harness;
let admin: string;

beforeAll(async () => {
  h = await startHarness({ parts: () => ({ sources: {} }) });
  await provisionUser(h.tdb, 'root@example.com', { groups: [ADMIN_GROUP] });
  admin = await h.signInAs('root@example.com');
});
afterAll(async () => {
  await h.close();
});

it.each([
  '/console/',
  '/console/tokens',
  '/console/admin/status',
  '/console/admin/plan',
  '/console/admin/audit',
  '/console/admin/scim-clients',
  '/console/admin/queues',
])('%s says its data source is not wired', async (path) => {
  const res = await fetch(`${h.url}${path}`, { headers: { cookie: admin }, redirect: 'manual' });
  expect(res.status).toBe(200);
  const text = await res.text();
  expect(text).toContain('id="unavailable"');
  expect(text).toContain('not wired into the daemon yet');
});

it('refuses to issue a token rather than pretend to', async () => {
  const page = await (await fetch(`${h.url}/console/`, { headers: { cookie: admin } })).text();
  const csrf = /name="_csrf" value="([^"]+)"/.exec(page)![1]!;
  const res = await fetch(`${h.url}/console/tokens`, {
    method: 'POST',
    headers: { cookie: admin, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ _csrf: csrf, team: 'platform' }).toString(),
  });
  expect(res.status).toBe(503);
  expect(await res.text()).not.toContain('id="token-value"');
});
