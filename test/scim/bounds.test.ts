import { MAX_FILTER_LENGTH, MAX_FILTER_TERMS } from '../../src/scim/filter';
import { startScimServer, type TestScimServer } from './server';

/**
 * What one SCIM read may cost the database (docs/scim.md, "Bounds"): a filter holds at most
 * MAX_FILTER_TERMS comparisons, and a list of groups renders at most 10,000 members in all.
 */

const SEARCH_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const MAX_LISTED_MEMBERS = 10_000;

describe('SCIM bounds', () => {
  let scim: TestScimServer;

  beforeAll(async () => {
    scim = await startScimServer();
  });
  afterAll(async () => {
    await scim.close();
  });

  const orOf = (terms: number, term: (i: number) => string) => Array.from({ length: terms }, (_, i) => term(i)).join(' or ');
  const listUsers = (filter: string) => scim.request('GET', `/Users?filter=${encodeURIComponent(filter)}`);

  it('refuses a filter of more comparisons than the cap with 400 invalidFilter naming the limit', async () => {
    // As many `co` terms as 4 KB holds: a scan each.
    const big = orOf(400, (i) => `id co ${i}`);
    const filter = big.slice(0, big.lastIndexOf(' or ', MAX_FILTER_LENGTH));
    expect(filter.length).toBeLessThanOrEqual(MAX_FILTER_LENGTH);
    expect(filter.split(' or ').length).toBeGreaterThan(300);
    for (const res of [await listUsers(filter), await scim.request('POST', '/Users/.search', { schemas: [SEARCH_URN], filter })]) {
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({ status: '400', scimType: 'invalidFilter', detail: expect.stringContaining(`at most ${MAX_FILTER_TERMS}`) });
    }
    // Terms inside value filters count alike.
    const nested = `emails[${orOf(MAX_FILTER_TERMS + 1, (i) => `value eq "${i}"`)}]`;
    expect((await listUsers(nested)).body).toMatchObject({ scimType: 'invalidFilter', detail: expect.stringContaining(`at most ${MAX_FILTER_TERMS}`) });
  });

  it('accepts a filter of exactly the cap', async () => {
    const res = await listUsers(orOf(MAX_FILTER_TERMS, (i) => `userName eq "u${i}"`));
    expect(res.status).toBe(200);
  });

  it('holds a PATCH path filter to the same cap (400 invalidPath)', async () => {
    const user = await scim.request('POST', '/Users', { userName: 'patched@example.org', emails: [{ value: 'a@example.org', type: 'work' }] });
    const path = `emails[${orOf(MAX_FILTER_TERMS + 1, (i) => `value eq "${i}"`)}].type`;
    const res = await scim.request('PATCH', `/Users/${user.body.id}`, { schemas: [PATCH_URN], Operations: [{ op: 'replace', path, value: 'home' }] });
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ scimType: 'invalidPath', detail: expect.stringContaining(`at most ${MAX_FILTER_TERMS}`) });
  });

  describe('group members in lists', () => {
    let big: string;
    let small: string;

    beforeAll(async () => {
      // 10,000 members in two groups: at the budget. Seeded in SQL; the SCIM writes are not what is tested.
      await scim.db.raw(`INSERT INTO users (user_name, resource) SELECT 'member.' || i || '@example.org', '{}'::jsonb FROM generate_series(1, ?) AS i`, [
        MAX_LISTED_MEMBERS + 1,
      ]);
      big = (await scim.request('POST', '/Groups', { displayName: 'big' })).body.id;
      small = (await scim.request('POST', '/Groups', { displayName: 'small' })).body.id;
      await scim.db.raw(
        `INSERT INTO group_members (group_id, user_id)
         SELECT CASE WHEN n <= 10 THEN ?::uuid ELSE ?::uuid END, id
           FROM (SELECT id, row_number() OVER (ORDER BY user_name) AS n FROM users WHERE user_name LIKE 'member.%') AS numbered
          WHERE n <= ?`,
        [small, big, MAX_LISTED_MEMBERS],
      );
    }, 120_000);

    const page = async (query: string) => {
      const res = await scim.request('GET', `/Groups?${query}`);
      expect(res.status).toBe(200);
      return {
        totalResults: res.body.totalResults,
        itemsPerPage: res.body.itemsPerPage,
        groups: res.body.Resources.map((g: { displayName: string; members?: unknown[] }) => [g.displayName, g.members?.length]),
      };
    };
    /** Adds the one seeded user who is in no group yet. */
    const addSpareMember = async (groupId: string) => {
      await scim.db.raw(
        `INSERT INTO group_members (group_id, user_id)
         SELECT ?::uuid, u.id FROM users u WHERE u.user_name LIKE 'member.%' AND NOT EXISTS (SELECT 1 FROM group_members gm WHERE gm.user_id = u.id)`,
        [groupId],
      );
    };

    it('lists groups with their members up to 10,000 members in all', async () => {
      expect(await page('count=10')).toEqual({
        totalResults: 2,
        itemsPerPage: 2,
        groups: [
          ['big', MAX_LISTED_MEMBERS - 10],
          ['small', 10],
        ],
      });
    });

    // RFC 7644 §3.4.2.4 (count): the service provider "MAY return fewer results" than asked for.
    it('ends a page early rather than render more members; the next page starts at startIndex + itemsPerPage', async () => {
      await addSpareMember(small);
      expect(await page('count=10')).toEqual({ totalResults: 2, itemsPerPage: 1, groups: [['big', MAX_LISTED_MEMBERS - 10]] });
      expect(await page('count=10&startIndex=2')).toEqual({ totalResults: 2, itemsPerPage: 1, groups: [['small', 11]] });
      const search = await scim.request('POST', '/Groups/.search', { schemas: [SEARCH_URN], filter: 'displayName pr' });
      expect(search.body.itemsPerPage).toBe(1);
    });

    it('refuses, with 400 tooMany naming the limit, a list whose first group alone has more members', async () => {
      await scim.db.raw(`INSERT INTO group_members (group_id, user_id) SELECT ?::uuid, user_id FROM group_members WHERE group_id = ?`, [big, small]);
      const res = await scim.request('GET', '/Groups');
      expect(res.status).toBe(400);
      expect(res.body).toMatchObject({
        status: '400',
        scimType: 'tooMany',
        detail: expect.stringMatching(new RegExp(`${MAX_LISTED_MEMBERS}.*excludedAttributes=members`)),
      });
      // What Okta and Entra send, one group by id, and a list that leaves the big group out, are answered.
      expect(await page('excludedAttributes=members')).toEqual({
        totalResults: 2,
        itemsPerPage: 2,
        groups: [
          ['big', undefined],
          ['small', undefined],
        ],
      });
      expect((await page('attributes=displayName')).itemsPerPage).toBe(2);
      expect((await page(`filter=${encodeURIComponent('displayName eq "small"')}`)).groups).toEqual([['small', 11]]);
      expect((await scim.request('GET', `/Groups/${big}`)).body.members).toHaveLength(MAX_LISTED_MEMBERS + 1);
    });
  });
});
