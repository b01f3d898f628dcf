import { POLICY, startWorld, type World } from './world';

/**
 * "Access explained" and the access review over HTTP, against the daemon's web router with its
 * real parts: directory rows in Postgres, the policy, the reconciler and the tokens part against
 * the Pulumi emulator. Alice is in "Platform Engineers" (→ team platform, write on infra/*),
 * Ada is an admin, Bob is in no group.
 */

const ADMIN_API_TOKEN = 'admin-api-token-for-access-tests-0123456789';
const RULE_LINE = POLICY.split('\n').findIndex((l) => l.includes('- group: Platform Engineers')) + 1;
const RULE = `test-policy.yaml:${RULE_LINE}`;

let w: World;
let alice: string;
let ada: string;
let aliceId: string;

beforeAll(async () => {
  w = await startWorld({ ADMIN_API_TOKEN, ADMIN_API_TOKEN_LABEL: 'auditor-bot' });
  [alice, ada] = await Promise.all(['alice@example.com', 'ada@example.com'].map((u) => w.h.signInAs(u)));
  aliceId = (await w.h.tdb.db('users').where({ user_name: 'alice@example.com' }).first('id')).id;
}, 60_000);
afterAll(async () => {
  await w.close();
});

function api(path: string, headers: Record<string, string> = {}): Promise<Response> {
  return fetch(`${w.h.url}/api/v1${path}`, { headers: { authorization: `Bearer ${ADMIN_API_TOKEN}`, ...headers } });
}

/** The admin API's JSON answer, as the test reads it field by field. */
async function apiJson(path: string): Promise<any> {
  return (await api(path)).json();
}

async function console_(path: string, cookie: string): Promise<{ status: number; text: string; headers: Headers }> {
  const res = await fetch(`${w.h.url}${path}`, { headers: { cookie }, redirect: 'manual' });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

/** An RFC 4180 parser: quoted fields may hold commas, quotes and line breaks; every line ends in CRLF. */
function csvRows(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c !== '"') field += c;
      else if (text[i + 1] === '"') field += text[++i];
      else quoted = false;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(field);
      field = '';
    } else if (c === '\r' && text[i + 1] === '\n') {
      rows.push([...row, field]);
      row = [];
      field = '';
      i++;
    } else field += c;
  }
  expect(row.length + field.length).toBe(0);
  return rows;
}

describe('GET /api/v1/access', () => {
  it('names each person with access to a stack, with the chain group → rule file:line → team → permission', async () => {
    const res = await api('/access?stack=infra/prod');
    expect(res.status).toBe(200);
    const body: any = await res.json();
    expect(body.stack).toEqual({ project: 'infra', stack: 'prod' });
    expect(body.orgDefault.permission).toBe('unknown');
    expect(body.rows).toEqual([
      {
        person: { userId: aliceId, userName: 'alice@example.com', login: 'alice' },
        project: 'infra',
        stack: 'prod',
        effective: 'write',
        paths: [
          {
            kind: 'team',
            group: { id: expect.any(String), displayName: 'Platform Engineers' },
            rule: { index: 0, line: RULE_LINE, ref: RULE },
            team: 'platform',
            permission: 'write',
            grantedBy: [{ index: 0, line: RULE_LINE, ref: RULE }],
          },
        ],
      },
    ]);
  });

  it.each([
    ['the SCIM userName', () => 'ALICE@example.com'],
    ['the SCIM id', () => aliceId],
    ['the Pulumi login', () => 'alice'],
  ])('finds a person by %s', async (_how, key) => {
    const body = await apiJson(`/access?person=${encodeURIComponent(key())}`);
    expect(body.person).toEqual({ userId: aliceId, userName: 'alice@example.com' });
    expect(body.rows.map((r: { project: string; stack: string; effective: string }) => `${r.project}/${r.stack} ${r.effective}`)).toEqual([
      'infra/dev write',
      'infra/prod write',
    ]);
  });

  it.each([
    ['/access?person=nobody@example.com', 404, 'unknown_person'],
    ['/access?stack=infra/nowhere', 404, 'unknown_stack'],
    ['/access?stack=infra', 400, 'invalid_request'],
    ['/access?person=alice&stack=infra/prod', 400, 'invalid_request'],
    ['/access', 400, 'invalid_request'],
    ['/access?team=platform', 400, 'invalid_request'],
  ])('%s answers %i %s', async (path, status, error) => {
    const res = await api(path);
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error, message: expect.any(String) });
  });

  it('is for the admin token only', async () => {
    const res = await fetch(`${w.h.url}/api/v1/access?stack=infra/prod`, { headers: { cookie: ada } });
    expect(res.status).toBe(401);
  });
});

