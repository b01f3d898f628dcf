import { Router, type RequestHandler } from 'express';
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from 'prom-client';

/**
 * The daemon's Prometheus metrics, in one registry of its own (not prom-client's global one,
 * so a library that registers metrics globally cannot collide with ours).
 *
 * Names are a public interface: dashboards and alerts depend on them, so they do not change.
 * Counters and histograms are updated by the part that does the work (SCIM, Pulumi client,
 * reconciler, tokens). Gauges that describe stored state (outbox, queues, pending users) are
 * read when Prometheus scrapes, through a collector the owning part registers here — the
 * figure is then always current and costs nothing between scrapes.
 *
 * Label values must come from small fixed sets: a SCIM resource type, an HTTP method, a
 * status code, a Pulumi route TEMPLATE (`/api/orgs/{org}/teams/{team}`, never a concrete
 * path), an outcome word. Never a user, group, team or token.
 */

export const registry = new Registry();
collectDefaultMetrics({ register: registry });

const PREFIX = 'idp_sync_';

/** Seconds; 1 ms to 10 s covers a SCIM request and a Pulumi call alike. */
const REQUEST_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** Seconds; a reconcile of a large team can take minutes when Pulumi rate-limits us. */
const RECONCILE_BUCKETS = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300];

/** Seconds; fine between 10 ms and 5 s, where the deprovision goal (p99 ≤ 300 ms) lives. */
const REVOKE_BUCKETS = [0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2, 3, 5, 10, 30];

// ---------------------------------------------------------------------------------------------
// The process: what runs, and whether its dependencies answer
// ---------------------------------------------------------------------------------------------

export const buildInfo = new Gauge({
  name: `${PREFIX}build_info`,
  help: 'Always 1; the labels say which build runs: package version, Node.js version, source commit ("unknown" when the image was built without it).',
  labelNames: ['version', 'node_version', 'commit'] as const,
  registers: [registry],
});

/** Records which build this process runs (once, at start-up). */
export function recordBuildInfo(build: { version: string; commit: string | undefined }): void {
  buildInfo.reset();
  buildInfo.set({ version: build.version, node_version: process.version, commit: build.commit ?? 'unknown' }, 1);
}

let dependencyCollector: Collector<Record<string, boolean>> | undefined;

export const dependencyUp = new Gauge({
  name: `${PREFIX}dependency_up`,
  help: 'Whether a dependency (postgres, redis, pulumi) answered the readiness check: 1 yes, 0 no. Only the ones readiness requires make /readyz fail.',
  labelNames: ['dependency'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    if (!dependencyCollector) return;
    try {
      for (const [dependency, up] of Object.entries(await dependencyCollector())) this.set({ dependency }, Number(up));
    } catch {
      metricsCollectorErrors.inc({ collector: 'dependency_up' });
    }
  },
});

/** The process reports which of its dependencies answer (the readiness probe's checks). */
export function registerDependencyCollector(collector: Collector<Record<string, boolean>>): () => void {
  dependencyCollector = collector;
  return () => {
    if (dependencyCollector === collector) dependencyCollector = undefined;
  };
}

