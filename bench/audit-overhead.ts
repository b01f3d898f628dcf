import { readFileSync } from 'node:fs';
import path from 'node:path';
import { createDb, migrateLatest } from '../src/directory/db';
import { startEmulator } from '../src/emulator';
import { createPulumiClient } from '../src/pulumi';
import { applyPlan, type Op } from '../src/reconcile';
import { createBenchDatabase } from './lib/postgres';
import { check, printTable, writeResult } from './lib/report';

/**
 * What the chained audit log (docs/audit.md) costs a reconcile: the apply stage, where all of
 * its appends happen, run against the in-process Pulumi emulator (20 ms per call as in the
 * initial push; 0 ms makes the daemon's own work the bottleneck: the worst case), with this tree's `applyPlan` (intents, outcomes,
 * hash chain) and with the one of a build of the code before the chain (`BENCH_BASE_DIST`, e.g.
 * a `tsc` build of the commit before it: one audit insert per plan, no chain). The two run in
 * turns in one process, each on a fresh migrated database, so they share the machine's load.
 * Reads of desired and actual state are left out, so the share measured is an upper bound of
 * the share in a whole reconcile. Each run also reports CPU per op, of this process and of the
 * run database's Postgres backends (read from /proc, so only when Postgres runs on this host):
 * on a busy machine it moves less than throughput does.
 * Env: BENCH_BASE_DIST (required), BENCH_TEAMS, BENCH_MEMBERS, BENCH_PARALLEL, BENCH_ROUNDS,
 * BENCH_PULUMI_LATENCY_MS.
 */

const TEAMS = Number(process.env.BENCH_TEAMS ?? 40);
const MEMBERS = Number(process.env.BENCH_MEMBERS ?? 100);
const PARALLEL = Number(process.env.BENCH_PARALLEL ?? 8);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const LATENCY_MS = Number(process.env.BENCH_PULUMI_LATENCY_MS ?? 20);
const ORG = 'acme';

interface Variant {
  name: string;
  applyPlan: typeof applyPlan;
  migrateLatest: typeof migrateLatest;
}

function loadBase(dir: string): Variant {
  // The base build is another copy of this project: loaded by path at run time.
  const reconcile = require(path.resolve(dir, 'src/reconcile')) as { applyPlan: typeof applyPlan };
  const db = require(path.resolve(dir, 'src/directory/db')) as { migrateLatest: typeof migrateLatest };
  return { name: 'before the chain', applyPlan: reconcile.applyPlan, migrateLatest: db.migrateLatest };
}

function planOf(team: number): Op[] {
  const name = `t${String(team).padStart(3, '0')}`;
  return [
    { kind: 'createTeam', team: name, displayName: name, description: '' },
    ...Array.from(
      { length: MEMBERS },
      (_, m): Op => ({ kind: 'addMember', team: name, login: `user${m}`, userId: `00000000-0000-4000-8000-${String(m).padStart(12, '0')}` }),
    ),
    { kind: 'addGrant', team: name, projectName: 'infra', stackName: 'dev', permission: 102 },
  ];
}

/** CPU seconds (user + system) of this database's Postgres backends, by pid: the server's share of a run. */
async function backendCpu(db: ReturnType<typeof createDb>): Promise<Map<number, number>> {
  const pids = (await db.raw('SELECT pid FROM pg_stat_activity WHERE datname = current_database()')).rows as Array<{ pid: number }>;
  const cpu = new Map<number, number>();
  for (const { pid } of pids) {
    try {
      // Fields 14 and 15 of /proc/<pid>/stat (after the parenthesised name): utime and stime in clock ticks (100 per second).
      const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
      cpu.set(pid, (Number(fields[11]) + Number(fields[12])) / 100);
    } catch {
      // Postgres on another host: the server's CPU is not measured.
    }
  }
  return cpu;
}

interface RunResult {
  ops: number;
  seconds: number;
  opsPerSec: number;
  auditRows: number;
  /** CPU milliseconds per op: this process (applyPlan, client and emulator) and the database's backends. */
  nodeCpuMsPerOp: number;
  pgCpuMsPerOp: number;
}

