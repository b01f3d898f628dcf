import { startWorld, type World } from '../web/world';

/** The console's audit page: filters by person, team, op and time, and pages with the API's cursor. */

let w: World;
let ada: string;
let alice: string;

beforeAll(async () => {
  w = await startWorld();
  [ada, alice] = await Promise.all(['ada@example.com', 'alice@example.com'].map((u) => w.h.signInAs(u)));
}, 60_000);
afterAll(async () => {
  await w.close();
});

async function get(path: string, cookie: string): Promise<{ status: number; text: string }> {
  const res = await fetch(`${w.h.url}${path}`, { headers: { cookie }, redirect: 'manual' });
  return { status: res.status, text: await res.text() };
}

const decode = (href: string) => href.replaceAll('&amp;', '&');

it('filters by person', async () => {
  const page = await get('/console/admin/audit?person=alice%40example.com', ada);
  expect(page.status).toBe(200);
  expect(page.text).toContain('name="person" value="alice@example.com"');
  expect(page.text).toMatch(/<td>addMember<\/td>/);
  expect(page.text).not.toMatch(/<td>createTeam<\/td>/);
});

it('pages with the cursor, keeping the filter, until no older entries are left', async () => {
  const ids: string[] = [];
  let path: string | undefined = '/console/admin/audit?team=platform&limit=1';
  for (let pages = 0; path && pages < 50; pages++) {
    const page = await get(path, ada);
    expect(page.status).toBe(200);
    ids.push(...[...page.text.matchAll(/<tr><td>(\d+)<\/td>/g)].map((m) => m[1]));
    const next = /id="audit-next" href="([^"]+)"/.exec(page.text)?.[1];
    if (next) {
      const url = new URL(decode(next), w.h.url);
      expect([url.pathname, url.searchParams.get('team'), url.searchParams.get('limit'), url.searchParams.get('cursor')]).toEqual([
        '/console/admin/audit',
        'platform',
        '1',
        expect.stringMatching(/^\d+$/),
      ]);
    }
    path = next && decode(next);
  }
  expect(ids.length).toBeGreaterThan(2);
  expect(new Set(ids).size).toBe(ids.length);
});

it('refuses a cursor that is not one, and is for admins only', async () => {
  expect((await get('/console/admin/audit?cursor=abc', ada)).status).toBe(400);
  expect((await get('/console/admin/audit', alice)).status).toBe(403);
});
