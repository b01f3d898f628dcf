import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import {
  metricsRouter,
  recordPulumiCall,
  recordReconcile,
  recordScimRequest,
  registerOutboxCollector,
  registerPendingUsersCollector,
  registerQueueCollector,
  registry,
  deprovisionToRevokeSeconds,
  policyReloads,
  recordBuildInfo,
  recordFullReconcileSuccess,
  recordSamlSignIn,
  registerDependencyCollector,
} from '../../src/metrics';

async function scrape(url: string): Promise<{ status: number; type: string | null; body: string }> {
  const res = await fetch(url);
  return { status: res.status, type: res.headers.get('content-type'), body: await res.text() };
}

/** The value of the sample `name` whose labels include `labels` (any order), or undefined. */
function sample(body: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const l of body.split('\n')) {
    const m = /^([a-z_:]+)(?:\{(.*)\})? (\S+)$/.exec(l);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries([...(m[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[3]);
  }
  return undefined;
}

describe('metrics', () => {
  let server: http.Server;
  let base: string;

  beforeAll(async () => {
    const app = express();
    app.use('/metrics', metricsRouter());
    server = http.createServer(app);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });
  beforeEach(() => registry.resetMetrics());

  it('answers GET /metrics in the Prometheus text format with default process metrics', async () => {
    const res = await scrape(`${base}/metrics`);
    expect(res.status).toBe(200);
    expect(res.type).toContain('text/plain');
    expect(res.body).toContain('process_resident_memory_bytes');
    expect(res.body).toContain('nodejs_eventloop_lag_seconds');
  });

  it('counts SCIM requests by resource, method and status and observes latency', async () => {
    recordScimRequest({ resource: 'Users', method: 'GET', status: 200, durationSeconds: 0.004 });
    recordScimRequest({ resource: 'Users', method: 'GET', status: 200, durationSeconds: 0.006 });
    recordScimRequest({ resource: 'Groups', method: 'PATCH', status: 400, durationSeconds: 0.002 });
    const { body } = await scrape(`${base}/metrics`);
    expect(sample(body, 'idp_sync_scim_requests_total', { resource: 'Users', method: 'GET', status: '200' })).toBe(2);
    expect(sample(body, 'idp_sync_scim_requests_total', { resource: 'Groups', method: 'PATCH', status: '400' })).toBe(1);
    expect(sample(body, 'idp_sync_scim_request_duration_seconds_count', { resource: 'Users', method: 'GET' })).toBe(2);
    expect(sample(body, 'idp_sync_scim_request_duration_seconds_bucket', { le: '0.005', resource: 'Users', method: 'GET' })).toBe(1);
  });

  it('counts Pulumi calls, and a 429 also as rate limited', async () => {
    recordPulumiCall({ method: 'GET', route: '/api/orgs/{org}/teams/{team}', status: 200, durationSeconds: 0.02 });
    recordPulumiCall({ method: 'PATCH', route: '/api/orgs/{org}/teams/{team}', status: 429, durationSeconds: 0.01 });
    recordPulumiCall({ method: 'PATCH', route: '/api/orgs/{org}/teams/{team}', status: 'network', durationSeconds: 15, attempt: 2 });
    const { body } = await scrape(`${base}/metrics`);
    expect(sample(body, 'idp_sync_pulumi_calls_total', { method: 'PATCH', route: '/api/orgs/{org}/teams/{team}', status: '429' })).toBe(1);
    expect(sample(body, 'idp_sync_pulumi_calls_total', { status: 'network' })).toBe(1);
    expect(sample(body, 'idp_sync_pulumi_call_duration_seconds_count', { route: '/api/orgs/{org}/teams/{team}' })).toBe(3);
    expect(sample(body, 'idp_sync_pulumi_rate_limited_total')).toBe(1);
    expect(sample(body, 'idp_sync_pulumi_retries_total')).toBe(1);
  });

  it('records reconcile outcomes and deprovision latency', async () => {
    recordReconcile('success', 0.3);
    recordReconcile('error', 1.2);
    deprovisionToRevokeSeconds.observe(0.08);
    const { body } = await scrape(`${base}/metrics`);
    expect(sample(body, 'idp_sync_reconciles_total', { outcome: 'success' })).toBe(1);
    expect(sample(body, 'idp_sync_reconcile_duration_seconds_count', { outcome: 'error' })).toBe(1);
    expect(sample(body, 'idp_sync_deprovision_to_revoke_seconds_bucket', { le: '0.1' })).toBe(1);
    expect(sample(body, 'idp_sync_deprovision_to_revoke_seconds_bucket', { le: '0.075' })).toBe(0);
  });

  it('reads outbox, queue and pending-user gauges from collectors at scrape time', async () => {
    let depth = 3;
    let outboxCalls = 0;
    const offOutbox = registerOutboxCollector(async () => {
      outboxCalls += 1;
      return { depth, oldestAgeSeconds: 42 };
    });
    const offQueue = registerQueueCollector(async () => [
      { queue: 'reconcile', state: 'wait', count: 5 },
      { queue: 'revoke', state: 'active', count: 1 },
    ]);
    const offPending = registerPendingUsersCollector(async () => 7);
    try {
      let { body } = await scrape(`${base}/metrics`);
      expect(sample(body, 'idp_sync_outbox_depth')).toBe(3);
      expect(sample(body, 'idp_sync_outbox_oldest_age_seconds')).toBe(42);
      expect(outboxCalls).toBe(1);
      expect(sample(body, 'idp_sync_queue_jobs', { queue: 'reconcile', state: 'wait' })).toBe(5);
      expect(sample(body, 'idp_sync_queue_jobs', { queue: 'revoke', state: 'active' })).toBe(1);
      expect(sample(body, 'idp_sync_pending_users')).toBe(7);

      depth = 0;
      ({ body } = await scrape(`${base}/metrics`));
      expect(sample(body, 'idp_sync_outbox_depth')).toBe(0);
    } finally {
      offOutbox();
      offQueue();
      offPending();
    }
  });

  it('reads NaN, never 0, when no collector is registered or one fails, and counts the failure', async () => {
    expect(Number.isNaN(sample((await scrape(`${base}/metrics`)).body, 'idp_sync_outbox_depth'))).toBe(true);
    const off = registerOutboxCollector(async () => {
      throw new Error('postgres down');
    });
    try {
      const first = await scrape(`${base}/metrics`);
      expect(first.status).toBe(200);
      expect(Number.isNaN(sample(first.body, 'idp_sync_outbox_depth'))).toBe(true);
      expect(Number.isNaN(sample(first.body, 'idp_sync_outbox_oldest_age_seconds'))).toBe(true);
      // The count written during a scrape is the one from before it: the first scrape's failure.
      const second = await scrape(`${base}/metrics`);
      expect(sample(second.body, 'idp_sync_metrics_collector_errors_total', { collector: 'outbox' })).toBe(1);
    } finally {
      off();
    }
  });

  it('says which build runs, whether dependencies answer, and counts sign-ins, reloads and full reconciles', async () => {
    recordBuildInfo({ version: '1.2.3', commit: undefined });
    recordSamlSignIn();
    recordSamlSignIn('assertion_replayed');
    policyReloads.inc({ outcome: 'failure' });
    recordFullReconcileSuccess(new Date(1_700_000_000_000));
    const off = registerDependencyCollector(async () => ({ postgres: true, pulumi: false }));
    try {
      const { body } = await scrape(`${base}/metrics`);
      expect(sample(body, 'idp_sync_build_info', { version: '1.2.3', node_version: process.version, commit: 'unknown' })).toBe(1);
      expect(sample(body, 'idp_sync_saml_signins_total', { outcome: 'success', reason: 'ok' })).toBe(1);
      expect(sample(body, 'idp_sync_saml_signins_total', { outcome: 'refused', reason: 'assertion_replayed' })).toBe(1);
      expect(sample(body, 'idp_sync_policy_reloads_total', { outcome: 'failure' })).toBe(1);
      expect(sample(body, 'idp_sync_full_reconcile_last_success_timestamp_seconds')).toBe(1_700_000_000);
      expect(sample(body, 'idp_sync_dependency_up', { dependency: 'postgres' })).toBe(1);
      expect(sample(body, 'idp_sync_dependency_up', { dependency: 'pulumi' })).toBe(0);
    } finally {
      off();
    }
  });
});
