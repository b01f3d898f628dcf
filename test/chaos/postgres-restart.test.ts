import { pushDirectory, seedFor, teamName } from '../helpers/stack/directory';
import { startPrivatePostgres, type PrivatePostgres } from '../helpers/stack/processes';
import { loginOf, oktaUser } from '../helpers/stack/scim-client';
import { benchPolicy, startStack, type Stack } from '../helpers/stack/stack';
import { acknowledged, desiredWithout, expectConverged, SMALL } from './harness';

/**
 * Postgres restarted mid-run (a private embedded cluster on its own port, never the shared
 * server): while it is down SCIM answers 503 with a SCIM error body — never 500 — so Okta and
 * Entra retry; afterwards writes succeed again and the emulator converges with nothing lost.
 */

const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
let pg: PrivatePostgres;
let stack: Stack;

beforeAll(async () => {
  pg = await startPrivatePostgres();
  const seed = seedFor(SMALL);
  seed.members.push(loginOf(2000));
  stack = await startStack({ label: 'chaospg', seed, policy: benchPolicy(), pulumiLatencyMs: 5, databaseUrl: pg.url, mode: 'source' });
}, 120_000);

afterAll(async () => {
  await stack?.stop();
  await pg?.stop();
});

it('answers 503 with a SCIM error while Postgres is down, then carries on', async () => {
  const push = await pushDirectory(stack.scim, SMALL, 4);
  await pg.stop();

  const answers = [
    await stack.scim.request('GET', `/Users?filter=${encodeURIComponent('userName eq "user1@example.test"')}`),
    await stack.scim.request('GET', `/Users/${push.userIds[1]}`),
    await stack.scim.request('POST', '/Users', oktaUser(2000)),
    await stack.scim.request('PATCH', `/Groups/${push.groupIds[0]}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [{ op: 'remove', path: `members[value eq "${push.userIds[0]}"]` }],
    }),
  ];
  const seen = answers.map((a) => {
    const body = a.body as { schemas?: string[]; status?: string } | undefined;
    return { status: a.status, scimError: body?.schemas?.includes(ERROR_URN) ?? false, bodyStatus: body?.status };
  });
  expect(seen).toEqual(answers.map(() => ({ status: 503, scimError: true, bodyStatus: '503' })));

  await pg.start();
  const created = await acknowledged('create user2000 after the restart', () => stack.scim.request<{ id: string }>('POST', '/Users', oktaUser(2000)));
  await acknowledged('group change after the restart', () =>
    stack.scim.request('PATCH', `/Groups/${push.groupIds[0]}`, {
      schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
      Operations: [
        { op: 'remove', path: `members[value eq "${push.userIds[0]}"]` },
        { op: 'add', path: 'members', value: [{ value: created.body.id }] },
      ],
    }),
  );
  const desired = desiredWithout(SMALL, new Set());
  desired.get(teamName(0))!.delete(loginOf(0));
  desired.get(teamName(0))!.add(loginOf(2000));
  await expectConverged(stack, desired, 90_000);
}, 240_000);
