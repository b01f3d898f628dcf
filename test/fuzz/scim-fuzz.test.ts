import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import fc from 'fast-check';
import { createApp, createHttpServer } from '../../src/app';
import { createLogger } from '../../src/log';
import { createScimRouter } from '../../src/scim';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * Property-based fuzzing of the real SCIM HTTP server: filters, PATCH bodies and
 * JSON bodies drawn by fast-check, sent over HTTP. Whatever arrives, the server never answers
 * 5xx, never drops the connection, and every rejection is an RFC 7644 §3.12 error body whose
 * `status` is the HTTP status as a string. Runs are bounded so the file stays in seconds.
 */

const TOKEN = 'fuzz-bootstrap-token-0123456789abcdef';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const RUNS = Number(process.env.FUZZ_RUNS ?? 150);
// A fixed number of runs, not a time budget: however slow the machine, each property gets them all.
jest.setTimeout(600_000);

let database: TestDatabase;
let server: http.Server;
let base: string;
let userId: string;
let groupId: string;
/** Statuses answered during the current test: a run that only ever saw 401s would prove nothing. */
const seen = new Set<number>();

function expectAcceptedAndRejected(): void {
  expect([...seen].some((s) => s >= 200 && s < 300)).toBe(true);
  expect([...seen].some((s) => s >= 400 && s < 500 && s !== 401)).toBe(true);
}

interface Answer {
  status: number;
  text: string;
  body: unknown;
}

async function send(method: string, path: string, body?: string, contentType = 'application/scim+json'): Promise<Answer> {
  const res = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${TOKEN}`, ...(body !== undefined ? { 'content-type': contentType } : {}) },
    body,
  });
  const text = await res.text();
  seen.add(res.status);
  let parsed: unknown;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    parsed = undefined;
  }
  return { status: res.status, text, body: parsed };
}

/** The property every answer must have. Returns a message describing a violation, or undefined. */
function violation(answer: Answer): string | undefined {
  if (answer.status >= 500) return `answered ${answer.status}: ${answer.text.slice(0, 300)}`;
  if (answer.status < 400) return undefined;
  const body = answer.body as { schemas?: unknown; status?: unknown; detail?: unknown } | undefined;
  if (!body || !Array.isArray(body.schemas) || !body.schemas.includes(ERROR_URN))
    return `rejection ${answer.status} without a SCIM error body: ${answer.text.slice(0, 300)}`;
  if (body.status !== String(answer.status)) return `error body status ${JSON.stringify(body.status)} for HTTP ${answer.status}`;
  if (/\n\s+at /.test(answer.text)) return 'a stack trace on the wire';
  return undefined;
}

function expectSound(answer: Answer, input: unknown): void {
  const problem = violation(answer);
  if (problem) throw new Error(`${problem}\ninput: ${JSON.stringify(input).slice(0, 500)}`);
}

beforeAll(async () => {
  database = await createTestDatabase();
  const logger = createLogger({ silent: true });
  const router = createScimRouter({
    db: database.db,
    logger,
    config: { SCIM_BEARER_TOKEN: TOKEN, SCIM_MAX_BODY: '64kb', PUBLIC_URL: undefined },
    rateLimit: false,
  });
  server = createHttpServer(createApp({ logger, readiness: {}, mounts: [{ path: '/scim/v2', router }] }));
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/scim/v2`;
  const user = await send('POST', '/Users', JSON.stringify({ schemas: [USER_URN], userName: 'fuzz.target@example.test', active: true }));
  userId = (user.body as { id: string }).id;
  const group = await send(
    'POST',
    '/Groups',
    JSON.stringify({ schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'], displayName: 'fuzz group', members: [{ value: userId }] }),
  );
  groupId = (group.body as { id: string }).id;
  expect(user.status).toBe(201);
  expect(group.status).toBe(201);
});

beforeEach(() => seen.clear());

afterAll(async () => {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  await database.drop();
});

// ---- filters -----------------------------------------------------------------------------

const attribute = fc.constantFrom(
  'userName',
  'displayName',
  'externalId',
  'id',
  'active',
  'emails',
  'emails.value',
  'emails[type eq "work"].value',
  'name.givenName',
  'name.familyName',
  'meta.lastModified',
  'meta.created',
  'members',
  'members.value',
  'title',
  'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber',
  'nosuch',
  'USERNAME',
  'a.b.c.d',
  '',
);
const operator = fc.constantFrom('eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le', 'pr', 'EQ', 'Eq', 'xx', '');
const literal = fc.oneof(
  fc.string().map((s) => JSON.stringify(s)),
  fc.constantFrom('true', 'false', 'null', '1', '-1.5e10', '"2026-11-28T00:00:00Z"', '"', '"\\"', "'x'", '[]', '{}'),
  fc.integer().map(String),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);
const comparison = fc.tuple(attribute, operator, literal).map(([a, o, v]) => (o === 'pr' ? `${a} pr` : `${a} ${o} ${v}`));
const filterExpr: fc.Arbitrary<string> = fc.letrec<{ expr: string }>((tie) => ({
  expr: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    comparison,
    fc.tuple(tie('expr'), fc.constantFrom('and', 'or', 'AND', 'xor'), tie('expr')).map(([a, op, b]) => `${a} ${op} ${b}`),
    tie('expr').map((e) => `not (${e})`),
    tie('expr').map((e) => `(${e})`),
    tie('expr').map((e) => `emails[${e}]`),
  ),
})).expr;

