import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import knex, { type Knex } from 'knex';

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
  /** How long a connection beyond the warm ones may sit idle before it is closed. @defaultValue 30 s */
  idleTimeoutMillis?: number;
  /** Postgres cancels any statement on these connections that runs longer; 0 or unset: no bound. */
  statementTimeoutMs?: number;
}

/**
 * Connections kept open through quiet spells. An IdP writes a few times a minute at most, so
 * with none kept, nearly every write after 30 s of quiet (the pool's idle timeout) paid for a new
 * connection and a cold backend (catalog caches, the PATCH function compiled again), several
 * times slower than a warm one (BENCHMARKS.md, group PATCH). The pool opens them lazily, and knex
 * drops a connection that died with the server on its next checkout.
 */
const WARM_CONNECTIONS = 2;

export function createDb(options: DbOptions): Db {
  const max = options.poolMax ?? 10;
  return knex({
    client: 'pg',
    connection: options.statementTimeoutMs
      ? { connectionString: options.connectionString, statement_timeout: options.statementTimeoutMs }
      : options.connectionString,
    pool: { min: Math.min(WARM_CONNECTIONS, max), max, idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000 },
    acquireConnectionTimeout: 10_000,
  });
}

const MAX_STATEMENT_NAMES = 500;
const statementNames = new Map<string, string>();

/**
 * A raw query sent as a named prepared statement: Postgres parses and plans it once per
 * connection instead of on every call. For the SCIM hot paths that is most of the database's
 * cost (pgbench shows a prepared lookup many times faster than an unnamed one).
 * SQL text is the key, so a compiled filter shape reuses one statement whatever its values;
 * past MAX_STATEMENT_NAMES distinct texts, queries go unnamed rather than grow every
 * connection's statement cache without bound.
 */
export function preparedRaw(conn: Db | Trx, sql: string, bindings: readonly unknown[] = []) {
  let name = statementNames.get(sql);
  if (!name && statementNames.size < MAX_STATEMENT_NAMES) {
    name = `pis_${createHash('sha1').update(sql).digest('hex').slice(0, 24)}`;
    statementNames.set(sql, name);
  }
  const query = conn.raw(sql, bindings as Knex.RawBinding[]);
  return name ? query.options({ name }) : query;
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
    const migration = require(path.join(MIGRATIONS_DIR, file)) as MigrationModule;
    // A migration may rewrite a large table: the pool's statement timeout is lifted for its own
    // transaction only (SET LOCAL ends with it; every migration here runs in one).
    return {
      up: async (trx: Knex) => {
        await trx.raw('SET LOCAL statement_timeout = 0');
        await migration.up(trx);
      },
      down: async (trx: Knex) => {
        await trx.raw('SET LOCAL statement_timeout = 0');
        await migration.down(trx);
      },
      ...(migration.config ? { config: migration.config } : {}),
    };
  }
}

export async function migrateLatest(db: Db): Promise<void> {
  await db.migrate.latest({ migrationSource: new FolderMigrationSource() });
}

const UNAVAILABLE_SOCKET_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'ENOTFOUND', 'EAI_AGAIN']);
/** SQLSTATEs meaning the server is going away or cannot take us now (class 08: connection exception). */
const UNAVAILABLE_SQLSTATES = new Set(['57P01', '57P02', '57P03', '53300']);

/**
 * True when an error says Postgres cannot be reached right now (down, restarting, refusing
 * connections, pool exhausted), as opposed to a bad query: the edge answers 503, not 500.
 */
export function isDatabaseUnavailable(err: unknown): boolean {
  const e = err as { code?: unknown; name?: unknown; message?: unknown } | null;
  if (!e || typeof e !== 'object') return false;
  if (e.name === 'KnexTimeoutError') return true;
  if (typeof e.code === 'string') {
    if (UNAVAILABLE_SOCKET_CODES.has(e.code) || UNAVAILABLE_SQLSTATES.has(e.code) || e.code.startsWith('08')) return true;
  }
  return typeof e.message === 'string' && /^Connection terminated|connection timeout/i.test(e.message);
}
