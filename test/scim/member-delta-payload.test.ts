import { randomUUID } from 'node:crypto';
import * as commands from '../../src/scim/commands';
import { membersChangedEvent } from '../../src/scim/commands/member-delta';
import { ScimError } from '../../src/scim/errors';
import { membershipPatch } from '../../src/scim/patch';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * A member delta has one definition, `membersChangedEvent`, and two implementations: the
 * general write path (TypeScript, commands.patchGroup) and the one-round-trip path (PL/pgSQL,
 * commands.patchGroupMembers). Every case runs through both against real Postgres, on a fresh
 * group each, and both must write exactly the outbox payload `membersChangedEvent` builds for
 * the expected delta, and leave the same version and members — so the SQL is pinned to the TS.
 */

const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const REQUEST_ID = 'member-delta-case';

/** Users by name; `ghost` is an id no user has. */
type Name = 'a' | 'b' | 'c' | 'ghost';
type Operation = { op: string; path: string; value?: Name[] };

interface Case {
  name: string;
  /** The group's members before the PATCH. */
  members: Name[];
  operations: Operation[];
  /** The delta the PATCH makes, or the unknown ids it is refused for. */
  expected: { added: Name[]; removed: Name[] } | { unknown: Name[] };
}

const add = (...value: Name[]): Operation => ({ op: 'add', path: 'members', value });
const remove = (...value: Name[]): Operation => ({ op: 'remove', path: 'members', value });
const removeOne = (name: Name): Operation => ({ op: 'remove', path: `members[value eq "${name}"]` });

const CASES: Case[] = [
  { name: 'adds new members', members: ['a'], operations: [add('b', 'c')], expected: { added: ['b', 'c'], removed: [] } },
  { name: 'adds members in the order listed', members: [], operations: [add('c', 'a', 'b')], expected: { added: ['c', 'a', 'b'], removed: [] } },
  { name: 'adds members already in the group: no change', members: ['a', 'b'], operations: [add('b', 'a')], expected: { added: [], removed: [] } },
  { name: 'adds a duplicated id once', members: [], operations: [add('b', 'b', 'c')], expected: { added: ['b', 'c'], removed: [] } },
  { name: 'adds an id twice across operations once', members: [], operations: [add('b'), add('b', 'c')], expected: { added: ['b', 'c'], removed: [] } },
  { name: 'adds an unknown member beside known ones: refused', members: ['a'], operations: [add('b', 'ghost')], expected: { unknown: ['ghost'] } },
  { name: 'removes members', members: ['a', 'b', 'c'], operations: [remove('a', 'c')], expected: { added: [], removed: ['a', 'c'] } },
  { name: 'removes members in the order listed', members: ['a', 'b', 'c'], operations: [remove('c', 'a')], expected: { added: [], removed: ['c', 'a'] } },
  { name: 'removes by value filter', members: ['a', 'b'], operations: [removeOne('b'), removeOne('a')], expected: { added: [], removed: ['b', 'a'] } },
  { name: 'removes a duplicated id once', members: ['a', 'b'], operations: [remove('a', 'a'), removeOne('a')], expected: { added: [], removed: ['a'] } },
  { name: 'removes non-members: no change', members: ['a'], operations: [remove('b', 'ghost')], expected: { added: [], removed: [] } },
  { name: 'mixed: adds members and non-members', members: ['a'], operations: [add('a', 'b'), add('c')], expected: { added: ['b', 'c'], removed: [] } },
  {
    name: 'mixed: removes members and non-members',
    members: ['a', 'c'],
    operations: [remove('b', 'c', 'ghost'), removeOne('a')],
    expected: { added: [], removed: ['c', 'a'] },
  },
];

let database: TestDatabase;
let ids: Record<Name, string>;
let seq = 0;

beforeAll(async () => {
  database = await createTestDatabase();
  const user = async (name: string) => (await commands.createUser(database.db, { userName: `${name}@delta.example.com` }, 'setup')).id;
  ids = { a: await user('a'), b: await user('b'), c: await user('c'), ghost: randomUUID() };
});
afterAll(async () => {
  await database.drop();
});

const patchBody = (operations: Operation[]) => ({
  schemas: [PATCH_URN],
  Operations: operations.map(({ op, path, value }) => ({
    op,
    path: path.replace(/"(a|b|c|ghost)"/, (_m, name: Name) => `"${ids[name]}"`),
    ...(value ? { value: value.map((name) => ({ value: ids[name] })) } : {}),
  })),
});

/** One PATCH on a fresh group through one path, and everything it left behind. */
async function run(path: 'general' | 'fast', c: Case) {
  const { db } = database;
  const group = await commands.createGroup(
    db,
    { schemas: [GROUP_URN], displayName: `delta ${++seq}`, members: c.members.map((n) => ({ value: ids[n] })) },
    'setup',
  );
  const { last } = (await db('outbox').max('id as last').first()) as { last: string };
  const body = patchBody(c.operations);
  let returnedVersion: string | undefined;
  let error: ScimError | undefined;
  try {
    if (path === 'general') {
      returnedVersion = (await commands.patchGroup(db, group.id, body, { requestId: REQUEST_ID })).version;
    } else {
      const membership = membershipPatch(body);
      if (!membership) throw new Error(`the fast path does not take case '${c.name}'`);
      returnedVersion = await commands.patchGroupMembers(db, group.id, membership, REQUEST_ID);
    }
  } catch (err) {
    if (!(err instanceof ScimError)) throw err;
    error = err;
  }
  const stored = await db('groups').where({ id: group.id }).first();
  const members: string[] = await db('group_members').where({ group_id: group.id }).orderBy('user_id').pluck('user_id');
  return {
    groupId: group.id,
    versionBefore: String(group.version),
    returnedVersion,
    version: String(stored.version),
    members,
    outbox: await db('outbox').where('id', '>', last).orderBy('id').select('kind', 'payload', 'request_id'),
    error: error && { status: error.status, body: error.toBody() },
  };
}

describe.each(CASES)('member delta: $name', (c) => {
  it('writes the same payload and version through the general and the fast path', async () => {
    const general = await run('general', c);
    const fast = await run('fast', c);
    for (const outcome of [general, fast]) {
      if ('unknown' in c.expected) {
        expect(outcome.error).toMatchObject({ status: 400, body: { scimType: 'invalidValue' } });
        expect(outcome.error!.body.detail).toContain(c.expected.unknown.map((n) => ids[n]).join(', '));
        expect(outcome.outbox).toEqual([]);
        expect(outcome.version).toBe(outcome.versionBefore);
        continue;
      }
      expect(outcome.error).toBeUndefined();
      const { added, removed } = c.expected;
      const changed = added.length + removed.length > 0;
      const event = membersChangedEvent(outcome.groupId, { added: added.map((n) => ids[n]), removed: removed.map((n) => ids[n]) });
      expect(outcome.outbox).toEqual(changed ? [{ kind: event.kind, payload: event, request_id: REQUEST_ID }] : []);
      expect(Number(outcome.version)).toBe(Number(outcome.versionBefore) + (changed ? 1 : 0));
      expect(outcome.returnedVersion).toBe(outcome.version);
    }
    const relative = ({ groupId: _g, ...rest }: typeof general) => ({
      ...rest,
      outbox: rest.outbox.map((r) => ({ ...r, payload: { ...r.payload, groupId: undefined } })),
    });
    expect(relative(fast)).toEqual(relative(general));
  });
});
