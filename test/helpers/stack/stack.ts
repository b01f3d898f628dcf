import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, type Emulator, type EmulatorSeed } from '../../../src/emulator';
import { createBenchDatabase, type BenchDatabase } from './postgres';
import { freePort, startNodeProcess, startPrivateRedis, tailLog, waitFor, type NodeProcess, type PrivateRedis } from './processes';
import { startPulumiTap, type PulumiTap } from './pulumi-tap';
import { ScimClient } from './scim-client';

/**
 * Everything one benchmark or chaos run needs, started fresh and torn down afterwards:
 * a new database on the shared Postgres server, a private redis-server, the Pulumi emulator
 * (in this process, with an injected per-call latency) behind a timestamping tap, and the
 * daemon as a child process (`node dist/src/main.js`), optionally with separate worker
 * processes (`node dist/workers/main.js`).
 */

export const BENCH_ORG = 'acme';

export interface StackOptions {
  label: string;
  seed: EmulatorSeed;
  /** The policy document (written to a temp file as JSON, which is valid YAML). */
  policy: Record<string, unknown>;
  /** Latency added to every Pulumi call. @defaultValue 20 */
  pulumiLatencyMs?: number;
  /** Extra worker processes; when > 0 the daemon runs with RUN_WORKERS=false. @defaultValue 0 */
  workers?: number;
  /** Redis to use instead of a private one (chaos tests pass their own to stop it). */
  redis?: PrivateRedis;
  /** Postgres database to use instead of a fresh one on the shared server. */
  databaseUrl?: string;
  /** Compiled entries (benchmarks) or TypeScript sources (tests). @defaultValue dist, or BENCH_MODE */
  mode?: 'dist' | 'source';
  env?: Record<string, string>;
}

export interface Stack {
  daemon: NodeProcess;
  workers: NodeProcess[];
  daemonUrl: string;
  scim: ScimClient;
  admin: AdminClient;
  emulator: Emulator;
  tap: PulumiTap;
  redis: PrivateRedis;
  db: BenchDatabase;
  /** The environment the daemon runs with (to start more workers). */
  env: Record<string, string>;
  startWorker(name?: string): NodeProcess;
  stop(): Promise<void>;
}

export function benchPolicy(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    organization: BENCH_ORG,
    identity: { login: 'userNameLocalPart' },
    teams: [{ groupPattern: '^pulumi-(?<team>[a-z0-9-]+)$', stacks: [{ project: '*', stack: 'dev', permission: 'write' }] }],
    tokens: { revokeWhenCreatorLeaves: true },
    reconcile: { every: '1h' },
    // The scenarios measure the pipeline under bulk churn; the guard against mass change, which
    // would hold that churn for an admin, has tests of its own (test/reconcile/holds.test.ts).
    safety: { maxRemovals: 1_000_000 },
    ...extra,
  };
}