describe('SCIM filters', () => {
  it('grammar-shaped filters never get a 5xx, and rejections are SCIM errors', async () => {
    await fc.assert(
      fc.asyncProperty(filterExpr, fc.constantFrom('/Users', '/Groups'), async (filter, resource) => {
        expectSound(await send('GET', `${resource}?filter=${encodeURIComponent(filter)}`), filter);
      }),
      { numRuns: RUNS },
    );
    expectAcceptedAndRejected();
  });

  it('arbitrary strings as filter, startIndex, count, sortBy and attributes never get a 5xx', async () => {
    const param = fc.oneof(
      fc.string({ maxLength: 60 }),
      fc.string({ unit: 'grapheme', maxLength: 20 }),
      fc.integer().map(String),
      fc.constantFrom('', '0', '-1', '1e400', 'NaN', '99999999999999999999'),
    );
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('filter', 'startIndex', 'count', 'sortBy', 'sortOrder', 'attributes', 'excludedAttributes'),
        param,
        fc.constantFrom('/Users', '/Groups', `/Groups/GROUP`, '/Users/USER'),
        async (name, value, path) => {
          const target = path.replace('GROUP', groupId).replace('USER', userId);
          expectSound(await send('GET', `${target}?${name}=${encodeURIComponent(value)}`), { name, value });
        },
      ),
      { numRuns: RUNS },
    );
    expectAcceptedAndRejected();
  });
});

// ---- PATCH bodies ------------------------------------------------------------------------

const patchPath = fc.oneof(
  fc.constantFrom(
    'active',
    'userName',
    'displayName',
    'name.givenName',
    'emails',
    'emails[type eq "work"].value',
    'members',
    'members[value eq "00000000-0000-0000-0000-000000000000"]',
    'members[value eq "USER"]',
    'externalId',
    'id',
    'meta',
    'meta.version',
    'schemas',
    'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value',
    'urn:ietf:params:scim:schemas:core:2.0:User:active',
    'members[',
    '[]',
    '',
    'nosuch.attr',
  ),
  fc.string({ maxLength: 40 }),
);
const jsonValue = fc.oneof(
  { depthSize: 'small' },
  fc.jsonValue({ maxDepth: 3 }),
  fc.constantFrom('True', 'False', 'true', 'false', 1, 0, null),
  fc.array(fc.record({ value: fc.oneof(fc.string(), fc.constant('USER'), fc.constant(null), fc.integer()), display: fc.option(fc.string()) }), {
    maxLength: 4,
  }),
  fc.dictionary(fc.constantFrom('active', 'displayName', 'name.givenName', 'userName', 'emails', 'id', 'members', 'externalId'), fc.jsonValue({ maxDepth: 2 })),
);
const operation = fc.record(
  {
    op: fc.oneof(fc.constantFrom('add', 'remove', 'replace', 'Add', 'Remove', 'Replace', 'REPLACE'), fc.string({ maxLength: 8 }), fc.integer()),
    path: patchPath,
    value: jsonValue,
  },
  { requiredKeys: [] },
);
/** Well-formed operations (some will apply), so the property also covers the paths that succeed. */
const wellFormedOperation = fc.oneof(
  fc.boolean().map((active) => ({ op: 'replace', value: { active } })),
  fc.string({ maxLength: 30 }).map((value) => ({ op: 'replace', path: 'displayName', value })),
  fc.constant({ op: 'add', path: 'members', value: [{ value: 'USER' }] }),
  fc.constant({ op: 'remove', path: 'members[value eq "USER"]' }),
  fc.string({ maxLength: 20 }).map((v) => ({ op: 'replace', value: { 'name.givenName': v } })),
);
const patchBody = fc.oneof(
  fc.record({ schemas: fc.constant([PATCH_URN]), Operations: fc.array(wellFormedOperation, { minLength: 1, maxLength: 3 }) }),
  fc.record({ schemas: fc.constant([PATCH_URN]), Operations: fc.array(operation, { maxLength: 5 }) }),
  fc.record({ schemas: fc.oneof(fc.constant([PATCH_URN]), fc.jsonValue({ maxDepth: 1 })), Operations: fc.jsonValue({ maxDepth: 3 }) }, { requiredKeys: [] }),
  fc.jsonValue({ maxDepth: 3 }),
);

