import { createDb, createScimClient } from '../src/directory';
import { cannon, type CannonResult } from './lib/cannon';
import { createBenchDatabase } from './lib/postgres';
import { startAnnouncingProcess } from './lib/processes';
import { check, printTable, writeResult, type GoalCheck } from './lib/report';
import { oktaUser, pool, ScimClient } from './lib/scim-client';
import { benchPolicy, startStack } from './lib/stack';
import { ratio } from './lib/stats';

/**
 * SCIM throughput and latency: `filter=userName eq` lookups, user creates and
 * Okta-style whole-user PUTs, driven by autocannon against (1) the daemon, (2) the peer —
 * Ory Polis directory sync on the same Postgres server — and (3) a bare node:http server
 * answering a fixed ListResponse: the machine's limit. Each server is its own Node process.
 *
 * The daemon limits each SCIM client to 200 req/s (burst 1000) by design, so one client — the
 * way one Okta app talks — is measured, and so is the server's capacity with the load spread
 * over BENCH_CLIENTS SCIM clients (each its own bearer token, round-robin per request); the
 * ratios use the latter.
 *
 * Env: BENCH_SCIM_USERS (users loaded before measuring, default 2000), BENCH_DURATION_SEC
 * (per measurement, default 10), BENCH_CONNECTIONS (default 32), BENCH_CLIENTS (default 32).
 */

const USERS = Number(process.env.BENCH_SCIM_USERS ?? 2000);
const DURATION = Number(process.env.BENCH_DURATION_SEC ?? 10);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 32);
const WARMUP_SEC = 2;

type Op = 'lookup' | 'create' | 'put';

interface Target {
  name: string;
  base: string;
  scim: ScimClient;
  /** Bearer tokens to rotate through per request; the client's own when absent. */
  tokens?: string[];
}

async function load(target: Target, prefix: string): Promise<string[]> {
  const ids: string[] = new Array(USERS);
  await pool(
    Array.from({ length: USERS }, (_, i) => i),
    16,
    async (i) => {
      const answer = await target.scim.createUser(oktaUser(i, `${prefix}.test`));
      ids[i] = answer.body.id;
    },
  );
  return ids;
}

async function measure(target: Target, op: Op, ids: string[], domain: string, run: string): Promise<CannonResult> {
  const url = new URL(target.base);
  const basePath = url.pathname;
  let counter = 0;
  const next = (): { path: string; body?: string; headers?: Record<string, string> } => {
    counter += 1;
    const headers = target.tokens ? { authorization: `Bearer ${target.tokens[counter % target.tokens.length]}` } : undefined;
    return { ...request(), headers };
  };
  const request = (): { path: string; body?: string } => {
    if (op === 'lookup') {
      const i = Math.floor(Math.random() * USERS);
      return { path: `${basePath}/Users?filter=${encodeURIComponent(`userName eq "user${i}@${domain}"`)}&startIndex=1&count=100` };
    }
    if (op === 'create') {
      return { path: `${basePath}/Users`, body: JSON.stringify(oktaUser(1_000_000 + counter, `${run}.${domain}`)) };
    }
    const i = counter % USERS;
    const user = { ...oktaUser(i, domain), id: ids[i], displayName: `Renamed ${counter}` };
    return { path: `${basePath}/Users/${ids[i]}`, body: JSON.stringify(user) };
  };
  const method = op === 'lookup' ? 'GET' : op === 'create' ? 'POST' : 'PUT';
  await cannon({ url: url.origin, method, headers: target.scim.headers, next, connections: CONNECTIONS, durationSec: WARMUP_SEC }).result;
  return cannon({ url: url.origin, method, headers: target.scim.headers, next, connections: CONNECTIONS, durationSec: DURATION }).result;
}