export const policyReloads = new Counter({
  name: `${PREFIX}policy_reloads_total`,
  help: 'Policy reloads (SIGHUP): success, or failure (the file was refused and the running policy kept).',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

// ---------------------------------------------------------------------------------------------
// SCIM server
// ---------------------------------------------------------------------------------------------

export type ScimResource = 'Users' | 'Groups' | 'ServiceProviderConfig' | 'Schemas' | 'ResourceTypes' | 'Bulk' | 'other';

export const scimRequests = new Counter({
  name: `${PREFIX}scim_requests_total`,
  help: 'SCIM requests answered, by resource type, HTTP method and status code.',
  labelNames: ['resource', 'method', 'status'] as const,
  registers: [registry],
});

export const scimRequestDuration = new Histogram({
  name: `${PREFIX}scim_request_duration_seconds`,
  help: 'Time from receiving a SCIM request to the end of its response.',
  labelNames: ['resource', 'method'] as const,
  buckets: REQUEST_BUCKETS,
  registers: [registry],
});

/** Counts one answered SCIM request and its latency. */
export function recordScimRequest(r: { resource: ScimResource; method: string; status: number; durationSeconds: number }): void {
  scimRequests.inc({ resource: r.resource, method: r.method, status: String(r.status) });
  scimRequestDuration.observe({ resource: r.resource, method: r.method }, r.durationSeconds);
}

// ---------------------------------------------------------------------------------------------
// Outbox, queues, pending users, Redis eviction policy: read on scrape from collectors the
// owning parts register
// ---------------------------------------------------------------------------------------------

export interface OutboxSnapshot {
  /** Rows not yet published to the queue. */
  depth: number;
  /** Age of the oldest unpublished row, 0 when there is none. */
  oldestAgeSeconds: number;
}

export interface QueueDepth {
  queue: string;
  /** BullMQ state: wait, active, delayed, prioritized, waiting-children, failed, completed. */
  state: string;
  count: number;
}

type Collector<T> = () => Promise<T>;

/**
 * Counts collectors that threw during a scrape. Their gauge reads NaN for that scrape — as it
 * does in a process where no part registered a collector — never a reassuring 0. The count
 * itself shows from the next scrape on (collectors run while this counter is already written).
 */
export const metricsCollectorErrors = new Counter({
  name: `${PREFIX}metrics_collector_errors_total`,
  help: 'Collectors that failed while Prometheus scraped (the gauge is absent for that scrape).',
  labelNames: ['collector'] as const,
  registers: [registry],
});

let outboxCollector: Collector<OutboxSnapshot> | undefined;
const queueCollectors = new Set<Collector<QueueDepth[]>>();
let pendingUsersCollector: Collector<number> | undefined;
let redisNoEvictionCollector: Collector<boolean | null> | undefined;

// One scrape asks the outbox once even though two gauges show the answer.
let outboxRead: Promise<OutboxSnapshot | undefined> | undefined;
function readOutboxOnce(): Promise<OutboxSnapshot | undefined> {
  if (!outboxRead) {
    const collector = outboxCollector;
    outboxRead = (collector ? collector() : Promise.resolve(undefined))
      .catch(() => {
        metricsCollectorErrors.inc({ collector: 'outbox' });
        return undefined;
      })
      .finally(() => {
        setImmediate(() => {
          outboxRead = undefined;
        });
      });
  }
  return outboxRead;
}

/** A single collector's figure; NaN when none is registered or it fails (the failure counted). */
async function collectNumber<T>(collector: Collector<T> | undefined, name: string, toNumber: (value: T) => number): Promise<number> {
  if (!collector) return Number.NaN;
  try {
    return toNumber(await collector());
  } catch {
    metricsCollectorErrors.inc({ collector: name });
    return Number.NaN;
  }
}

export const outboxDepth = new Gauge({
  name: `${PREFIX}outbox_depth`,
  help: 'Outbox rows not yet published to the queue.',
  registers: [registry],
  async collect() {
    this.set((await readOutboxOnce())?.depth ?? Number.NaN);
  },
});

export const outboxOldestAgeSeconds = new Gauge({
  name: `${PREFIX}outbox_oldest_age_seconds`,
  help: 'Age of the oldest unpublished outbox row (0 when the outbox is empty). Alert when it grows.',
  registers: [registry],
  async collect() {
    this.set((await readOutboxOnce())?.oldestAgeSeconds ?? Number.NaN);
  },
});

export const queueDepth = new Gauge({
  name: `${PREFIX}queue_jobs`,
  help: 'BullMQ jobs by queue and state.',
  labelNames: ['queue', 'state'] as const,
  registers: [registry],
  async collect() {
    this.reset();
    for (const collector of queueCollectors) {
      try {
        for (const row of await collector()) this.set({ queue: row.queue, state: row.state }, row.count);
      } catch {
        metricsCollectorErrors.inc({ collector: 'queue' });
      }
    }
  },
});

export const pendingUsers = new Gauge({
  name: `${PREFIX}pending_users`,
  help: 'People waiting for access (no Pulumi account yet, a login Pulumi refused, or a login conflict), each counted once across teams; GET /api/v1/status lists them per team.',
  registers: [registry],
  async collect() {
    this.set(await collectNumber(pendingUsersCollector, 'pending_users', (n) => n));
  },
});

export const redisNoEviction = new Gauge({
  name: `${PREFIX}redis_noeviction`,
  help: 'Whether Redis runs with maxmemory-policy noeviction, as BullMQ requires: 1 yes, 0 no (jobs and locks may be evicted), NaN when it cannot be read.',
  registers: [registry],
  async collect() {
    this.set(await collectNumber(redisNoEvictionCollector, 'redis_noeviction', (ok) => (ok === null ? Number.NaN : Number(ok))));
  },
});

/** The outbox owner reports depth and oldest age. One collector; returns an unregister function. */
export function registerOutboxCollector(collector: Collector<OutboxSnapshot>): () => void {
  outboxCollector = collector;
  return () => {
    if (outboxCollector === collector) outboxCollector = undefined;
  };
}

/** Each queue owner reports its queues' job counts. Several may be registered at once. */
export function registerQueueCollector(collector: Collector<QueueDepth[]>): () => void {
  queueCollectors.add(collector);
  return () => void queueCollectors.delete(collector);
}

/** The reconciler reports how many users wait for a Pulumi account. */
export function registerPendingUsersCollector(collector: Collector<number>): () => void {
  pendingUsersCollector = collector;
  return () => {
    if (pendingUsersCollector === collector) pendingUsersCollector = undefined;
  };
}

/** The queue owner reports whether Redis' eviction policy is noeviction (null: unknown). */
export function registerRedisNoEvictionCollector(collector: Collector<boolean | null>): () => void {
  redisNoEvictionCollector = collector;
  return () => {
    if (redisNoEvictionCollector === collector) redisNoEvictionCollector = undefined;
  };
}

// ---------------------------------------------------------------------------------------------
// Reconciler
// ---------------------------------------------------------------------------------------------

/**
 * success: state converged; error: retried later; terminal: not retried; skipped: nothing
 * owned; observed: planned and recorded without writing (reconcile.mode observe).
 */
export type ReconcileOutcome = 'success' | 'error' | 'terminal' | 'rate_limited' | 'skipped' | 'observed';

export const reconcileDuration = new Histogram({
  name: `${PREFIX}reconcile_duration_seconds`,
  help: 'Time of one team reconcile (read state, plan, apply), by outcome.',
  labelNames: ['outcome'] as const,
  buckets: RECONCILE_BUCKETS,
  registers: [registry],
});

export const reconciles = new Counter({
  name: `${PREFIX}reconciles_total`,
  help: 'Team reconciles run, by outcome.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

/** Counts one reconcile and its duration. */
export function recordReconcile(outcome: ReconcileOutcome, durationSeconds: number): void {
  reconciles.inc({ outcome });
  reconcileDuration.observe({ outcome }, durationSeconds);
}

export const holdsCreated = new Counter({
  name: `${PREFIX}holds_created_total`,
  help: 'Holds opened: guarded removals of still-active access that wait for an admin (safety.maxRemovals).',
  registers: [registry],
});

export const holdsDecided = new Counter({
  name: `${PREFIX}holds_decided_total`,
  help: 'Holds an admin decided, by decision (approved, rejected).',
  labelNames: ['decision'] as const,
  registers: [registry],
});

export const loginConflictsDetected = new Counter({
  name: `${PREFIX}login_conflicts_detected_total`,
  help: 'People newly put in login_conflict (another person resolves to the same Pulumi login).',
  registers: [registry],
});

export const fullReconcileLastSuccess = new Gauge({
  name: `${PREFIX}full_reconcile_last_success_timestamp_seconds`,
  help: 'Unix time this process last finished a full reconcile (every team enqueued, departures removed); 0 until it has. Take max() over processes.',
  registers: [registry],
});

/** A full reconcile (drift schedule, policy reload, admin) finished its fan-out and org-level part. */
export function recordFullReconcileSuccess(at = new Date()): void {
  fullReconcileLastSuccess.set(at.getTime() / 1000);
}

let openHoldsCollector: Collector<number> | undefined;
let loginConflictsCollector: Collector<number> | undefined;
let degradedTeamsCollector: Collector<number> | undefined;

export const degradedTeams = new Gauge({
  name: `${PREFIX}teams_degraded`,
  help: 'Teams marked degraded: their last reconcile failed permanently (a 4xx from Pulumi) and nothing has succeeded since.',
  registers: [registry],
  async collect() {
    this.set(await collectNumber(degradedTeamsCollector, 'teams_degraded', (n) => n));
  },
});

export const openHolds = new Gauge({
  name: `${PREFIX}holds_open`,
  help: 'Holds waiting for an admin to approve or reject them.',
  registers: [registry],
  async collect() {
    this.set(await collectNumber(openHoldsCollector, 'holds_open', (n) => n));
  },
});

export const loginConflicts = new Gauge({
  name: `${PREFIX}login_conflicts`,
  help: 'People not synced because another person resolves to the same Pulumi login (login_conflict).',
  registers: [registry],
  async collect() {
    this.set(await collectNumber(loginConflictsCollector, 'login_conflicts', (n) => n));
  },
});

/** The reconciler reports open holds, login conflicts and degraded teams. Returns the unregister function. */
export function registerSafetyCollectors(collectors: {
  openHolds: Collector<number>;
  loginConflicts: Collector<number>;
  degradedTeams: Collector<number>;
}): () => void {
  openHoldsCollector = collectors.openHolds;
  loginConflictsCollector = collectors.loginConflicts;
  degradedTeamsCollector = collectors.degradedTeams;
  return () => {
    if (openHoldsCollector === collectors.openHolds) openHoldsCollector = undefined;
    if (loginConflictsCollector === collectors.loginConflicts) loginConflictsCollector = undefined;
    if (degradedTeamsCollector === collectors.degradedTeams) degradedTeamsCollector = undefined;
  };
}

export const driftRepairs = new Counter({
  name: `${PREFIX}drift_repairs_total`,
  help: 'Pulumi write operations that repaired drift found by a scheduled or manual full reconcile.',
  labelNames: ['kind'] as const,
  registers: [registry],
});

// ---------------------------------------------------------------------------------------------
// Queue workers
// ---------------------------------------------------------------------------------------------

/**
 * Counted by the worker whose stall check found the job (not the one that lost it), so the
 * queue-wide total is the sum over processes. Alert on any increase: the job may run twice.
 */
export const jobsStalled = new Counter({
  name: `${PREFIX}jobs_stalled_total`,
  help: 'BullMQ jobs whose worker lost the lock (crash, blocked event loop, lost Redis), put back to wait; past maxStalledCount they then fail.',
  labelNames: ['queue'] as const,
  registers: [registry],
});

// ---------------------------------------------------------------------------------------------
// Pulumi client
// ---------------------------------------------------------------------------------------------

export const pulumiCalls = new Counter({
  name: `${PREFIX}pulumi_calls_total`,
  help: 'Pulumi REST calls made, by method, route template and status ("network" when no answer came).',
  labelNames: ['method', 'route', 'status'] as const,
  registers: [registry],
});

export const pulumiCallDuration = new Histogram({
  name: `${PREFIX}pulumi_call_duration_seconds`,
  help: 'Latency of one Pulumi REST call attempt, by route template.',
  labelNames: ['route'] as const,
  buckets: REQUEST_BUCKETS,
  registers: [registry],
});

export const pulumiRateLimited = new Counter({
  name: `${PREFIX}pulumi_rate_limited_total`,
  help: 'Pulumi answers with status 429.',
  registers: [registry],
});

export const pulumiRetries = new Counter({
  name: `${PREFIX}pulumi_retries_total`,
  help: 'Pulumi call attempts repeated after a 429, 5xx or network error.',
  registers: [registry],
});

/**
 * Counts one Pulumi call attempt. `route` is the template, e.g. `/api/orgs/{org}/teams/{team}`;
 * `attempt` (1 for the first) beyond 1 counts as a retry.
 */
export function recordPulumiCall(c: { method: string; route: string; status: number | 'network'; durationSeconds: number; attempt?: number }): void {
  pulumiCalls.inc({ method: c.method, route: c.route, status: String(c.status) });
  pulumiCallDuration.observe({ route: c.route }, c.durationSeconds);
  if (c.status === 429) pulumiRateLimited.inc();
  if ((c.attempt ?? 1) > 1) pulumiRetries.inc();
}

// ---------------------------------------------------------------------------------------------
// Tokens
// ---------------------------------------------------------------------------------------------

export const deprovisionToRevokeSeconds = new Histogram({
  name: `${PREFIX}deprovision_to_revoke_seconds`,
  help: 'From the SCIM write that removed an identity (outbox row created_at) to the Pulumi token DELETE answered.',
  buckets: REVOKE_BUCKETS,
  registers: [registry],
});

// ---------------------------------------------------------------------------------------------
// Console sign-in
// ---------------------------------------------------------------------------------------------

export const samlSignIns = new Counter({
  name: `${PREFIX}saml_signins_total`,
  help: 'SAML sign-ins to the console by outcome (success, refused) and reason code (ok, or why it was refused: the code the refusal page shows).',
  labelNames: ['outcome', 'reason'] as const,
  registers: [registry],
});

/** Counts one sign-in: `reason` is a refusal code from a fixed set (src/auth, src/web), or omitted for a success. */
export function recordSamlSignIn(reason?: string): void {
  samlSignIns.inc(reason === undefined ? { outcome: 'success', reason: 'ok' } : { outcome: 'refused', reason });
}

// ---------------------------------------------------------------------------------------------
// Shared Signals (src/signals)
// ---------------------------------------------------------------------------------------------

export const signalToRevokeSeconds = new Histogram({
  name: `${PREFIX}signal_to_revoke_seconds`,
  help: 'From a Security Event Token arriving (push request or poll answer) to the Pulumi token DELETE it caused answered.',
  buckets: REVOKE_BUCKETS,
  registers: [registry],
});

export const signalsReceived = new Counter({
  name: `${PREFIX}signals_received_total`,
  help: 'Security Event Tokens received, by outcome: accepted, or the RFC 8935 error code they were refused with.',
  labelNames: ['outcome'] as const,
  registers: [registry],
});

export const signalsUnknownSubject = new Counter({
  name: `${PREFIX}signals_unknown_subject_total`,
  help: 'Accepted signals whose subject names no directory person (or more than one); nothing was done.',
  registers: [registry],
});

// ---------------------------------------------------------------------------------------------
// Exposition
// ---------------------------------------------------------------------------------------------

/** Express handler answering the Prometheus text format. */
export const metricsHandler: RequestHandler = async (_req, res, next) => {
  try {
    const body = await registry.metrics();
    res.set('Content-Type', registry.contentType).send(body);
  } catch (err) {
    next(err);
  }
};

/** Router for `app.use('/metrics', metricsRouter())`: GET only, exact path. */
export function metricsRouter(): Router {
  return Router().get('/', metricsHandler);
}

// ---------------------------------------------------------------------------------------------
// History: what the console's charts keep (src/history samples this periodically)
// ---------------------------------------------------------------------------------------------

/** Series names of the metrics history; a `revoke_le:<seconds>` series per deprovision bucket. */
export const HISTORY_SERIES = {
  pulumiCalls: 'pulumi_calls',
  pulumiRateLimited: 'pulumi_429',
  reconcilePrefix: 'reconcile:',
  revokeBucketPrefix: 'revoke_le:',
  queueWaiting: 'queue_waiting',
  outboxDepth: 'outbox_depth',
  outboxAgeSeconds: 'outbox_age_seconds',
} as const;

/**
 * This process's figures for the history: `totals` are running counts since the process started
 * (each replica's deltas add up to the fleet's), `levels` are state read now (the same in every
 * replica; absent when unknown). The deprovision histogram's buckets are cumulative, `+Inf` last.
 */
export interface HistoryReading {
  totals: Record<string, number>;
  levels: Record<string, number>;
}

export async function readHistoryReading(): Promise<HistoryReading> {
  const totals: Record<string, number> = {};
  const levels: Record<string, number> = {};
  const sum = (values: ReadonlyArray<{ value: number }>) => values.reduce((n, v) => n + v.value, 0);
  totals[HISTORY_SERIES.pulumiCalls] = sum((await pulumiCalls.get()).values);
  totals[HISTORY_SERIES.pulumiRateLimited] = sum((await pulumiRateLimited.get()).values);
  for (const v of (await reconciles.get()).values) {
    const key = `${HISTORY_SERIES.reconcilePrefix}${String(v.labels.outcome)}`;
    totals[key] = (totals[key] ?? 0) + v.value;
  }
  for (const v of (await deprovisionToRevokeSeconds.get()).values) {
    if (v.metricName?.endsWith('_bucket')) totals[`${HISTORY_SERIES.revokeBucketPrefix}${String(v.labels.le)}`] = v.value;
  }
  const waiting = (await queueDepth.get()).values.filter((v) => ['wait', 'prioritized', 'waiting-children'].includes(String(v.labels.state)));
  if (waiting.length > 0) levels[HISTORY_SERIES.queueWaiting] = sum(waiting);
  const depth = (await outboxDepth.get()).values[0]?.value;
  const age = (await outboxOldestAgeSeconds.get()).values[0]?.value;
  if (depth !== undefined && Number.isFinite(depth)) levels[HISTORY_SERIES.outboxDepth] = depth;
  if (age !== undefined && Number.isFinite(age)) levels[HISTORY_SERIES.outboxAgeSeconds] = age;
  return { totals, levels };
}
