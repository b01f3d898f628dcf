import { ADMIN_GROUP, type Harness, provisionUser, startHarness } from '../auth/harness';

/** The web router carries the admin JSON API at /api/v1, behind ADMIN_API_TOKEN, apart from console sessions. */

const ADMIN_API_TOKEN = 'admin-api-token-for-tests-0123456789';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({ env: { ADMIN_API_TOKEN } });
});
afterAll(async () => {
  await h.close();
});

it('answers /api/v1/status to the admin bearer token, as JSON, without a session cookie', async () => {
  const res = await fetch(`${h.url}/api/v1/status`, { headers: { authorization: `Bearer ${ADMIN_API_TOKEN}` } });
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toMatch(/^application\/json/);
  expect(res.headers.get('set-cookie')).toBeNull();
  expect(await res.json()).toMatchObject({ teams: expect.any(Array), degradedTeams: expect.any(Array) });
});

it('refuses /api/v1 without the bearer token, and a console session cookie does not count', async () => {
  expect((await fetch(`${h.url}/api/v1/status`)).status).toBe(401);
  await provisionUser(h.tdb, 'ada@example.com', { groups: [ADMIN_GROUP] });
  const cookie = await h.signInAs('ada@example.com');
  expect((await fetch(`${h.url}/console/admin/status`, { headers: { cookie } })).status).toBe(200);
  expect((await fetch(`${h.url}/api/v1/status`, { headers: { cookie } })).status).toBe(401);
});
