import { parseFilter, parsePatchPath } from '../../src/scim/filter';
import { startScimServer, type TestScimServer } from './server';

/** RFC 7644 §3.4.2.2 filters: the grammar, and their SQL translation through the HTTP API. */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';

describe('filter grammar', () => {
  it('gives and precedence over or, and keeps nested grouping', () => {
    expect(parseFilter('a eq 1 or b eq 2 and c eq 3')).toEqual({
      kind: 'or',
      left: { kind: 'compare', path: 'a', op: 'eq', value: 1 },
      right: { kind: 'and', left: { kind: 'compare', path: 'b', op: 'eq', value: 2 }, right: { kind: 'compare', path: 'c', op: 'eq', value: 3 } },
    });
    expect(parseFilter('userName eq "a" and (displayName eq "x" or (title eq "y" and nickName eq "z"))').kind).toBe('and');
  });

  it('keeps two value filters on one attribute apart', () => {
    expect(parseFilter('emails[type eq "work"] and emails[type eq "home"]')).toEqual({
      kind: 'and',
      left: { kind: 'valuePath', path: 'emails', filter: { kind: 'compare', path: 'type', op: 'eq', value: 'work' } },
      right: { kind: 'valuePath', path: 'emails', filter: { kind: 'compare', path: 'type', op: 'eq', value: 'home' } },
    });
  });

  it('reads escaped quotes, case-insensitive operators and literals', () => {
    expect(parseFilter('userName EQ "a\\"b"')).toEqual({ kind: 'compare', path: 'userName', op: 'eq', value: 'a"b' });
    expect(parseFilter('active Eq TRUE')).toEqual({ kind: 'compare', path: 'active', op: 'eq', value: true });
    expect(parseFilter('not (userName pr)')).toEqual({ kind: 'not', expr: { kind: 'present', path: 'userName' } });
  });

  it.each([
    ['', 'empty filter'],
    ['userName', 'expected an operator'],
    ['userName xx "a"', 'unknown operator'],
    ['(userName eq "a"', "expected ')'"],
    ['userName eq "a" garbage', 'unexpected'],
    ['userName eq "unterminated', 'unterminated string'],
    ['userName eq', 'expected a value'],
    ['emails[type eq "work"', "expected ']'"],
    ['not userName eq "a"', "expected '('"],
    ['"quoted" eq "a"', 'expected an attribute name'],
  ])('rejects %p with invalidFilter', (input, message) => {
    expect(() => parseFilter(input)).toThrow(expect.objectContaining({ status: 400, scimType: 'invalidFilter', message: expect.stringContaining(message) }));
  });

  it('bounds nesting depth', () => {
    expect(() => parseFilter(`${'('.repeat(100)}userName pr${')'.repeat(100)}`)).toThrow(/nested too deeply/);
  });

  it('parses PATCH paths with value filters and sub-attributes', () => {
    expect(parsePatchPath('members[value eq "x"]')).toEqual({ attr: 'members', filter: { kind: 'compare', path: 'value', op: 'eq', value: 'x' } });
    expect(parsePatchPath('emails[type eq "work"].value')).toMatchObject({ attr: 'emails', subAttr: 'value' });
    expect(parsePatchPath(`${ENTERPRISE}:manager`)).toEqual({ attr: `${ENTERPRISE}:manager` });
    expect(() => parsePatchPath('emails[type eq "work"] junk')).toThrow(expect.objectContaining({ scimType: 'invalidPath' }));
  });
});

