import { chmodSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createDb, type Db, migrateLatest } from '../../src/directory/db';
import { startEmbeddedPostgres } from '../../src/directory/embedded-postgres';
import { withDatabase } from './pg-urls';

/**
 * Runs once before all test files: finds Postgres (DATABASE_URL, else an embedded one under
 * .data/test), migrates a template database, and publishes both URLs through the environment
 * so each test file can clone the template cheaply (see ./db.ts).
 */
export default async function globalSetup(): Promise<void> {
  scopeLitterToThisRun();
  let adminUrl = process.env.DATABASE_URL;
  if (!adminUrl) {
    const pg = await startEmbeddedPostgres('.data/test', 54339, { sameProcessGroup: true });
    (globalThis as Record<string, unknown>).__EMBEDDED_PG__ = pg;
    adminUrl = pg.connectionString;
  }
  // A template per run: concurrent jest runs on one server must not drop each other's.
  const template = `pis_test_template_${process.pid}_${Date.now().toString(36)}`;
  const admin = createDb({ connectionString: adminUrl, poolMax: 1 });
  try {
    await dropLeftovers(admin);
    await admin.raw(`CREATE DATABASE ${template}`);
  } finally {
    await admin.destroy();
  }
  const templateDb = createDb({ connectionString: withDatabase(adminUrl, template), poolMax: 1 });
  try {
    await migrateLatest(templateDb);
  } finally {
    await templateDb.destroy();
  }
  process.env.TEST_PG_ADMIN_URL = adminUrl;
  process.env.TEST_PG_TEMPLATE = template;
}

/**
 * Everything the suite leaves behind lives under one folder and one Redis namespace of this run,
 * which global-teardown removes. Setting TMPDIR here reaches every jest worker and every process a
 * test spawns (they inherit the environment), so `os.tmpdir()` callers need no change. The run id
 * keeps concurrent runs on one machine out of each other's way.
 */
function scopeLitterToThisRun(): void {
  const runDir = mkdtempSync(path.join(os.tmpdir(), 'pis-test-run-'));
  // As root, initdb runs as a 'postgres' user that must read files the embedded Postgres puts here.
  chmodSync(runDir, 0o755);
  process.env.TEST_RUN_DIR = runDir;
  process.env.TEST_RUN_ID = path.basename(runDir).slice('pis-test-run-'.length);
  process.env.TMPDIR = runDir;
}

/**
 * Drops templates and per-file databases that interrupted runs left behind (older than an
 * hour, so a run still in progress elsewhere keeps its own). A database another run is dropping
 * right now has no PG_VERSION file any more: `missing_ok` skips it instead of failing the run.
 */
async function dropLeftovers(admin: Db): Promise<void> {
  const { rows } = await admin.raw(
    `SELECT d.datname FROM pg_database d
      WHERE (d.datname LIKE 'pis_test_template_%' OR d.datname LIKE 'pis_t_%')
        AND (pg_stat_file('base/' || d.oid || '/PG_VERSION', true)).modification < now() - interval '1 hour'`,
  );
  for (const { datname } of rows as Array<{ datname: string }>) {
    if (datname.startsWith('pis_test_template_')) {
      await admin.raw(`ALTER DATABASE ${datname} IS_TEMPLATE false`).catch(() => undefined);
    }
    await admin.raw(`DROP DATABASE IF EXISTS ${datname} WITH (FORCE)`).catch(() => undefined);
  }
}
