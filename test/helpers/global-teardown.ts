import { createDb } from '../../src/directory/db';

export default async function globalTeardown(): Promise<void> {
  const adminUrl = process.env.TEST_PG_ADMIN_URL;
  const template = process.env.TEST_PG_TEMPLATE;
  if (adminUrl && template) {
    const admin = createDb({ connectionString: adminUrl, poolMax: 1 });
    try {
      await admin.raw(`DROP DATABASE IF EXISTS ${template} WITH (FORCE)`);
    } finally {
      await admin.destroy();
    }
  }
  const pg = (globalThis as Record<string, unknown>).__EMBEDDED_PG__ as { stop(): Promise<void> } | undefined;
  if (pg) await pg.stop();
}
