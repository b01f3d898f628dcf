import { createDb, migrateLatest } from '../../src/directory/db';
import { startEmbeddedPostgres } from '../../src/directory/embedded-postgres';
import { TEMPLATE_DB, adminUrlFor, withDatabase } from './pg-urls';

/**
 * Runs once before all test files: finds Postgres (DATABASE_URL, else an embedded one under
 * .data/test), migrates a template database, and publishes both URLs through the environment
 * so each test file can clone the template cheaply (see ./db.ts).
 */
export default async function globalSetup(): Promise<void> {
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const pg = await startEmbeddedPostgres('.data/test', 54339);
    (globalThis as Record<string, unknown>).__EMBEDDED_PG__ = pg;
    adminUrl = pg.connectionString;
  }
  adminUrl = adminUrlFor(adminUrl);
  const admin = createDb({ connectionString: adminUrl, poolMax: 1 });
  try {
    // Terminate leftovers of an interrupted run before replacing the template.
    await admin.raw(
      `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ? AND pid <> pg_backend_pid()`,
      [TEMPLATE_DB],
    );
    await admin.raw(`DROP DATABASE IF EXISTS ${TEMPLATE_DB}`);
    await admin.raw(`CREATE DATABASE ${TEMPLATE_DB}`);
  } finally {
    await admin.destroy();
  }
  const template = createDb({ connectionString: withDatabase(adminUrl, TEMPLATE_DB), poolMax: 1 });
  try {
    await migrateLatest(template);
  } finally {
    await template.destroy();
  }
  process.env.TEST_PG_ADMIN_URL = adminUrl;
}
