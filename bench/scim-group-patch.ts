import http from 'node:http';
import { createDb, createScimClient, migrateLatest } from '../src/directory';
import { cannon } from './lib/cannon';
import { createBenchDatabase } from './lib/postgres';
import { check, printTable, writeResult } from './lib/report';
import { startScenario } from './lib/scenario';
import { type ScimServerThread, startScimServerThread } from './lib/scim-server-thread';
import { summarize } from './lib/stats';

/**
 * SCIM group-membership PATCH scaling and userName lookup throughput.
 *
 * Method: a fresh database with 50,000 + 1,000 users and three groups of 100, 10,000 and
 * 50,000 members (seeded in SQL, then VACUUM ANALYZE). The SCIM server runs in a worker thread
 * (its own event loop, the real router, auth by a client token looked up by hash, rate limiting
 * off), the measuring client in the main thread. Every PATCH is Okta's single-member form: `add`
 * of a spare non-member, then `remove` of that same member (`members[value eq "..."]`), so each
 * group stays at its size. Each latency is the client-side round trip (request sent → 204 read),
 * including the outbox row and the commit.
 *
 * Phases: (1) cold — the first 1,000 PATCHes after the server starts, on the 50,000-member group,
 * reported on their own: a JIT runtime and a fresh Postgres backend are slower for their first
 * few thousand calls; (2) 1,000 more PATCHes spread over the groups, not measured; (3) steady —
 * 1,000 PATCHes per group, interleaved (one add/remove pair per group in turn) so that every size
 * is measured in the same state of the server; before, the groups ran one after the other and
 * whichever came first carried the warm-up; (4) after a quiet spell — the first PATCH after 35 s
 * without requests (longer than the database pool's idle timeout), as an IdP's sparse writes
 * meet the server, `BENCH_QUIET_SPELLS` times (default 3). Then autocannon runs
 * `GET /Users?filter=userName eq "<random user>"` for 10 s with 16 connections.
 *
 * Goal: single-member PATCH p99 ≤ 5 ms at 50,000 members.
 */

const SIZES = [100, 10_000, 50_000];
const SPARE_USERS = 1_000;
const COLD = 1_000;
const WARMUP = 1_000;
const MEASURED = 1_000;
/** Quiet spells measured, each longer than the database pool's 30 s idle timeout. */
const QUIET_SPELLS = Number(process.env.BENCH_QUIET_SPELLS ?? 3);
const QUIET_MS = 35_000;
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

