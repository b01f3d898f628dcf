import { randomBytes } from 'node:crypto';
import { createDb, type Db } from '../../src/directory/db';
import { templateDatabase, withDatabase } from './pg-urls';

/**
 * A fresh, migrated database for one test file, cloned from the template that global-setup
 * migrated. Call `drop()` in afterAll.
 */
export interface TestDatabase {
  db: Db;
  url: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  if (!adminUrl) throw new Error('TEST_PG_ADMIN_URL unset: run tests through jest (global-setup)');
  const name = `pis_t_${randomBytes(6).toString('hex')}`;
  const admin = createDb({ connectionString: adminUrl, poolMax: 1 });
  try {
    await admin.raw(`CREATE DATABASE ${name} TEMPLATE ${templateDatabase()}`);
  } finally {
    await admin.destroy();
  }
  const url = withDatabase(adminUrl, name);
  const db = createDb({ connectionString: url });
  return {
    db,
    url,
    async drop() {
      await db.destroy();
      const again = createDb({ connectionString: adminUrl, poolMax: 1 });
      try {
        await again.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await again.destroy();
      }
    },
  };
}
