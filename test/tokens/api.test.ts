import type { TestDatabase } from '../helpers/db';
import { startTokensApi, type TokensApi } from './api-server';

/** The `/api/v1/tokens` routes over HTTP: status codes, bodies, and that no value leaks. */

let api: TokensApi;
let tdb: TestDatabase;
let base: string;
let alice: string;

beforeAll(async () => {
  api = await startTokensApi();
  ({ tdb, base, alice } = api);
});

afterAll(async () => {
  await api?.close();
});

const post = (body: string) => fetch(base, { method: 'POST', headers: { 'content-type': 'application/json' }, body });

it('issues a scoped token: 201 with the value once, no-store; later reads never show it', async () => {
  const res = await post(
    JSON.stringify({ team: 'platform', owner: 'alice@example.com', description: 'ci', scope: [{ project: 'infra', stack: 'dev', permission: 'read' }] }),
  );
  expect(res.status).toBe(201);
  expect(res.headers.get('cache-control')).toBe('no-store');
  const issued = (await res.json()) as { id: string; tokenValue: string; pulumiTeam: string };
  expect(issued).toEqual({ id: expect.any(String), tokenValue: expect.any(String), pulumiTeam: expect.stringMatching(/^pis-tok-/) });

  const list = await fetch(`${base}?owner=alice@example.com`);
  const listText = await list.text();
  expect(list.status).toBe(200);
  expect(listText).not.toContain(issued.tokenValue);
  expect(JSON.parse(listText).tokens).toEqual([
    expect.objectContaining({
      id: issued.id,
      team: 'platform',
      pulumiTeam: issued.pulumiTeam,
      grants: [{ project: 'infra', stack: 'dev', permission: 'read' }],
    }),
  ]);

  const del = await fetch(`${base}/${issued.id}`, { method: 'DELETE' });
  expect(del.status).toBe(200);
  expect(await del.json()).toMatchObject({ id: issued.id, state: 'revoked' });
  const listed = async (url: string) => ((await (await fetch(url)).json()) as { tokens: unknown[] }).tokens;
  expect(await listed(base)).toEqual([]);
  expect(await listed(`${base}?state=active`)).toEqual([]);
  expect(await listed(`${base}?state=revoked`)).toEqual([expect.objectContaining({ id: issued.id, state: 'revoked' })]);
  expect(await listed(`${base}?state=all`)).toHaveLength(1);
});

it('takes the owner by SCIM userName or by id, and lists the same tokens either way', async () => {
  const res = await post(JSON.stringify({ team: 'platform', owner: alice, description: 'by id' }));
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  const ids = async (query: string) => ((await (await fetch(`${base}?${query}`)).json()) as { tokens: Array<{ id: string; ownerUserId: string }> }).tokens;
  expect(await ids(`owner=${alice}`)).toEqual([expect.objectContaining({ id, ownerUserId: alice })]);
  expect(await ids('owner=alice%40example.com')).toEqual([expect.objectContaining({ id, ownerUserId: alice })]);
  await fetch(`${base}/${id}`, { method: 'DELETE' });
  // The Pulumi login is not a SCIM name: the answer says what owner takes.
  const byLogin = await post(JSON.stringify({ team: 'platform', owner: 'alice', description: 'by login' }));
  expect(byLogin.status).toBe(404);
  expect(((await byLogin.json()) as { message: string }).message).toContain("owner is the person's SCIM id or SCIM userName, not their Pulumi login");
});

it('answers an unknown state with 400 naming the allowed values', async () => {
  const res = await fetch(`${base}?state=live`);
  expect(res.status).toBe(400);
  expect(await res.json()).toEqual({
    error: 'invalid_request',
    message: 'invalid request: state: must be one of active, revoked, all',
    details: ['state: must be one of active, revoked, all'],
  });
});

it.each([
  ['malformed JSON', '{"team":', 400, 'invalid_request'],
  ['a field of the wrong type', JSON.stringify({ team: 7, owner: 'alice@example.com' }), 400, 'invalid_request'],
  ['an unknown team', JSON.stringify({ team: 'nope', owner: 'alice@example.com' }), 404, 'unknown_team'],
  ['an unknown owner', JSON.stringify({ team: 'platform', owner: 'zed@example.com' }), 404, 'unknown_owner'],
  ['a scope with no overlap', JSON.stringify({ team: 'platform', owner: 'alice@example.com', scope: [{ project: 'x', stack: 'y' }] }), 400, 'empty_scope'],
])('answers %s with a clear error', async (_name, body, status, error) => {
  const res = await post(body);
  expect(res.status).toBe(status);
  const json = await res.json();
  expect(json).toMatchObject({ error, message: expect.any(String) });
  expect(JSON.stringify(json)).not.toMatch(/at .*\.ts:\d+/);
});

it.each([
  [
    'an environment entry with an unknown permission',
    { environment: { project: 'infra', environment: 'prod', permission: 'delete' } },
    'scope.0.environment.permission',
  ],
  ['an environment entry without its environment', { environment: { project: 'infra' } }, 'scope.0.environment.environment'],
  ['a stack entry with an environment-only permission', { project: 'infra', stack: 'dev', permission: 'open' }, 'scope.0.permission'],
])('answers %s with 400 naming the field', async (_name, entry, field) => {
  const res = await post(JSON.stringify({ team: 'platform', owner: 'alice@example.com', scope: [entry] }));
  expect(res.status).toBe(400);
  const json = (await res.json()) as { error: string; details: string[] };
  expect(json.error).toBe('invalid_request');
  expect(json.details).toEqual([expect.stringMatching(new RegExp(`^${field.replaceAll('.', '\\.')}: `))]);
});

it('answers 404 for an unknown token id and 400 for a bad list query', async () => {
  expect((await fetch(`${base}/00000000-0000-4000-8000-000000000000`, { method: 'DELETE' })).status).toBe(404);
  expect((await fetch(`${base}/nope`)).status).toBe(404);
  expect((await fetch(`${base}?state=weird`)).status).toBe(400);
});

it('lists by the person, not the userName: after a rename the userName’s next holder sees none of the previous holder’s tokens', async () => {
  const res = await post(JSON.stringify({ team: 'platform', owner: alice, description: 'before the rename' }));
  expect(res.status).toBe(201);
  const { id } = (await res.json()) as { id: string };
  const ids = async (owner: string) =>
    ((await (await fetch(`${base}?owner=${encodeURIComponent(owner)}`)).json()) as { tokens: Array<{ id: string }> }).tokens.map((t) => t.id);
  expect(await ids('ALICE@example.com')).toEqual([id]);

  await tdb.db('users').where({ id: alice }).update({ user_name: 'alice.roe@example.com' });
  const [{ id: newHolder }] = await tdb.db('users').insert({ user_name: 'alice@example.com' }).returning('id');
  expect(await ids('alice@example.com')).toEqual([]);
  expect(await ids(newHolder)).toEqual([]);
  expect(await ids(alice)).toEqual([id]);
  expect(await ids('alice.roe@example.com')).toEqual([id]);
  expect(await ids('nobody@example.com')).toEqual([]);

  // A person SCIM has deleted is still listed by id: their tokens stay in the ledger.
  await tdb.db('users').where({ id: alice }).delete();
  expect(await ids(alice)).toEqual([id]);
});