describe('a scoped token', () => {
  let tokenName: string;
  let privateTeam: string;

  beforeAll(async () => {
    const res = await fetch(`${w.h.url}/api/v1/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_API_TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        team: 'platform',
        owner: 'alice@example.com',
        description: 'deploys',
        scope: [{ project: 'infra', stack: 'prod', permission: 'read' }],
      }),
    });
    expect(res.status).toBe(201);
    const issued: any = await res.json();
    ({ tokenName, pulumiTeam: privateTeam } = await apiJson(`/tokens/${issued.id}`));
  });

  it("is a path of its owner's: token → private team → permission", async () => {
    const row = (await apiJson('/access?stack=infra/prod')).rows[0];
    expect(row.effective).toBe('write');
    expect(row.paths[1]).toMatchObject({ kind: 'token', tokenName, tokenKind: 'scoped', team: privateTeam, parentTeam: 'platform', permission: 'read' });
  });

  it('is in the review with owner, team, scope, created, last used and expiry; the export is audited', async () => {
    const res = await api('/access-review', { accept: 'text/csv' });
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/csv; charset=utf-8/);
    expect(res.headers.get('content-disposition')).toMatch(/^attachment; filename="access-review-.*\.csv"$/);
    const [header, ...rows] = csvRows(await res.text());
    for (const row of rows) expect(row).toHaveLength(header!.length);
    expect(header!.slice(0, 6)).toEqual(['record', 'person', 'person_id', 'pulumi_login', 'stack', 'effective']);
    const records = rows.map((r) => Object.fromEntries(header!.map((c, i) => [c, r[i]])));
    expect(records).toContainEqual(
      expect.objectContaining({
        record: 'access',
        person: 'alice@example.com',
        stack: 'infra/prod',
        effective: 'write',
        path: 'team',
        group: 'Platform Engineers',
        rule: RULE,
        team: 'platform',
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        record: 'access',
        person: 'alice@example.com',
        stack: 'infra/prod',
        path: 'token',
        team: privateTeam,
        token_name: tokenName,
        permission: 'read',
      }),
    );
    expect(records).toContainEqual(
      expect.objectContaining({
        record: 'token',
        person: 'alice@example.com',
        person_id: aliceId,
        team: privateTeam,
        token_name: tokenName,
        token_kind: 'scoped',
        scope: 'infra/prod:read',
        created: expect.stringMatching(/^\d{4}-\d\d-\d\dT/),
        last_used: 'never',
        expires: 'never',
      }),
    );

    const audit = await apiJson('/audit?op=access-review.export');
    expect(audit.entries[0]).toMatchObject({
      op: 'access-review.export',
      actor: 'auditor-bot',
      channel: 'api',
      detail: expect.objectContaining({ format: 'csv' }),
    });
  });

  it('answers JSON with the same records', async () => {
    const res = await api('/access-review?format=json');
    expect(res.headers.get('content-disposition')).toMatch(/\.json"$/);
    const body: any = await res.json();
    expect(body.columns[0]).toBe('record');
    expect(body.access).toContainEqual(expect.objectContaining({ person: 'alice@example.com', stack: 'infra/dev', path: 'team' }));
    expect(body.tokens).toContainEqual(expect.objectContaining({ record: 'token', token_name: tokenName, person: 'alice@example.com' }));
  });
});

describe('the console', () => {
  it('explains a person their own access in words, from "My teams"', async () => {
    expect((await console_('/console/', alice)).text).toContain('href="/console/access"');
    const res = await console_('/console/access', alice);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-security-policy')).toContain("default-src 'none'");
    expect(res.text.replace(/<[^>]+>/g, '')).toContain(
      `alice@example.com has write on infra/dev because they are in SCIM group Platform Engineers → rule ${RULE} → team platform (write).`,
    );
    expect(res.text).not.toContain('review-csv');
  });

  it('shows a person nobody else, not even whether they exist', async () => {
    for (const person of ['ada@example.com', 'nobody@example.com']) {
      const res = await console_(`/console/access?person=${encodeURIComponent(person)}`, alice);
      expect(res.status).toBe(403);
    }
    expect((await console_('/console/admin/access-review', alice)).status).toBe(403);
  });

  it("answers a person's question about a stack with their own row only", async () => {
    const bob = await w.h.signInAs('bob@example.com');
    const prod = await console_('/console/access?stack=infra%2Fprod', bob);
    expect(prod.status).toBe(200);
    expect(prod.text).not.toContain('alice@example.com');
    expect(prod.text.replace(/<[^>]+>/g, '')).toContain('No policy rule or token gives you access to infra/prod.');
  });

  it('lets an admin ask about any stack and download the review, audited with the admin as actor', async () => {
    const page = await console_('/console/access?stack=infra%2Fprod', ada);
    expect(page.status).toBe(200);
    expect(page.text).toContain('data-person="alice@example.com" data-stack="infra/prod" data-effective="write"');
    expect(page.text).toContain('href="/console/admin/access-review?format=csv"');

    const csv = await console_('/console/admin/access-review?format=csv', ada);
    expect(csv.status).toBe(200);
    expect(csv.headers.get('content-disposition')).toMatch(/^attachment;/);
    expect(csvRows(csv.text)[0]![0]).toBe('record');
    const audit = await apiJson('/audit?op=access-review.export&limit=1');
    expect(audit.entries[0]).toMatchObject({ actor: 'ada@example.com', channel: 'console' });
  });
});
