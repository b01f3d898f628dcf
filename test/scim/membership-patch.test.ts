import { membershipPatch } from '../../src/scim/patch';
import { startScimServer, withFailingCommit, type TestScimServer } from './server';

/**
 * Membership-only group PATCHes take a one-round-trip path (the `patch_group_members`
 * function); everything else takes the general write path. The two must be indistinguishable
 * to a client and to the outbox's consumers, so each case below runs the same requests through
 * both — the general path forced with `If-Match: *`, which matches any version — and compares.
 */

const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const A = '2819c223-7f76-453a-919d-413861904646';
const B = '902c246b-6245-4190-8e05-00816be7344a';

const patchOf = (...operations: unknown[]) => ({ schemas: [PATCH_URN], Operations: operations });

describe('membershipPatch (which requests take the one-round-trip path)', () => {
  it.each<[string, unknown, ReturnType<typeof membershipPatch>]>([
    ['Okta add', patchOf({ op: 'add', path: 'members', value: [{ value: A, display: 'a' }] }), { op: 'add', ids: [A] }],
    ['Entra Add, capitalised, with a Microsoft extra', patchOf({ op: 'Add', path: 'members', value: [{ $ref: null, value: A }] }), { op: 'add', ids: [A] }],
    [
      'add of two, duplicates and case folded',
      patchOf({ op: 'add', path: 'members', value: [{ value: A }, { value: B.toUpperCase() }, { value: A }] }),
      { op: 'add', ids: [A, B] },
    ],
    [
      'two add operations',
      patchOf({ op: 'add', path: 'members', value: [{ value: A }] }, { op: 'add', path: 'members', value: [{ value: B }] }),
      { op: 'add', ids: [A, B] },
    ],
    ['URN-qualified path', patchOf({ op: 'add', path: `${GROUP_URN}:members`, value: [{ value: A }] }), { op: 'add', ids: [A] }],
    ['Okta remove by filter', patchOf({ op: 'remove', path: `members[value eq "${A}"]` }), { op: 'remove', ids: [A] }],
    ['Entra Remove with a value array', patchOf({ op: 'Remove', path: 'members', value: [{ value: A }, { value: B }] }), { op: 'remove', ids: [A, B] }],
    [
      'filter remove and array remove together',
      patchOf({ op: 'remove', path: `members[value eq "${A}"]` }, { op: 'remove', path: 'members', value: [{ value: B }] }),
      { op: 'remove', ids: [A, B] },
    ],
    [
      'add mixed with remove (order matters)',
      patchOf({ op: 'add', path: 'members', value: [{ value: A }] }, { op: 'remove', path: `members[value eq "${A}"]` }),
      undefined,
    ],
    ['remove of every member (no value)', patchOf({ op: 'remove', path: 'members' }), undefined],
    ['replace of the member list', patchOf({ op: 'replace', path: 'members', value: [{ value: A }] }), undefined],
    ['a rename', patchOf({ op: 'replace', path: 'displayName', value: 'x' }), undefined],
    [
      'a rename beside a member add',
      patchOf({ op: 'replace', path: 'displayName', value: 'x' }, { op: 'add', path: 'members', value: [{ value: A }] }),
      undefined,
    ],
    ['path-less add of members', patchOf({ op: 'add', value: { members: [{ value: A }] } }), undefined],
    ['a filter other than value eq', patchOf({ op: 'remove', path: 'members[display eq "a"]' }), undefined],
    ['value eq a non-id', patchOf({ op: 'remove', path: 'members[value eq "nope"]' }), undefined],
    ['a member sub-attribute', patchOf({ op: 'replace', path: 'members.display', value: 'x' }), undefined],
    ['an add with no members', patchOf({ op: 'add', path: 'members', value: [] }), undefined],
    ['a member value that is not an id', patchOf({ op: 'add', path: 'members', value: [{ value: 'bob' }] }), undefined],
    ['no Operations', { schemas: [PATCH_URN] }, undefined],
    ['not an object', 'add', undefined],
  ])('%s', (_name, body, expected) => {
    expect(membershipPatch(body)).toEqual(expected);
  });
});

