import { createDb } from '../../src/directory/db';
import { toScimError } from '../../src/scim/errors';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/** DB_STATEMENT_TIMEOUT_MS bounds every statement of a pool; SCIM tells the client it asked too much. */
describe('statement timeout', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => t.drop());

  it('has Postgres cancel a statement that runs past the bound, and SCIM answers it 400 tooMany', async () => {
    const db = createDb({ connectionString: t.url, poolMax: 1, statementTimeoutMs: 200 });
    try {
      const err = await db.raw('SELECT pg_sleep(30)').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toMatchObject({ code: '57014' });
      expect(toScimError(err).toBody()).toMatchObject({ status: '400', scimType: 'tooMany' });
      // The connection is still good for the next query.
      expect((await db.raw('SELECT 1 AS one')).rows[0].one).toBe(1);
    } finally {
      await db.destroy();
    }
  });

  it('leaves a pool without the option unbounded', async () => {
    const { rows } = await t.db.raw('SHOW statement_timeout');
    expect(rows[0].statement_timeout).toBe('0');
  });
});