describe('SCIM PATCH', () => {
  it('PatchOp-shaped and arbitrary bodies on a user and a group never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(patchBody, fc.boolean(), async (body, onGroup) => {
        const text = JSON.stringify(body).replace(/"USER"/g, JSON.stringify(userId));
        const answer = await send('PATCH', onGroup ? `/Groups/${groupId}` : `/Users/${userId}`, text);
        expectSound(answer, body);
      }),
      { numRuns: RUNS },
    );
    expectAcceptedAndRejected();
  });
});

// ---- JSON bodies -------------------------------------------------------------------------

const userish = fc.record(
  {
    schemas: fc.oneof(fc.constant([USER_URN]), fc.jsonValue({ maxDepth: 1 })),
    userName: fc.oneof(fc.emailAddress(), fc.string({ maxLength: 30 }), fc.jsonValue({ maxDepth: 1 })),
    active: fc.oneof(fc.boolean(), fc.constantFrom('True', 'False', 'yes'), fc.jsonValue({ maxDepth: 1 })),
    name: fc.oneof(fc.record({ givenName: fc.string(), familyName: fc.jsonValue({ maxDepth: 1 }) }, { requiredKeys: [] }), fc.jsonValue({ maxDepth: 2 })),
    emails: fc.oneof(
      fc.array(fc.record({ value: fc.jsonValue({ maxDepth: 1 }), primary: fc.jsonValue({ maxDepth: 0 }), type: fc.string() }, { requiredKeys: [] }), {
        maxLength: 3,
      }),
      fc.jsonValue({ maxDepth: 2 }),
    ),
    externalId: fc.jsonValue({ maxDepth: 1 }),
    id: fc.jsonValue({ maxDepth: 1 }),
    meta: fc.jsonValue({ maxDepth: 2 }),
    displayName: fc.jsonValue({ maxDepth: 1 }),
    members: fc.jsonValue({ maxDepth: 2 }),
  },
  { requiredKeys: [] },
);

describe('SCIM JSON bodies', () => {
  it('user- and group-ish documents on POST and PUT never get a 5xx', async () => {
    await fc.assert(
      fc.asyncProperty(userish, fc.constantFrom('POST /Users', 'PUT /Users/USER', 'POST /Groups', 'PUT /Groups/GROUP'), async (body, route) => {
        const [method, path] = route.split(' ');
        const answer = await send(method, path.replace('USER', userId).replace('GROUP', groupId), JSON.stringify(body));
        expectSound(answer, { route, body });
      }),
      { numRuns: RUNS },
    );
    expectAcceptedAndRejected();
  });

  it('byte soup, broken JSON and odd content types never get a 5xx', async () => {
    const raw = fc.oneof(
      fc.string({ maxLength: 200 }),
      fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v)),
      fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v).slice(0, -1)),
      fc.constantFrom('', '{', '[', 'null', '"x"', '{"schemas":', '\u0000', '{"a":1}{"b":2}', '\ufeff{}'),
    );
    await fc.assert(
      fc.asyncProperty(
        raw,
        fc.constantFrom('POST /Users', 'PUT /Users/USER', 'PATCH /Users/USER', 'POST /Groups', 'PATCH /Groups/GROUP', 'POST /Users/.search'),
        fc.constantFrom('application/scim+json', 'application/json', 'application/scim+json; charset=utf-8', 'text/plain', 'application/xml'),
        async (body, route, contentType) => {
          const [method, path] = route.split(' ');
          expectSound(await send(method, path.replace('USER', userId).replace('GROUP', groupId), body, contentType), { route, body, contentType });
        },
      ),
      { numRuns: RUNS },
    );
    // Byte soup is rarely a valid document: only the rejections are sure to be exercised.
    expect([...seen].some((st) => st >= 400 && st < 500 && st !== 401)).toBe(true);
  });
});
