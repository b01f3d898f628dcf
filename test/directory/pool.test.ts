import { createDb } from '../../src/directory/db';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/** The pool keeps warm connections through a quiet spell, and drops only the extra ones. */
describe('database pool', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => t.drop());

  async function backendPids(db: ReturnType<typeof createDb>, n: number): Promise<Set<number>> {
    // n statements held open at once, so the pool must give each its own connection.
    const rows = await Promise.all(
      Array.from({ length: n }, () => db.raw('SELECT pg_backend_pid() AS pid, pg_sleep(0.05)').then((r) => r.rows[0].pid as number)),
    );
    return new Set(rows);
  }

  it('keeps two connections (the same backends) open past the idle timeout and closes the rest', async () => {
    const db = createDb({ connectionString: t.url, poolMax: 4, idleTimeoutMillis: 100 });
    try {
      const before = await backendPids(db, 4);
      expect(before.size).toBe(4);
      // tarn reaps idle connections once a second.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const open = await t.db.raw('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY(?::int[])', [[...before]]);
      expect(open.rows[0].n).toBe(2);
      const after = await backendPids(db, 2);
      expect([...after].every((pid) => before.has(pid))).toBe(true);
    } finally {
      await db.destroy();
    }
  });
});
