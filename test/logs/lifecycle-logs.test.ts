import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { startPrivateRedis, type PrivateRedis } from '../helpers/stack/processes';
import { loadConfig } from '../../src/config';
import { startEmulator, type Emulator } from '../../src/emulator';
import { createLogger } from '../../src/log';
import { startDaemon, type Daemon } from '../../src/runtime';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * Log capture over a whole lifecycle (docs/robustness.md, "Logging rules"): the daemon, at
 * debug level, provisions a user through SCIM, puts them in a mapped group, reconciles the
 * team into the emulator, issues a scoped token through the admin API, updates the user, and
 * deactivates them so the token is revoked. Nothing personal or secret may reach the logs:
 * no email, userName, name, SCIM body content, bearer token, Pulumi access token or token value.
 */

const SCIM_TOKEN = 'scim-log-capture-secret-5f0c2a9e71d4';
const ADMIN_TOKEN = 'admin-log-capture-secret-8b13e6d0c2fa';
const USER_NAME = 'carol.lifecycle@logs-example.test';
const LOGIN = 'carol.lifecycle';
const EMAIL_ALT = 'carol.private@home-example.test';
const GIVEN = 'Carolinda';
const FAMILY = 'Lifecyclewright';
/** A value that only ever travels inside a SCIM request body. */
const BODY_MARKER = 'Body-Only-Title-7d1e';
const GROUP = 'pulumi-logteam';

let database: TestDatabase;
let redis: PrivateRedis;
let emulator: Emulator;
let daemon: Daemon;
const captured: string[] = [];

async function scim(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${daemon.url}/scim/v2${route}`, {
    method,
    headers: { authorization: `Bearer ${SCIM_TOKEN}`, 'content-type': 'application/scim+json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function admin(method: string, route: string, body?: unknown): Promise<{ status: number; body: any }> {
  // eslint-disable-line @typescript-eslint/no-explicit-any
  const res = await fetch(`${daemon.url}${route}`, {
    method,
    headers: { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : undefined };
}

async function eventually(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

beforeAll(async () => {
  database = await createTestDatabase();
  redis = await startPrivateRedis();
  emulator = await startEmulator({ seed: { members: [LOGIN, 'someone.else'], stacks: ['infra/dev', 'infra/prod'] }, org: 'acme' });
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pis-logs-'));
  const policy = path.join(dir, 'sync.yaml');
  writeFileSync(
    policy,
    JSON.stringify({
      organization: 'acme',
      identity: { login: 'userNameLocalPart' },
      teams: [{ groupPattern: '^pulumi-(?<team>[a-z0-9-]+)$', stacks: [{ project: 'infra', stack: '*', permission: 'write' }] }],
      tokens: { revokeWhenCreatorLeaves: true },
    }),
  );
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => captured.push(chunk.toString('utf8')));
  const config = loadConfig({
    PORT: '0',
    HOST: '127.0.0.1',
    DATABASE_URL: database.url,
    REDIS_URL: redis.url,
    PULUMI_BACKEND_URL: emulator.url,
    PULUMI_ACCESS_TOKEN: emulator.accessToken,
    PULUMI_ORG: 'acme',
    SYNC_CONFIG: policy,
    SCIM_BEARER_TOKEN: SCIM_TOKEN,
    ADMIN_API_TOKEN: ADMIN_TOKEN,
    LOG_LEVEL: 'debug',
    DATA_DIR: dir,
  });
  daemon = await startDaemon(config, createLogger({ level: 'debug', stream }));
}, 60_000);

afterAll(async () => {
  await daemon?.stop();
  await emulator?.stop();
  await redis?.stop();
  await database?.drop();
});

it('logs a full SCIM → Pulumi → token lifecycle without personal data or secrets', async () => {
  const created = await scim('POST', '/Users', {
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User', 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User'],
    userName: USER_NAME,
    name: { givenName: GIVEN, familyName: FAMILY },
    emails: [
      { value: USER_NAME, primary: true, type: 'work' },
      { value: EMAIL_ALT, type: 'home' },
    ],
    title: BODY_MARKER,
    active: true,
  });
  expect(created.status).toBe(201);
  const userId: string = created.body.id;
  // A failed lookup and a rejected write log their own paths.
  expect((await scim('GET', `/Users?filter=${encodeURIComponent(`userName eq "${EMAIL_ALT}"`)}`)).status).toBe(200);
  expect((await scim('POST', '/Users', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'], userName: USER_NAME })).status).toBe(409);

  const group = await scim('POST', '/Groups', { schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: GROUP, members: [] });
  expect(group.status).toBe(201);
  const added = await scim('PATCH', `/Groups/${group.body.id}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'add', path: 'members', value: [{ value: userId, display: USER_NAME }] }],
  });
  expect([200, 204]).toContain(added.status);
  await eventually('team reconciled into Pulumi', () => emulator.state.teams.some((t) => t.name === 'logteam' && t.members.some((m) => m.login === LOGIN)));

  const issued = await admin('POST', '/api/v1/tokens', {
    team: 'logteam',
    owner: USER_NAME,
    description: 'log capture',
    scope: [{ project: 'infra', stack: 'dev' }],
  });
  expect(issued.status).toBeLessThan(300);
  const tokenValue: string = issued.body.tokenValue;
  expect(typeof tokenValue).toBe('string');

  const renamed = await scim('PATCH', `/Users/${userId}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', value: { 'name.givenName': `${GIVEN}x`, title: `${BODY_MARKER}-2` } }],
  });
  expect([200, 204]).toContain(renamed.status);
  const deactivated = await scim('PATCH', `/Users/${userId}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: [{ op: 'replace', value: { active: false } }],
  });
  expect([200, 204]).toContain(deactivated.status);
  const teamTokens = () => emulator.state.tokens.filter((t) => t.type === 'team');
  expect(teamTokens().length).toBeGreaterThan(0);
  await eventually(
    'member removed and scoped token revoked',
    () => !emulator.state.teams.some((t) => t.name === 'logteam' && t.members.some((m) => m.login === LOGIN)) && teamTokens().every((t) => t.deleted),
  );
  // Wrong credentials are logged as failures, never with the presented value.
  const wrong = await fetch(`${daemon.url}/scim/v2/Users`, { headers: { authorization: 'Bearer not-the-token-c0ffee-1234567890' } });
  expect(wrong.status).toBe(401);
  await new Promise((r) => setTimeout(r, 300));

  const logs = captured.join('');
  // The capture works: the daemon's own start-up line is there.
  expect(logs).toContain('listening');
  const forbidden: Record<string, string> = {
    userName: USER_NAME,
    'userName local part (login)': LOGIN,
    'second email': EMAIL_ALT,
    givenName: GIVEN,
    familyName: FAMILY,
    'SCIM body content': BODY_MARKER,
    'SCIM bearer token': SCIM_TOKEN,
    'admin API token': ADMIN_TOKEN,
    'Pulumi access token': emulator.accessToken,
    'issued token value': tokenValue,
    'rejected bearer token': 'not-the-token-c0ffee-1234567890',
  };
  const leaks = Object.entries(forbidden)
    .filter(([, value]) => logs.toLowerCase().includes(value.toLowerCase()))
    .map(([what, value]) => `${what}: ${logs.split('\n').find((l) => l.toLowerCase().includes(value.toLowerCase()))}`);
  expect(leaks).toEqual([]);
}, 90_000);
