import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { appendAudit, anchorAuditHead, recordAdminAction, verifyAuditChain } from '../../src/reconcile/audit';
import { canonicalEntry, GENESIS_HASH } from '../../src/reconcile/audit-chain';

/**
 * The audit log's hash chain on a real database: it verifies untouched, a row changed in SQL
 * is named by its id, a deleted last row is found through the head or, once the head was
 * anchored, even when the head row is rewound too.
 */

let t: TestDatabase;

beforeEach(async () => {
  t = await createTestDatabase();
  for (let i = 0; i < 5; i++) {
    await appendAudit(t.db, [
      { category: 'reconcile', op: 'addMember', team: 'web', subject: `user${i}`, outcome: 'intent', detail: { userId: `u${i}` } },
      { category: 'reconcile', op: 'addMember', team: 'web', subject: `user${i}`, outcome: 'applied', detail: {}, intentId: undefined },
    ]);
  }
  await recordAdminAction(t.db, { op: 'reconcile', actor: 'admin-api-token', channel: 'api', detail: { nested: { b: 1, a: [1, 'x', null] } } });
});

afterEach(async () => {
  await t.drop();
});

const ids = async (): Promise<string[]> => (await t.db('audit_log').orderBy('id').pluck('id')).map(String);

it('passes on an untouched log', async () => {
  const verdict = await verifyAuditChain(t.db);
  expect(verdict).toEqual({ ok: true, entries: 11, headId: (await ids()).at(-1), headHash: expect.stringMatching(/^[0-9a-f]{64}$/), anchorsChecked: 0 });
});

it('chains each entry to the one before it, in id order', async () => {
  const rows = await t.db('audit_log').orderBy('id').select('id', 'prev_hash', 'hash');
  expect(rows[0].prev_hash).toBe(GENESIS_HASH);
  for (let i = 1; i < rows.length; i++) expect(rows[i].prev_hash).toBe(rows[i - 1].hash);
  expect(rows.map((r) => Number(r.id))).toEqual(rows.map((_, i) => Number(rows[0].id) + i));
});

it('names the row whose contents were changed in SQL', async () => {
  const target = (await ids())[4];
  await t.db('audit_log').where('id', target).update({ outcome: 'failed' });
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, entryId: target, problem: expect.stringContaining('changed') });
});

it('names the row whose detail was changed in SQL, however jsonb orders its keys', async () => {
  const target = (await ids()).at(-1)!;
  await t.db.raw(`UPDATE audit_log SET detail = jsonb_set(detail, '{nested,b}', '2') WHERE id = ?`, [target]);
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, entryId: target });
});

it('names the entry after a row deleted from the middle', async () => {
  const all = await ids();
  await t.db('audit_log').where('id', all[3]).delete();
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, entryId: all[4] });
});

it('finds a deleted last row through the head row', async () => {
  const last = (await ids()).at(-1)!;
  await t.db('audit_log').where('id', last).delete();
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, entryId: last, problem: expect.stringContaining('tail was removed') });
});

it('once the head is anchored, finds a deleted last row even when the head row is rewound to match', async () => {
  const all = await ids();
  expect(await anchorAuditHead(t.db)).toEqual({ headId: all.at(-1), headHash: expect.any(String) });
  expect(await anchorAuditHead(t.db)).toBeUndefined();
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true, anchorsChecked: 1 });

  const before = await t.db('audit_log').where('id', all.at(-2)!).first('id', 'hash');
  await t.db('audit_log').where('id', all.at(-1)!).delete();
  await t.db('audit_head').update({ last_id: before.id, last_hash: before.hash });
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: false, entryId: all.at(-1), problem: expect.stringMatching(/anchor taken at .*tail was removed/) });
});

it('without an anchor, a tail removed together with its head row goes unseen (what anchors are for)', async () => {
  const all = await ids();
  const before = await t.db('audit_log').where('id', all.at(-2)!).first('id', 'hash');
  await t.db('audit_log').where('id', all.at(-1)!).delete();
  await t.db('audit_head').update({ last_id: before.id, last_hash: before.hash });
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true, entries: 10 });
});

it('appends from concurrent writers still form one chain', async () => {
  await Promise.all(
    Array.from({ length: 20 }, (_, i) => appendAudit(t.db, [{ category: 'tokens', op: 'token.revoked', subject: `tok-${i}`, outcome: 'applied' }])),
  );
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true, entries: 31 });
});

it('an append inside a transaction that rolls back leaves the chain as it was', async () => {
  await expect(
    t.db.transaction(async (trx) => {
      await appendAudit(trx, [{ category: 'admin', op: 'x', outcome: 'applied' }]);
      throw new Error('rolled back');
    }),
  ).rejects.toThrow('rolled back');
  await appendAudit(t.db, [{ category: 'admin', op: 'y', outcome: 'applied' }]);
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true, entries: 12 });
});

it('the database hashes exactly what the verifier encodes: escapes, non-ASCII, numbers, dates', async () => {
  const [id] = await appendAudit(t.db, [
    {
      category: 'admin',
      op: 'quote"back\\slash',
      team: 'é ☃ 𝄞',
      subject: 'line\nbreak\ttab\u0001',
      outcome: 'applied',
      actor: '{"not":"json"}',
      detail: {
        z: 1e21,
        a: 1.5e-7,
        neg: -0,
        big: 2 ** 60,
        s: 'x"y\\',
        at: new Date('2026-12-02T06:00:00.000Z'),
        list: [undefined, null, true],
        ü: { b: 2, B: 1 },
      },
    },
  ]);
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true, entries: 12 });
  const row = await t.db('audit_log').where('id', id).first();
  expect(row).toMatchObject({ op: 'quote"back\\slash', team: 'é ☃ 𝄞', subject: 'line\nbreak\ttab\u0001', actor: '{"not":"json"}' });
  expect(row.detail).toMatchObject({ at: '2026-12-02T06:00:00.000Z', list: [null, null, true], ü: { b: 2, B: 1 } });
});

it('a long append is several statements in one transaction, and still one gap-free chain', async () => {
  const appended = await appendAudit(
    t.db,
    Array.from({ length: 2500 }, (_, i) => ({ category: 'reconcile' as const, op: 'addMember', team: 'web', subject: `u${i}`, outcome: 'intent' as const })),
  );
  expect(appended.map(Number)).toEqual(appended.map((_, i) => Number(appended[0]) + i));
  expect(await t.db('audit_log').whereIn('id', [appended[0], appended[2499]]).orderBy('id').pluck('subject')).toEqual(['u0', 'u2499']);
  expect(await verifyAuditChain(t.db)).toMatchObject({ ok: true, entries: 2511 });
});

it('the canonical encoding sorts object keys and fixes the field order', () => {
  const fields = {
    id: '7',
    at: '2026-12-02T06:00:00.000Z',
    category: 'admin',
    op: 'reconcile',
    team: null,
    subject: null,
    outcome: 'applied',
    reason: null,
    requestId: 'r1',
    jobId: null,
    actor: 'ada',
    channel: 'api',
    intentId: null,
    detail: { b: 1, a: { d: [1, { z: 0, y: 'é' }], c: true } },
  };
  expect(canonicalEntry(GENESIS_HASH, fields)).toBe(
    `["pis-audit/1","${GENESIS_HASH}","7","2026-12-02T06:00:00.000Z","admin","reconcile",null,null,"applied",null,"r1",null,"ada","api",null,{"a":{"c":true,"d":[1,{"y":"é","z":0}]},"b":1}]`,
  );
});
