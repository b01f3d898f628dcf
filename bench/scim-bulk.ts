import { createDb, createScimClient, migrateLatest } from '../src/directory';
import { createBenchDatabase } from './lib/postgres';
import { check, printTable, writeResult } from './lib/report';
import { startScenario } from './lib/scenario';
import { oktaUser, pool, SCIM_GROUP, ScimClient } from './lib/scim-client';
import { type ScimServerThread, startScimServerThread } from './lib/scim-server-thread';

/**
 * A large import through `/Bulk` (RFC 7644 §3.7) against the same import sent request by
 * request.
 *
 * Method: for each mode, a fresh migrated database and the SCIM server in a worker thread (the
 * real router, auth by a client token looked up by hash, rate limit off: bench/lib/scim-server-thread.ts). The import is BENCH_BULK_USERS users (Okta-shaped bodies) and
 * BENCH_BULK_GROUPS groups, each group holding its share of the users as members:
 * - bulk: one BulkRequest per group, the group's users as POSTs with bulkIds and then the group
 *   as a POST whose members are `bulkId:` references;
 * - single: the same users as POST /Users, then each group as POST /Groups with the users'
 *   ids as members.
 * Both modes keep BENCH_BULK_CONCURRENCY requests in flight (default 4), and the time is the
 * wall time from the first request sent to the last answer read. The run then checks the
 * directory holds exactly the import (users, groups, memberships, outbox rows). Modes run
 * bulk first, then single, each against its own database.
 */

const USERS = Number(process.env.BENCH_BULK_USERS ?? 10_000);
const GROUPS = Number(process.env.BENCH_BULK_GROUPS ?? 100);
const CONCURRENCY = Number(process.env.BENCH_BULK_CONCURRENCY ?? 4);
const BULK_REQUEST = 'urn:ietf:params:scim:api:messages:2.0:BulkRequest';

/** The users of group `g`: an equal share, the last group taking what is left. */
function usersOf(g: number): number[] {
  const share = Math.floor(USERS / GROUPS);
  const first = g * share;
  const last = g === GROUPS - 1 ? USERS : first + share;
  return Array.from({ length: last - first }, (_, i) => first + i);
}

const groupBody = (g: number, members: string[]) => ({ schemas: [SCIM_GROUP], displayName: `bench-group-${g}`, members: members.map((value) => ({ value })) });

async function importBulk(scim: ScimClient): Promise<number> {
  let requests = 0;
  await pool(
    Array.from({ length: GROUPS }, (_, g) => g),
    CONCURRENCY,
    async (g) => {
      const users = usersOf(g);
      const operations = [
        ...users.map((i) => ({ method: 'POST', path: '/Users', bulkId: `u${i}`, data: oktaUser(i) })),
        {
          method: 'POST',
          path: '/Groups',
          bulkId: `g${g}`,
          data: groupBody(
            g,
            users.map((i) => `bulkId:u${i}`),
          ),
        },
      ];
      const answer = await scim.expect<{ Operations: { status: string }[] }>([200], 'POST', '/Bulk', { schemas: [BULK_REQUEST], Operations: operations });
      requests++;
      const failed = answer.body.Operations.filter((o) => o.status !== '201');
      if (failed.length || answer.body.Operations.length !== operations.length)
        throw new Error(`bulk for group ${g}: ${JSON.stringify(failed[0] ?? answer.body).slice(0, 300)}`);
    },
  );
  return requests;
}

async function importSingle(scim: ScimClient): Promise<number> {
  const ids: string[] = new Array(USERS);
  await pool(
    Array.from({ length: USERS }, (_, i) => i),
    CONCURRENCY,
    async (i) => {
      ids[i] = (await scim.expect<{ id: string }>([201], 'POST', '/Users', oktaUser(i))).body.id;
    },
  );
  await pool(
    Array.from({ length: GROUPS }, (_, g) => g),
    CONCURRENCY,
    async (g) => {
      await scim.expect(
        [201],
        'POST',
        '/Groups',
        groupBody(
          g,
          usersOf(g).map((i) => ids[i]!),
        ),
      );
    },
  );
  return USERS + GROUPS;
}

async function run(mode: 'bulk' | 'single'): Promise<Record<string, string | number>> {
  const database = await createBenchDatabase(`scim_bulk_${mode}`);
  const db = createDb({ connectionString: database.url, poolMax: 2 });
  let server: ScimServerThread | undefined;
  try {
    await migrateLatest(db);
    const { token } = await createScimClient(db, 'bench');
    server = await startScimServerThread(database.url);
    const scim = new ScimClient(server.base, token);
    const started = performance.now();
    const requests = mode === 'bulk' ? await importBulk(scim) : await importSingle(scim);
    const seconds = (performance.now() - started) / 1000;
    const counts = (
      await db.raw(`SELECT (SELECT count(*) FROM users)::int AS users, (SELECT count(*) FROM groups)::int AS groups,
                           (SELECT count(*) FROM group_members)::int AS members, (SELECT count(*) FROM outbox)::int AS outbox`)
    ).rows[0] as { users: number; groups: number; members: number; outbox: number };
    // user.created per user, group.created and group.members_changed per group.
    const expected = { users: USERS, groups: GROUPS, members: USERS, outbox: USERS + 2 * GROUPS };
    if (JSON.stringify(counts) !== JSON.stringify(expected))
      throw new Error(`${mode} import left ${JSON.stringify(counts)}, expected ${JSON.stringify(expected)}`);
    const round = (n: number) => Math.round(n * 100) / 100;
    return { mode, requests, seconds: round(seconds), usersPerSecond: Math.round(USERS / seconds) };
  } finally {
    await server?.stop();
    await db.destroy();
    await database.drop();
  }
}

async function main(): Promise<void> {
  process.stdout.write(`importing ${USERS} users and ${GROUPS} groups, ${CONCURRENCY} requests in flight...\n`);
  const bulk = await run('bulk');
  const single = await run('single');
  const speedup = Math.round(((single.seconds as number) / (bulk.seconds as number)) * 100) / 100;
  printTable(`import of ${USERS} users and ${GROUPS} groups (wall time)`, [bulk, single]);
  const goals = [check('bulk import faster than the same import request by request', speedup, (v) => v > 1)];
  printTable(
    'goals',
    goals.map((g) => ({ goal: g.goal, measured: g.measured, met: g.met })),
  );
  writeResult('scim-bulk', {
    method:
      'SCIM server in a worker thread (real router, client-token auth, rate limit off), a fresh database per mode; ' +
      `bulk: ${GROUPS} BulkRequests, each a group's users as POSTs with bulkIds then the group with bulkId members; ` +
      `single: ${USERS} POST /Users then ${GROUPS} POST /Groups with member ids; ${CONCURRENCY} requests in flight; wall time; ` +
      'the directory checked afterwards (users, groups, memberships, outbox rows)',
    users: USERS,
    groups: GROUPS,
    concurrency: CONCURRENCY,
    figures: [bulk, single],
    speedup,
    goals,
  });
}

startScenario('scim-bulk', main);