describe('filters over HTTP', () => {
  let scim: TestScimServer;
  const ids: Record<string, string> = {};
  let groupId: string;

  beforeAll(async () => {
    scim = await startScimServer();
    const users = [
      {
        userName: 'alice@example.com',
        name: { familyName: 'Employee', givenName: 'Alice' },
        title: 'Engineer',
        emails: [
          { type: 'work', value: 'alice@example.com' },
          { type: 'home', value: 'alice@home.org' },
        ],
        [ENTERPRISE]: { employeeNumber: '100', department: 'R&D' },
      },
      {
        userName: 'bob@example.org',
        name: { familyName: 'Employee', givenName: 'Bob' },
        emails: [{ type: 'work', value: 'bob@example.org' }],
        active: false,
        [ENTERPRISE]: { employeeNumber: '200' },
      },
      {
        userName: 'Oscar',
        name: { familyName: 'Other', givenName: 'Oscar' },
        title: 'Manager "quoted"',
        emails: [{ type: 'home', value: 'oscar@example.net' }],
      },
      { userName: 'zed_100%', name: { familyName: 'Zed' } },
    ];
    for (const u of users) {
      const res = await scim.request('POST', '/Users', { schemas: [USER_URN, ENTERPRISE], ...u });
      expect(res.status).toBe(201);
      ids[u.userName] = res.body.id;
    }
    groupId = (await scim.request('POST', '/Groups', { displayName: 'Filtered', members: [{ value: ids['alice@example.com'] }] })).body.id;
  });
  afterAll(async () => {
    await scim.close();
  });

  async function names(filter: string, extra = ''): Promise<string[]> {
    const res = await scim.request('GET', `/Users?filter=${encodeURIComponent(filter)}${extra}`);
    expect(res.status).toBe(200);
    return res.body.Resources.map((r: { userName: string }) => r.userName);
  }

  it.each<[string, string[]]>([
    ['userName eq "ALICE@example.com"', ['alice@example.com']],
    ['userName ne "alice@example.com"', ['bob@example.org', 'Oscar', 'zed_100%']],
    ['userName co "EXAMPLE"', ['alice@example.com', 'bob@example.org']],
    ['userName sw "o"', ['Oscar']],
    ['userName ew ".ORG"', ['bob@example.org']],
    ['userName co "100%"', ['zed_100%']],
    ['userName co "_"', ['zed_100%']],
    ['userName gt "bob@example.org"', ['Oscar', 'zed_100%']],
    ['userName ge "bob@example.org"', ['bob@example.org', 'Oscar', 'zed_100%']],
    ['userName lt "bob"', ['alice@example.com']],
    ['userName le "alice@example.com"', ['alice@example.com']],
    ['title pr', ['alice@example.com', 'Oscar']],
    ['not (title pr)', ['bob@example.org', 'zed_100%']],
    ['title eq "Manager \\"quoted\\""', ['Oscar']],
    ['active eq false', ['bob@example.org']],
    ['active eq "True"', ['alice@example.com', 'Oscar', 'zed_100%']],
    ['name.FamilyName eq "Employee" and (emails.Value co "example.com" or emails.Value co "example.org")', ['alice@example.com', 'bob@example.org']],
    ['name.familyName eq Employee and (emails.value co example.com or emails.value co example.org)', ['alice@example.com', 'bob@example.org']],
    ['userName eq "a" or (name.familyName eq "Other" or (name.familyName eq "Zed" and userName sw "zed"))', ['Oscar', 'zed_100%']],
    ['emails[type eq "work" and value co "example.org"]', ['bob@example.org']],
    ['emails[type eq "work"] and emails[type eq "home"]', ['alice@example.com']],
    ['emails[type eq "home"].value ew "example.net"', ['Oscar']],
    ['emails co "home.org"', ['alice@example.com']],
    ['not (emails[type eq "work"])', ['Oscar', 'zed_100%']],
    [`${ENTERPRISE}:employeeNumber eq "200"`, ['bob@example.org']],
    [`${ENTERPRISE}:department pr`, ['alice@example.com']],
    ['urn:ietf:params:scim:schemas:core:2.0:User:userName eq "oscar"', ['Oscar']],
    ['meta.created gt "2000-01-01T00:00:00Z"', ['alice@example.com', 'bob@example.org', 'Oscar', 'zed_100%']],
    ['meta.lastModified lt "2000-01-01T00:00:00Z"', []],
    ['externalId pr', []],
    ['title eq null', ['bob@example.org', 'zed_100%']],
  ])('%s', async (filter, expected) => {
    expect((await names(filter)).sort()).toEqual([...expected].sort());
  });

  it('filters users by group and groups by member', async () => {
    expect(await names(`groups.value eq "${groupId}"`)).toEqual(['alice@example.com']);
    expect(await names('groups[display eq "filtered"]')).toEqual(['alice@example.com']);
    const groups = await scim.request('GET', `/Groups?filter=${encodeURIComponent(`members[value eq "${ids['alice@example.com']}"]`)}`);
    expect(groups.body.Resources.map((g: { id: string }) => g.id)).toEqual([groupId]);
    const none = await scim.request('GET', `/Groups?filter=${encodeURIComponent('members.value eq "not-a-uuid"')}`);
    expect(none.body.totalResults).toBe(0);
    expect(await names('id eq "not-a-uuid"')).toEqual([]);
    expect(await names(`id eq "${ids.Oscar}"`)).toEqual(['Oscar']);
  });

  it('sorts by an attribute in either order, ties broken by creation', async () => {
    expect(await names('userName pr', '&sortBy=name.givenName&sortOrder=descending')).toEqual(['Oscar', 'bob@example.org', 'alice@example.com', 'zed_100%']);
    expect(await names('userName pr', '&sortBy=userName')).toEqual(['alice@example.com', 'bob@example.org', 'Oscar', 'zed_100%']);
    const bad = await scim.request('GET', '/Users?sortBy=nope');
    expect(bad.status).toBe(400);
  });

  it('answers POST /Users/.search like GET', async () => {
    const res = await scim.request('POST', '/Users/.search', {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:SearchRequest'],
      filter: 'userName sw "a"',
      attributes: ['userName'],
      startIndex: 1,
      count: 10,
    });
    expect(res.status).toBe(200);
    expect(res.body.Resources).toEqual([{ schemas: [USER_URN, ENTERPRISE], id: ids['alice@example.com'], userName: 'alice@example.com' }]);
  });

  it.each([
    ['nope eq "x"', 'unknown attribute'],
    ['active gt true', 'boolean'],
    ['meta.created gt "yesterday"', 'dateTime'],
    ['name eq "x"', 'complex'],
    ['userName eq "a" and', 'ended'],
    ['emails[nope eq "x"]', 'no sub-attribute'],
    ['meta.version eq "1"', 'not filterable'],
  ])('rejects %p with 400 invalidFilter', async (filter, message) => {
    const res = await scim.request('GET', `/Users?filter=${encodeURIComponent(filter)}`);
    expect(res.status).toBe(400);
    expect(res.body).toMatchObject({ status: '400', scimType: 'invalidFilter' });
    expect(res.body.detail).toContain(message);
  });
});
