import { DependencyProbe } from '../app';
import type { Config } from '../config';
import { createDb, type Db } from '../directory';
import type { Logger } from '../log';
import { policyReloads, recordBuildInfo, recordPulumiCall, registerPendingUsersCollector, registerSafetyCollectors } from '../metrics';
import { type OutboxRelay, republishRecent } from '../outbox';
import { type Policy, PolicyError, PolicyStore } from '../policy';
import { createPulumiClient, PulumiBudget, type PulumiCall, type PulumiClient } from '../pulumi';
import { createQueueFactory, createRevokeLane, enqueueFullReconcile, QUEUE, type QueueFactory, redisEpochKey, watchRedisEpoch } from '../queue';
import {
  countDegradedTeams,
  countLoginConflicts,
  countOpenHolds,
  countPendingUsers,
  createReconcileWorker,
  DRIFT_SCHEDULER_ID,
  Reconciler,
  upsertDriftSchedule,
} from '../reconcile';
import { startHistorySampler } from '../history';
import { createTokensController, type RevokeLaneWorker, startRevokeLaneWorker, type TokenDeps } from '../tokens';
import { readBuildInfo } from './build-info';
import { type OpsListener, startOpsListener } from './ops-listener';
import { createDirectoryRelay } from './outbox-dispatch';
import { createTokenDeps, personStepWithOrgRemoval, reconcileTeamWithTokens } from './tokens-wiring';
import { createSignalActions } from './signals-wiring';
import { SessionIndex } from '../auth';

/**
 * The sync engine of one process (daemon or `npm run worker`), wired as the pipeline of
 * docs/architecture.md: the outbox relay publishes keyed jobs; a `team` job runs the
 * reconciler and then the tokens controller's team step; a person who lost access takes the
 * revoke lane, where the tokens controller's person step runs. Every process runs a relay (they
 * share the outbox through SKIP LOCKED); workers run where `runWorkers` says.
 */

/**
 * Outbox rows published this recently have their jobs published again after Redis lost its
 * data: the jobs in flight then (retries wait minutes at most; older work is the full reconcile's).
 */
const REPUBLISH_AFTER_RESET_MS = 15 * 60 * 1000;

export interface SyncEngineOptions {
  config: Pick<
    Config,
    | 'SYNC_CONFIG'
    | 'PULUMI_TIMEOUT_MS'
    | 'PULUMI_MAX_CONCURRENCY'
    | 'PULUMI_MAX_RPS'
    | 'PULUMI_PRIORITY_SHARE'
    | 'WORKER_LOCK_DURATION_MS'
    | 'WORKER_CONCURRENCY'
    | 'REDIS_EVICTION_CHECK'
    | 'QUEUE_PREFIX'
    | 'TOKEN_MAX_LIVE_PER_PERSON'
    | 'TOKEN_MAX_ISSUES_PER_HOUR'
  >;
  db: Db;
  /** For the relay's LISTEN connection. */
  databaseUrl: string;
  redisUrl: string;
  pulumi: { baseUrl: string; accessToken: string; org: string | undefined };
  logger: Logger;
  runWorkers: boolean;
  /** Team reconciles at once per process. @defaultValue config.WORKER_CONCURRENCY */
  concurrency?: number;
  /**
   * Serve /metrics, /healthz and /readyz (ready: Postgres and Redis answer) here: for worker
   * processes, which have no web app; the daemon serves them on its own listeners.
   */
  metricsListener?: { port: number; host: string };
  /** Redis prefix of console sessions (the web router's `keyPrefix`). @defaultValue "pis:" */
  sessionKeyPrefix?: string;
}

export interface SyncEngine {
  policy: PolicyStore;
  client: PulumiClient;
  queues: QueueFactory;
  reconciler: Reconciler;
  relay: OutboxRelay;
  /** What the admin API and the console need to issue, list and revoke tokens. */
  tokens: TokenDeps;
  /** SIGHUP: re-reads the policy; a bad file is logged and the running policy kept. */
  reload(): Policy | undefined;
  /** Stops workers (active jobs get `deadlineMs`, then are abandoned to stall recovery), relay, queues. */
  stop(deadlineMs?: number): Promise<void>;
}