async function run(variant: Variant): Promise<RunResult> {
  const database = await createBenchDatabase('auditoverhead');
  const db = createDb({ connectionString: database.url, poolMax: PARALLEL + 2 });
  const emulator = await startEmulator({ org: ORG, seed: { members: Array.from({ length: MEMBERS }, (_, m) => `user${m}`), stacks: ['infra/dev'] } });
  if (LATENCY_MS > 0) emulator.faults.add({ path: '/api/**', kind: 'latency', latencyMs: LATENCY_MS });
  try {
    await variant.migrateLatest(db);
    const client = createPulumiClient({ baseUrl: emulator.url, accessToken: emulator.accessToken, maxRps: 1_000_000, maxConcurrency: 64 });
    const plans = Array.from({ length: TEAMS }, (_, t) => planOf(t));
    const pgBefore = await backendCpu(db);
    const cpuBefore = process.cpuUsage();
    const started = performance.now();
    const lanes = Array.from({ length: PARALLEL }, async () => {
      for (let plan = plans.shift(); plan; plan = plans.shift()) {
        await variant.applyPlan(
          { db, client, org: ORG, audit: { category: 'reconcile', reason: 'bench' }, planTeam: (plan[0] as { team: string }).team },
          plan,
        );
      }
    });
    await Promise.all(lanes);
    const seconds = (performance.now() - started) / 1000;
    const cpu = process.cpuUsage(cpuBefore);
    const pgAfter = await backendCpu(db);
    const pgSeconds = [...pgAfter].reduce((sum, [pid, after]) => sum + after - (pgBefore.get(pid) ?? 0), 0);
    const ops = TEAMS * (MEMBERS + 2);
    const auditRows = Number((await db('audit_log').count({ n: '*' }).first())?.n);
    return {
      ops,
      seconds,
      opsPerSec: ops / seconds,
      auditRows,
      nodeCpuMsPerOp: (cpu.user + cpu.system) / 1000 / ops,
      pgCpuMsPerOp: (pgSeconds * 1000) / ops,
    };
  } finally {
    await emulator.stop();
    await db.destroy();
    await database.drop();
  }
}

async function main(): Promise<void> {
  const baseDir = process.env.BENCH_BASE_DIST;
  if (!baseDir) throw new Error('BENCH_BASE_DIST: the dist/ of a build of the code before the chained audit log');
  const variants: Variant[] = [loadBase(baseDir), { name: 'chained audit', applyPlan, migrateLatest }];
  const runs: Array<{ variant: string; round: number } & RunResult> = [];
  for (let round = 1; round <= ROUNDS; round++) {
    // Alternate which goes first, so a drift in the machine's load does not favour one.
    for (const variant of round % 2 ? variants : [...variants].reverse()) {
      const result = await run(variant);
      runs.push({ variant: variant.name, round, ...result });
      process.stdout.write(
        `${variant.name} round ${round}: ${result.opsPerSec.toFixed(0)} ops/s, CPU ${result.nodeCpuMsPerOp.toFixed(3)} + ${result.pgCpuMsPerOp.toFixed(3)} ms/op (${result.auditRows} audit rows)\n`,
      );
    }
  }
  const median = (name: string, figure: (r: RunResult) => number) => {
    const values = runs
      .filter((r) => r.variant === name)
      .map(figure)
      .sort((a, b) => a - b);
    return values[Math.floor(values.length / 2)];
  };
  const base = median(variants[0].name, (r) => r.opsPerSec);
  const chained = median(variants[1].name, (r) => r.opsPerSec);
  const cost = 1 - chained / base;
  // CPU per op moves less with the machine's load than throughput does.
  const cpuOf = (name: string) => median(name, (r) => r.nodeCpuMsPerOp + r.pgCpuMsPerOp);
  const cpuCost = 1 - cpuOf(variants[0].name) / cpuOf(variants[1].name);
  printTable(`Apply throughput, ${TEAMS} teams × ${MEMBERS + 2} ops, ${PARALLEL} at once, Pulumi emulator +${LATENCY_MS} ms`, [
    { figure: 'before the chain, median ops/s', value: base },
    { figure: 'chained audit, median ops/s', value: chained },
    { figure: 'throughput lost to the audit log', value: `${(cost * 100).toFixed(1)} %` },
    { figure: 'before the chain, median CPU ms/op (node + Postgres)', value: cpuOf(variants[0].name) },
    { figure: 'chained audit, median CPU ms/op (node + Postgres)', value: cpuOf(variants[1].name) },
    { figure: 'share of CPU per op the audit log adds', value: `${(cpuCost * 100).toFixed(1)} %` },
  ]);
  writeResult(`audit-overhead-${LATENCY_MS}ms`, {
    settings: { TEAMS, MEMBERS, PARALLEL, ROUNDS, LATENCY_MS },
    runs,
    medianOpsPerSec: { base, chained },
    cost,
    medianCpuMsPerOp: { base: cpuOf(variants[0].name), chained: cpuOf(variants[1].name) },
    cpuCost,
    goals: [check('chained audit costs <= 10 % of reconcile throughput', cost, (v) => v <= 0.1)],
  });
}

main().catch((err: unknown) => {
  process.stderr.write(`audit-overhead failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