async function main(): Promise<void> {
  const results: Record<string, Partial<Record<Op, CannonResult>>> = {};
  const notes: string[] = [];

  const limitProc = await startAnnouncingProcess<{ port: number }>('bench/lib/limit-server.js', {}, 'limit');
  try {
    const base = `http://127.0.0.1:${limitProc.announced.port}/scim/v2`;
    const limit: Target = { name: 'limit', base, scim: new ScimClient(base, 'unused') };
    results.limit = { lookup: await measure(limit, 'lookup', [], 'example.test', 'limit') };
  } finally {
    await limitProc.process.stop();
  }

  const stack = await startStack({ label: 'scimtp', seed: {}, policy: benchPolicy(), pulumiLatencyMs: 0 });
  try {
    const daemon: Target = { name: 'daemon', base: stack.scim.base, scim: stack.scim };
    const ids = await load(daemon, 'daemon');
    const db = createDb({ connectionString: stack.db.url, poolMax: 1 });
    const tokens: string[] = [];
    try {
      for (let i = 0; i < CLIENTS; i++) tokens.push((await createScimClient(db, `bench-${i}`)).token);
    } finally {
      await db.destroy();
    }
    const spread: Target = { ...daemon, name: `daemon, ${CLIENTS} clients`, tokens };
    results.daemon = {};
    results.daemon1 = {};
    for (const op of ['lookup', 'create', 'put'] as Op[]) {
      results.daemon[op] = await measure(spread, op, ids, 'daemon.test', 'd');
      results.daemon1[op] = await measure(daemon, op, ids, 'daemon.test', 'd1');
    }
  } catch (err) {
    notes.push(`daemon: ${(err as Error).message}`);
  } finally {
    await stack.stop();
  }

  const peerDb = await createBenchDatabase('peer');
  try {
    const peerProc = await startAnnouncingProcess<{ base: string; token: string }>('bench/lib/peer-server.js', { PEER_DATABASE_URL: peerDb.url }, 'peer');
    try {
      const peer: Target = { name: 'peer', base: peerProc.announced.base, scim: new ScimClient(peerProc.announced.base, peerProc.announced.token) };
      const ids = await load(peer, 'peer');
      results.peer = {};
      for (const op of ['lookup', 'create', 'put'] as Op[]) results.peer[op] = await measure(peer, op, ids, 'peer.test', 'p');
    } finally {
      await peerProc.process.stop();
    }
  } catch (err) {
    notes.push(`peer: ${(err as Error).message}`);
  } finally {
    await peerDb.drop();
  }

  const label: Record<string, string> = {
    daemon: `daemon (${CLIENTS} SCIM clients)`,
    daemon1: 'daemon (1 SCIM client, 200/s limit)',
    peer: 'peer (Ory Polis dsync)',
    limit: 'limit (bare node:http)',
  };
  const rows = (['daemon', 'daemon1', 'peer', 'limit'] as const).flatMap((server) =>
    (['lookup', 'create', 'put'] as Op[])
      .filter((op) => results[server]?.[op])
      .map((op) => {
        const r = results[server]![op]!;
        return {
          server: label[server],
          op,
          '2xx/s': r.rps,
          'all/s': r.allRps,
          'p50 ms': r.p50ms,
          'p99 ms': r.p99ms,
          requests: r.requests,
          non2xx: r.non2xx,
          errors: r.errors,
        };
      }),
  );
  const rps = (server: string, op: Op) => results[server]?.[op]?.rps ?? Number.NaN;
  const ratios = {
    lookupVsPeer: ratio(rps('daemon', 'lookup'), rps('peer', 'lookup')),
    lookupVsLimit: ratio(rps('daemon', 'lookup'), rps('limit', 'lookup')),
    createVsPeer: ratio(rps('daemon', 'create'), rps('peer', 'create')),
    putVsPeer: ratio(rps('daemon', 'put'), rps('peer', 'put')),
  };
  const goals: GoalCheck[] = [
    check('lookups >= 5x peer', ratios.lookupVsPeer, (v) => v >= 5),
    check('lookups >= 25% of limit', ratios.lookupVsLimit, (v) => v >= 0.25),
    check('creates >= 4x peer', ratios.createVsPeer, (v) => v >= 4),
  ];
  printTable(`SCIM throughput (${CONNECTIONS} connections, ${DURATION}s each, ${USERS} users loaded)`, rows);
  printTable('Ratios and goals', [
    ...Object.entries(ratios).map(([k, v]) => ({ figure: k, value: v })),
    ...goals.map((g) => ({ figure: g.goal, value: g.measured, met: g.met })),
  ]);
  for (const note of notes) process.stdout.write(`NOTE ${note}\n`);
  writeResult('scim-throughput', { settings: { USERS, DURATION, CONNECTIONS, CLIENTS, WARMUP_SEC }, labels: label, results, ratios, goals, notes });
  if (notes.length) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`scim-throughput failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
