import { createDb, type Db } from '../../src/directory/db';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { waitFor } from '../helpers/stack/processes';

/** The pool keeps warm connections through a quiet spell, and drops only the extra ones. */
describe('database pool', () => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase();
  });
  afterAll(async () => t.drop());

  /**
   * The backends of n connections held at once: each transaction keeps its connection until all n
   * have one, so the pool must open n, however slowly the machine runs them.
   */
  async function backendPids(db: Db, n: number): Promise<Set<number>> {
    let release!: () => void;
    const allHeld = new Promise<void>((resolve) => {
      release = resolve;
    });
    let held = 0;
    const pids = await Promise.all(
      Array.from({ length: n }, () =>
        db.transaction(async (trx) => {
          const pid = (await trx.raw('SELECT pg_backend_pid() AS pid')).rows[0].pid as number;
          if (++held === n) release();
          await allHeld;
          return pid;
        }),
      ),
    );
    return new Set(pids);
  }

  const openBackends = async (pids: Set<number>) =>
    (await t.db.raw('SELECT count(*)::int AS n FROM pg_stat_activity WHERE pid = ANY(?::int[])', [[...pids]])).rows[0].n as number;

  it('keeps two connections (the same backends) open past the idle timeout and closes the rest', async () => {
    const db = createDb({ connectionString: t.url, poolMax: 4, idleTimeoutMillis: 100 });
    try {
      const before = await backendPids(db, 4);
      expect(before.size).toBe(4);
      // tarn reaps idle connections about once a second; the warm two must stay.
      await waitFor('the pool to close the connections beyond the warm two', async () => (await openBackends(before)) <= 2, 60_000, 100);
      expect(await openBackends(before)).toBe(2);
      const after = await backendPids(db, 2);
      expect([...after].every((pid) => before.has(pid))).toBe(true);
    } finally {
      await db.destroy();
    }
  });
});
