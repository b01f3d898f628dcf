import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from '../../src/app';
import type { Db } from '../../src/directory';
import { createLogger, type Logger } from '../../src/log';
import { createScimRouter, type RateLimit } from '../../src/scim';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/**
 * A real SCIM server for one test file: its own migrated database, the app as the daemon
 * builds it (createApp + the SCIM mount), listening on an ephemeral port.
 */

export const BOOTSTRAP_TOKEN = 'bootstrap-token-for-tests-0123456789';
export const SCIM_JSON = 'application/scim+json; charset=utf-8';

export interface ScimResponse {
  status: number;
  headers: Headers;
  body: any; // eslint-disable-line @typescript-eslint/no-explicit-any
  text: string;
}

export interface TestScimServer {
  url: string;
  base: string;
  db: Db;
  /** JSON request with the bootstrap token (override headers to test auth). */
  request(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ScimResponse>;
  /** Outbox rows, oldest first. */
  outbox(): Promise<{ kind: string; payload: any; request_id: string | null }[]>; // eslint-disable-line @typescript-eslint/no-explicit-any
  close(): Promise<void>;
}

/**
 * `tokenCacheMs` defaults to 0 here, so each request checks the database and revocation tests
 * see its effect at once; the cache has its own test.
 */
export async function startScimServer(options: { logger?: Logger; rateLimit?: RateLimit | false; tokenCacheMs?: number } = {}): Promise<TestScimServer> {
  const database: TestDatabase = await createTestDatabase();
  const logger = options.logger ?? createLogger({ silent: true });
  const router = createScimRouter({
    db: database.db,
    logger,
    config: { SCIM_BEARER_TOKEN: BOOTSTRAP_TOKEN, SCIM_MAX_BODY: '64kb', PUBLIC_URL: undefined },
    rateLimit: options.rateLimit ?? false,
    tokenCacheMs: options.tokenCacheMs ?? 0,
  });
  const app = createApp({ logger, readiness: {}, mounts: [{ path: '/scim/v2', router }] });
  const server = createHttpServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const base = `${url}/scim/v2`;
  return {
    url,
    base,
    db: database.db,
    async request(method, path, body, headers = {}) {
      const res = await fetch(path.startsWith('http') ? path : `${base}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${BOOTSTRAP_TOKEN}`,
          ...(body !== undefined ? { 'content-type': 'application/scim+json; charset=utf-8' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        parsed = undefined;
      }
      return { status: res.status, headers: res.headers, body: parsed, text };
    },
    async outbox() {
      return database.db('outbox').select('kind', 'payload', 'request_id').orderBy('id');
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await database.drop();
    },
  };
}

/**
 * Runs `fn` while a deferred constraint trigger makes COMMIT fail for any transaction that
 * appends a `kind` outbox row about `groupId`: the write and its outbox row are both made,
 * then refused at commit.
 */
export async function withFailingCommit(db: Db, groupId: string, kind: string, fn: () => Promise<void>): Promise<void> {
  await db.raw(`
    CREATE FUNCTION fail_commit() RETURNS trigger LANGUAGE plpgsql AS $$
    BEGIN RAISE EXCEPTION 'commit refused by test'; END $$;
    CREATE CONSTRAINT TRIGGER fail_commit_for_group AFTER INSERT ON outbox DEFERRABLE INITIALLY DEFERRED
      FOR EACH ROW WHEN (NEW.payload ->> 'groupId' = '${groupId}' AND NEW.kind = '${kind}') EXECUTE FUNCTION fail_commit();`);
  try {
    await fn();
  } finally {
    await db.raw('DROP TRIGGER fail_commit_for_group ON outbox; DROP FUNCTION fail_commit();');
  }
}