describe('one-round-trip membership PATCH against the general path', () => {
  let scim: TestScimServer;
  let seq = 0;
  beforeAll(async () => {
    scim = await startScimServer();
  });
  afterAll(async () => {
    await scim.close();
  });

  const newUser = async () => (await scim.request('POST', '/Users', { userName: `member${++seq}@example.com` })).body.id as string;
  const newGroup = async () => (await scim.request('POST', '/Groups', { displayName: `group ${++seq}` })).body.id as string;
  const membersOf = async (groupId: string) =>
    ((await scim.request('GET', `/Groups/${groupId}`)).body.members ?? []).map((m: { value: string }) => m.value).sort();
  const eventsOf = async (groupId: string) =>
    (await scim.outbox()).filter((r) => r.payload.groupId === groupId).map(({ kind, payload }) => ({ kind, ...payload, groupId: undefined }));

  /** Runs the same PATCHes on two fresh groups, one per path, and returns what each produced. */
  async function bothPaths(users: string[], steps: (u: string[]) => unknown[]) {
    const outcome = async (headers: Record<string, string>) => {
      const groupId = await newGroup();
      const responses = [];
      for (const body of steps(users)) {
        const res = await scim.request('PATCH', `/Groups/${groupId}`, body, headers);
        responses.push({ status: res.status, etag: res.headers.get('etag'), body: res.body });
      }
      return {
        responses,
        members: await membersOf(groupId),
        events: await eventsOf(groupId),
        version: (await scim.request('GET', `/Groups/${groupId}`)).body.meta.version,
      };
    };
    return { fast: await outcome({}), general: await outcome({ 'if-match': '*' }) };
  }

  it('answers, stores, versions and records adds and removes exactly as the general path does', async () => {
    const users = [await newUser(), await newUser(), await newUser()];
    const { fast, general } = await bothPaths(users, ([a, b, c]) => [
      patchOf({ op: 'add', path: 'members', value: [{ value: a }, { value: b }] }),
      patchOf({ op: 'add', path: 'members', value: [{ value: b }, { value: c }] }),
      patchOf({ op: 'remove', path: `members[value eq "${a}"]` }),
      patchOf({ op: 'Remove', path: 'members', value: [{ value: b }, { value: a }] }),
    ]);
    expect(fast).toEqual(general);
    expect(fast.members).toEqual([users[2]]);
    expect(fast.version).toBe('W/"5"');
    expect(fast.responses.map((r) => [r.status, r.etag])).toEqual([
      [204, 'W/"2"'],
      [204, 'W/"3"'],
      [204, 'W/"4"'],
      [204, 'W/"5"'],
    ]);
    expect(fast.events.slice(1)).toEqual([
      { kind: 'group.members_changed', added: [users[0], users[1]], removed: [] },
      { kind: 'group.members_changed', added: [users[2]], removed: [] },
      { kind: 'group.members_changed', added: [], removed: [users[0]] },
      { kind: 'group.members_changed', added: [], removed: [users[1]] },
    ]);
  });

  it('bumps no version and writes no outbox row for a PATCH that changes nothing', async () => {
    const [a] = [await newUser()];
    const { fast, general } = await bothPaths([a!], ([u]) => [
      patchOf({ op: 'add', path: 'members', value: [{ value: u }] }),
      patchOf({ op: 'add', path: 'members', value: [{ value: u }] }),
      patchOf({ op: 'remove', path: `members[value eq "${B}"]` }),
    ]);
    expect(fast).toEqual(general);
    expect(fast.version).toBe('W/"2"');
    expect(fast.events.map((e) => e.kind)).toEqual(['group.created', 'group.members_changed']);
  });

  it('rejects an add naming a non-user with invalidValue and writes nothing of it', async () => {
    const a = await newUser();
    const { fast, general } = await bothPaths([a], ([u]) => [patchOf({ op: 'add', path: 'members', value: [{ value: u }, { value: B }] })]);
    expect(fast).toEqual(general);
    expect(fast.responses[0]).toMatchObject({ status: 400, body: { status: '400', scimType: 'invalidValue' } });
    expect(fast.responses[0]!.body.detail).toContain(B);
    expect(fast.members).toEqual([]);
    expect(fast.version).toBe('W/"1"');
    expect(fast.events.map((e) => e.kind)).toEqual(['group.created']);
  });

  it('answers 404 for a group that does not exist', async () => {
    const res = await scim.request('PATCH', `/Groups/${A}`, patchOf({ op: 'add', path: 'members', value: [{ value: B }] }));
    expect(res.status).toBe(404);
    expect(res.body).toMatchObject({ status: '404' });
  });

  it('tags the outbox row with the request id', async () => {
    const [u, groupId] = [await newUser(), await newGroup()];
    await scim.request('PATCH', `/Groups/${groupId}`, patchOf({ op: 'add', path: 'members', value: [{ value: u }] }), { 'x-request-id': 'req-member-add-1' });
    const row = (await scim.outbox()).filter((r) => r.payload.groupId === groupId).pop()!;
    expect(row).toMatchObject({ kind: 'group.members_changed', request_id: 'req-member-add-1' });
  });

  it('commits neither the membership nor the outbox row when the commit fails', async () => {
    const [u, groupId] = [await newUser(), await newGroup()];
    await withFailingCommit(scim.db, groupId, 'group.members_changed', async () => {
      const res = await scim.request('PATCH', `/Groups/${groupId}`, patchOf({ op: 'add', path: 'members', value: [{ value: u }] }));
      expect(res.status).toBe(500);
      expect(await membersOf(groupId)).toEqual([]);
      expect((await eventsOf(groupId)).map((e) => e.kind)).toEqual(['group.created']);
      expect((await scim.request('GET', `/Groups/${groupId}`)).body.meta.version).toBe('W/"1"');
    });
  });
});