export async function startSyncEngine(options: SyncEngineOptions): Promise<SyncEngine> {
  const { config, db, logger } = options;
  const log = logger.child({ category: 'sync' });
  recordBuildInfo(readBuildInfo());
  // The Pulumi side decides the org when it is the emulator or PULUMI_ORG is set.
  const policy = new PolicyStore(config.SYNC_CONFIG, { organization: options.pulumi.org });
  const onCall = (c: PulumiCall) =>
    recordPulumiCall({ method: c.method, route: c.route, status: c.status === 0 ? 'network' : c.status, durationSeconds: c.ms / 1000, attempt: c.attempt });
  // One budget for every Pulumi call of the process: reconciles, issuance, the revoke lane
  // (its priority class) and sweeps (docs/robustness.md, "One Pulumi budget per org").
  const client = createPulumiClient({
    baseUrl: options.pulumi.baseUrl,
    accessToken: options.pulumi.accessToken,
    timeoutMs: config.PULUMI_TIMEOUT_MS,
    budget: new PulumiBudget({ maxConcurrency: config.PULUMI_MAX_CONCURRENCY, maxRps: config.PULUMI_MAX_RPS, priorityShare: config.PULUMI_PRIORITY_SHARE }),
    onCall,
    logger,
  });
  const queues = createQueueFactory({
    redisUrl: options.redisUrl,
    prefix: config.QUEUE_PREFIX,
    logger,
    lockDurationMs: config.WORKER_LOCK_DURATION_MS,
    evictionCheck: config.REDIS_EVICTION_CHECK,
  });
  // An evicting Redis is refused before any worker or relay touches a queue.
  await queues.startupCheck().catch(async (err: unknown) => {
    await queues.close(0);
    throw err;
  });
  let opsListener: OpsListener | undefined;
  if (options.metricsListener) {
    const probe = new DependencyProbe({
      required: { postgres: async () => void (await db.raw('select 1')), redis: async () => void (await queues.producer.ping()) },
    });
    opsListener = await startOpsListener({ ...options.metricsListener, probe, logger }).catch(async (err: unknown) => {
      await queues.close(0);
      throw err;
    });
  }
  const concurrency = options.concurrency ?? config.WORKER_CONCURRENCY;
  // Each running reconcile holds its team's advisory lock on a connection: a pool of their own.
  const lockDb = createDb({ connectionString: options.databaseUrl, poolMax: concurrency + 1 });
  const reconciler = new Reconciler({ db, lockDb, client, policy, logger });
  const unregisterPending = registerPendingUsersCollector(() => countPendingUsers(db));
  const unregisterSafety = registerSafetyCollectors({
    openHolds: () => countOpenHolds(db),
    loginConflicts: () => countLoginConflicts(db),
    degradedTeams: () => countDegradedTeams(db),
  });
  const relay = createDirectoryRelay({
    db,
    databaseUrl: options.databaseUrl,
    policy,
    queues,
    revokeLane: createRevokeLane(queues),
    logger,
    // Identity loss rides this relay to the revoke lane: every ms of gather window is a ms of
    // deprovision latency. Team jobs are coalesced by their delay anyway.
    gatherMs: 10,
  });

  const tokens = createTokenDeps({
    db,
    pulumi: client,
    policy,
    reconciler,
    logger,
    issueCaps: { livePerPerson: config.TOKEN_MAX_LIVE_PER_PERSON, issuesPerHour: config.TOKEN_MAX_ISSUES_PER_HOUR },
  });
  let laneWorker: RevokeLaneWorker | undefined;
  if (options.runWorkers) {
    createReconcileWorker({ queues, reconciler, logger, concurrency, runTeam: reconcileTeamWithTokens(reconciler, createTokensController(tokens)) });
    // The revoke lane calls in the budget's priority class, so a revocation never waits behind
    // a large reconcile's calls.
    const laneTokens = createTokenDeps({ db, pulumi: client.priority, policy, reconciler, logger });
    // Shared Signals actions ride the same lane; ending a person's console sessions needs the
    // session index the console keeps in this Redis (docs/shared-signals.md).
    const signal = createSignalActions({ db, tokens: laneTokens, sessions: new SessionIndex(queues.producer, options.sessionKeyPrefix), logger });
    laneWorker = startRevokeLaneWorker(queues, personStepWithOrgRemoval(createTokensController(laneTokens), reconciler), { signal });
  }
  relay.start();
  // This process's figures into the charts' history, which every replica reads (docs/console.md, "Charts").
  const history = startHistorySampler({ db, logger: log });
  // Not awaited: with Redis down at boot BullMQ holds the command until Redis is ready, and
  // start-up (the daemon's HTTP listener) must not wait for that. The factory retries it.
  const driftScheduled = queues.inBackground('drift schedule', () => upsertDriftSchedule(queues, policy.current));
  const redisEpoch = watchRedisEpoch({
    redis: queues.producer,
    key: redisEpochKey(config.QUEUE_PREFIX),
    logger: log,
    armed: Promise.all([driftScheduled, laneWorker?.scheduled ?? true]).then((done) => done.every(Boolean)),
    schedulesPresent: async () =>
      Boolean(await queues.queue(QUEUE.reconcile).getJobScheduler(DRIFT_SCHEDULER_ID)) && ((await laneWorker?.scheduleIntact()) ?? true),
    async repair() {
      // Revocations first: the recent outbox rows go through the dispatch again, and the
      // identity losses among them take the revoke lane; then everything is reconciled.
      const republished = await republishRecent(db, REPUBLISH_AFTER_RESET_MS);
      await upsertDriftSchedule(queues, policy.current);
      await laneWorker?.reschedule();
      await enqueueFullReconcile(queues, { reason: 'redis-reset' });
      log.info('repaired after Redis lost its data: schedules set, full reconcile enqueued', { republished });
    },
  });

  policy.on('changed', (next) => {
    reconciler.invalidateCaches();
    void (async () => {
      try {
        await upsertDriftSchedule(queues, next);
        await enqueueFullReconcile(queues, { reason: 'policy-reload' });
        log.info('policy reloaded: full reconcile enqueued', { digest: next.digest });
      } catch (err) {
        log.warn('policy reloaded, but the reconcile could not be enqueued; the drift schedule will catch up', { err: (err as Error).message });
      }
    })();
  });

  log.info('sync engine started', { organization: policy.current.organization, workers: options.runWorkers, policyDigest: policy.current.digest });
  return {
    policy,
    client,
    queues,
    reconciler,
    relay,
    tokens,
    reload() {
      try {
        const next = policy.reload();
        policyReloads.inc({ outcome: 'success' });
        return next;
      } catch (err) {
        policyReloads.inc({ outcome: 'failure' });
        if (err instanceof PolicyError) {
          log.error('policy reload refused: the running policy stays in force', { problems: err.problems });
          return undefined;
        }
        throw err;
      }
    },
    async stop(deadlineMs = 10_000) {
      // Probes and scrapes go unanswered from here on: the process is leaving.
      await opsListener?.close();
      redisEpoch.stop();
      history.stop();
      await queues.close(deadlineMs);
      await relay.stop();
      await lockDb.destroy();
      unregisterPending();
      unregisterSafety();
    },
  };
}