export async function startStack(options: StackOptions): Promise<Stack> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const cleanup = async () => {
    for (const step of cleanups.reverse()) await step().catch(() => undefined);
  };
  try {
    const db: BenchDatabase = options.databaseUrl
      ? { url: options.databaseUrl, name: new URL(options.databaseUrl).pathname.slice(1), drop: async () => undefined }
      : await createBenchDatabase(options.label);
    cleanups.push(() => db.drop());
    const redis = options.redis ?? (await startPrivateRedis());
    if (!options.redis) cleanups.push(() => redis.stop());
    const emulator = await startEmulator({ seed: options.seed, org: BENCH_ORG });
    cleanups.push(() => emulator.stop());
    const latency = options.pulumiLatencyMs ?? 20;
    if (latency > 0) emulator.faults.add({ path: '/api/**', kind: 'latency', latencyMs: latency });
    const tap = await startPulumiTap(emulator.url);
    cleanups.push(() => tap.stop());

    const dir = mkdtempSync(path.join(os.tmpdir(), `pis-${options.label}-`));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const policyFile = path.join(dir, 'sync.yaml');
    writeFileSync(policyFile, JSON.stringify(options.policy, null, 2));
    const port = await freePort();
    const scimToken = `scim-${randomBytes(16).toString('hex')}`;
    const adminToken = `admin-${randomBytes(16).toString('hex')}`;
    const env: Record<string, string> = {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATABASE_URL: db.url,
      REDIS_URL: redis.url,
      PULUMI_BACKEND_URL: tap.url,
      PULUMI_ACCESS_TOKEN: emulator.accessToken,
      PULUMI_ORG: BENCH_ORG,
      SYNC_CONFIG: policyFile,
      SCIM_BEARER_TOKEN: scimToken,
      ADMIN_API_TOKEN: adminToken,
      LOG_LEVEL: 'warn',
      DATA_DIR: dir,
      RUN_WORKERS: (options.workers ?? 0) > 0 ? 'false' : 'true',
      ...options.env,
    };
    const mode = options.mode ?? (process.env.BENCH_MODE === 'source' ? 'source' : 'dist');
    const daemon = startNodeProcess('src/main.js', env, `${options.label}-daemon`, mode);
    cleanups.push(() => daemon.stop());
    const daemonUrl = `http://127.0.0.1:${port}`;
    let stopping = false;
    cleanups.push(async () => {
      stopping = true;
    });
    void daemon.exited.then((how) => {
      if (!stopping)
        process.stderr.write(`${new Date().toISOString()} daemon exited unexpectedly (${how}); log: ${daemon.logFile}\n${tailLog(daemon.logFile)}\n`);
    });
    await Promise.race([
      // Generous: a daemon compiling its sources on a saturated machine is slow to listen, and waiting costs nothing.
      waitFor('daemon /healthz', async () => (await fetch(`${daemonUrl}/healthz`)).ok, 180_000, 100),
      daemon.exited.then((code) => {
        throw new Error(`daemon exited (${code}) during start-up:\n${tailLog(daemon.logFile)}`);
      }),
    ]);

    const workers: NodeProcess[] = [];
    let workerCount = 0;
    const startWorker = (name = `worker-${++workerCount}`) => {
      // Workers on one host each serve /metrics on a port of their own (0: any free one).
      const worker = startNodeProcess('workers/main.js', { METRICS_PORT: '0', ...env }, `${options.label}-${name}`, mode);
      workers.push(worker);
      return worker;
    };
    for (let i = 0; i < (options.workers ?? 0); i++) startWorker();
    cleanups.push(() => Promise.all(workers.map((w) => w.stop())));

    // An interrupted benchmark still drops its database and stops its children.
    const onSignal = (signal: NodeJS.Signals) => {
      void cleanup().finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
    };
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    cleanups.unshift(async () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    });

    return {
      daemon,
      workers,
      daemonUrl,
      scim: new ScimClient(`${daemonUrl}/scim/v2`, scimToken),
      admin: new AdminClient(daemonUrl, adminToken),
      emulator,
      tap,
      redis,
      db,
      env,
      startWorker,
      stop: cleanup,
    };
  } catch (err) {
    await cleanup();
    throw err;
  }
}

export class AdminClient {
  constructor(
    readonly base: string,
    private readonly token: string,
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; body: unknown }> {
    const res = await fetch(`${this.base}${path}`, {
      method,
      headers: { authorization: `Bearer ${this.token}`, 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // keep text
    }
    return { status: res.status, body: parsed };
  }

  status(): Promise<{ status: number; body: unknown }> {
    return this.call('GET', '/api/v1/status');
  }

  /** Asks for a full reconcile of every team (`POST /api/v1/reconcile`). */
  async reconcileAll(): Promise<unknown> {
    const answer = await this.call('POST', '/api/v1/reconcile', {});
    if (answer.status >= 300) throw new Error(`POST /api/v1/reconcile answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    return answer.body;
  }

  async createToken(request: { team: string; owner: string; description: string }): Promise<{ id: string; tokenValue: string; pulumiTeam: string }> {
    const answer = await this.call('POST', '/api/v1/tokens', request);
    if (answer.status >= 300) throw new Error(`POST /api/v1/tokens answered ${answer.status}: ${JSON.stringify(answer.body).slice(0, 300)}`);
    return answer.body as { id: string; tokenValue: string; pulumiTeam: string };
  }
}

/** Polls `check` until it holds; resolves with the performance.now() when it first did. */
export async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, everyMs = 25): Promise<number> {
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    if (await check()) return performance.now();
    if (performance.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