async function main(): Promise<void> {
  const database = await createBenchDatabase('scim_patch');
  const db = createDb({ connectionString: database.url, poolMax: 4 });
  let server: ScimServerThread | undefined;
  try {
    await migrateLatest(db);
    const totalUsers = Math.max(...SIZES) + SPARE_USERS;
    process.stdout.write(`seeding ${totalUsers} users and groups of ${SIZES.join(', ')} members...\n`);
    await db.raw(
      `INSERT INTO users (user_name, resource, created_at)
       SELECT 'bench.user.' || i || '@example.com', jsonb_build_object('displayName', 'Bench User ' || i), now() + i * interval '1 microsecond'
         FROM generate_series(1, ?) AS i`,
      [totalUsers],
    );
    const groupIds: Record<number, string> = {};
    for (const size of SIZES) {
      const { rows } = await db.raw(`INSERT INTO groups (display_name) VALUES (?) RETURNING id`, [`bench-${size}`]);
      groupIds[size] = rows[0].id;
      await db.raw(
        `INSERT INTO group_members (group_id, user_id)
         SELECT ?, id FROM users ORDER BY created_at LIMIT ?`,
        [rows[0].id, size],
      );
    }
    await db.raw('VACUUM ANALYZE');
    const spare: string[] = (await db.raw(`SELECT id FROM users ORDER BY created_at DESC LIMIT ?`, [SPARE_USERS])).rows.map((r: { id: string }) => r.id);
    const { token } = await createScimClient(db, 'bench');

    server = await startScimServerThread(database.url);
    const base = server.base;
    const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' };

    // node:http on a keep-alive connection: the client shares the 2 cores with the server and
    // Postgres, so the lightest client disturbs the measured round trip least.
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
    const patch = (groupId: string, operation: unknown): Promise<number> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify({ schemas: [PATCH_URN], Operations: [operation] });
        const started = process.hrtime.bigint();
        const req = http.request(
          `${base}/Groups/${groupId}`,
          { method: 'PATCH', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } },
          (res) => {
            res.resume();
            res.on('end', () => {
              const ms = Number(process.hrtime.bigint() - started) / 1e6;
              if (res.statusCode !== 204) reject(new Error(`PATCH answered ${res.statusCode}`));
              else resolve(ms);
            });
          },
        );
        req.on('error', reject);
        req.end(body);
      });

    // One add/remove pair of spare user number `i` on a group; returns both round trips.
    const pair = async (groupId: string, i: number): Promise<[number, number]> => {
      const userId = spare[i % spare.length]!;
      const a = await patch(groupId, { op: 'add', path: 'members', value: [{ value: userId }] });
      const r = await patch(groupId, { op: 'remove', path: `members[value eq "${userId}"]` });
      return [a, r];
    };
    const round2 = (ms: number) => Math.round(ms * 100) / 100;
    const summarise = (label: Record<string, string | number>, samples: number[]): Record<string, string | number> => {
      const { n, p50, p99, max } = summarize(samples);
      return { ...label, n, p50ms: round2(p50), p99ms: round2(p99), maxms: round2(max) };
    };

    const largest = Math.max(...SIZES);
    const cold: number[] = [];
    for (let i = 0; i < COLD / 2; i++) cold.push(...(await pair(groupIds[largest]!, i)));
    for (let i = 0; i < WARMUP / 2; i++) await pair(groupIds[SIZES[i % SIZES.length]!]!, i);
    const add = new Map<number, number[]>(SIZES.map((size) => [size, []]));
    const remove = new Map<number, number[]>(SIZES.map((size) => [size, []]));
    for (let i = 0; i < MEASURED / 2; i++) {
      for (const size of SIZES) {
        const [a, r] = await pair(groupIds[size]!, i);
        add.get(size)!.push(a);
        remove.get(size)!.push(r);
      }
    }
    const figures: Record<string, string | number>[] = [];
    for (const size of SIZES) {
      const members = (await db.raw('SELECT count(*)::int AS n FROM group_members WHERE group_id = ?', [groupIds[size]])).rows[0].n;
      if (members !== size) throw new Error(`group of ${size} ended with ${members} members`);
      const adds = add.get(size)!;
      const removes = remove.get(size)!;
      figures.push(summarise({ phase: 'steady', members: size, op: 'add' }, adds));
      figures.push(summarise({ phase: 'steady', members: size, op: 'remove' }, removes));
      figures.push(summarise({ phase: 'steady', members: size, op: 'both' }, [...adds, ...removes]));
    }
    const coldFigure = summarise({ phase: 'cold', members: largest, op: 'both' }, cold);
    printTable(`first ${COLD} PATCHes after the server started (cold)`, [coldFigure]);

    const afterQuiet: Record<string, string | number>[] = [];
    for (let q = 0; q < QUIET_SPELLS; q++) {
      await new Promise((resolve) => setTimeout(resolve, QUIET_MS));
      const [first, second] = await pair(groupIds[largest]!, q);
      afterQuiet.push({ spell: q + 1, quietS: QUIET_MS / 1000, firstMs: round2(first), secondMs: round2(second) });
    }
    if (afterQuiet.length > 0) printTable(`first PATCH after ${QUIET_MS / 1000} s without requests (${largest} members)`, afterQuiet);
    printTable('single-member group PATCH, steady (sequential, interleaved across groups, client-side round trip)', figures);

    const lookup = cannon({
      url: base,
      method: 'GET',
      headers: { authorization: `Bearer ${token}` },
      connections: 16,
      durationSec: 10,
      next: () => ({
        path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "bench.user.${1 + Math.floor(Math.random() * totalUsers)}@example.com"`)}`,
      }),
    });
    const lookupResult = await lookup.result;
    printTable('userName eq lookup (autocannon, 16 connections, 10 s)', [
      {
        rps: Math.round(lookupResult.rps),
        p50ms: lookupResult.p50ms,
        p99ms: lookupResult.p99ms,
        requests: lookupResult.requests,
        non2xx: lookupResult.non2xx,
        errors: lookupResult.errors,
      },
    ]);

    const p99At50k = figures.find((f) => f.members === 50_000 && f.op === 'both')!.p99ms as number;
    const goals = [check('single-member PATCH p99 ≤ 5 ms at 50,000 members (steady)', p99At50k, (v) => v <= 5)];
    printTable(
      'goals',
      goals.map((g) => ({ goal: g.goal, measured: g.measured, met: g.met })),
    );
    writeResult('scim-group-patch', {
      method:
        'SCIM server in a worker thread (real router, client-token auth, rate limit off), fresh database seeded in SQL then VACUUM ANALYZE; ' +
        `cold: the first ${COLD} PATCHes after start on the ${largest}-member group; then ${WARMUP} unmeasured; ` +
        `steady: ${MEASURED} sequential single-member PATCHes per group, add/remove pairs of one spare user interleaved across groups; ` +
        `after quiet: the first add/remove pair after ${QUIET_MS / 1000} s without requests, ${QUIET_SPELLS} times; ` +
        'latency = client-side round trip (node:http keep-alive client); lookup = autocannon GET filter=userName eq "<random>" 16 connections 10 s',
      patch: figures,
      cold: coldFigure,
      afterQuiet,
      lookup: lookupResult,
      goals,
    });
  } finally {
    await server?.stop();
    await db.destroy();
    await database.drop();
  }
}

startScenario('scim-group-patch', main);
