import fs from 'node:fs';
import path from 'node:path';
import knex, { Knex } from 'knex';

/**
 * Knex setup and the migration source. Migrations are discovered from the `migrations/`
 * folder next to this build (TypeScript under ts-jest, JavaScript under dist/), so tests,
 * `npm start` and the CLI all run the same files.
 */

export type Db = Knex;
export type Trx = Knex.Transaction;

export interface DbOptions {
  connectionString: string;
  /** Pool size. @defaultValue 10 */
  poolMax?: number;
}

export function createDb(options: DbOptions): Db {
  return knex({
    client: 'pg',
    connection: options.connectionString,
    pool: { min: 0, max: options.poolMax ?? 10 },
    acquireConnectionTimeout: 10_000,
  });
}

interface MigrationModule {
  up(db: Knex): Promise<void>;
  down(db: Knex): Promise<void>;
  config?: { transaction?: boolean };
}

const MIGRATIONS_DIR = path.resolve(__dirname, '..', '..', 'migrations');

/** Files named `YYYYMMDDHHMMSS_snake_name.{ts,js}`, applied in name order. */
class FolderMigrationSource implements Knex.MigrationSource<string> {
  async getMigrations(): Promise<string[]> {
    const ext = __filename.endsWith('.ts') ? '.ts' : '.js';
    return fs
      .readdirSync(MIGRATIONS_DIR)
      .filter((f) => /^\d{14}_[a-z0-9_]+\.(ts|js)$/.test(f) && f.endsWith(ext))
      .sort();
  }
  getMigrationName(file: string): string {
    return file.replace(/\.(ts|js)$/, '');
  }
  async getMigration(file: string): Promise<Knex.Migration> {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    return require(path.join(MIGRATIONS_DIR, file)) as MigrationModule;
  }
}

export async function migrateLatest(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource: new FolderMigrationSource() });
}
