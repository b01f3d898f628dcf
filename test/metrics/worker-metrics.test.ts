import { acknowledged, createHandTokens, desiredWithout, expectConverged, SMALL } from '../chaos/harness';
import { desiredTeams, pushDirectory, seedFor } from '../helpers/stack/directory';
import { freePort, waitFor } from '../helpers/stack/processes';
import { benchPolicy, startStack, type Stack } from '../helpers/stack/stack';
import { type MetricFamily, parsePrometheusText, sampleValue } from './prometheus-text';

/**
 * The production topology: the daemon with RUN_WORKERS=false and a separate `npm run worker`.
 * The revoke lane runs in the worker, so the deprovision→revoke histogram moves on the worker's
 * METRICS_PORT (docs/operations.md, "Metrics"); both processes expose the same metric families;
 * the worker is ready while Postgres and Redis answer and unready once Redis does not.
 */

/** Generous (the daemon's start-up gets 180 s more): processes compiling TypeScript on a saturated machine; waiting costs nothing. */
const WAIT_MS = 150_000;

let stack: Stack;
let workerMetrics: string;

beforeAll(
  async () => {
    const metricsPort = await freePort();
    workerMetrics = `http://127.0.0.1:${metricsPort}`;
    stack = await startStack({
      label: 'workermetrics',
      seed: seedFor(SMALL),
      policy: benchPolicy(),
      pulumiLatencyMs: 5,
      workers: 1,
      mode: 'source',
      env: { METRICS_PORT: String(metricsPort) },
    });
    await waitFor('worker /readyz', async () => (await fetch(`${workerMetrics}/readyz`)).ok, WAIT_MS, 200);
  },
  180_000 + WAIT_MS + 60_000,
);

afterAll(async () => {
  await stack?.stop();
});

async function scrape(base: string): Promise<Map<string, MetricFamily>> {
  const res = await fetch(`${base}/metrics`);
  expect(res.status).toBe(200);
  expect(res.headers.get('content-type')).toContain('text/plain');
  return parsePrometheusText(await res.text());
}

const revokeCount = async () => sampleValue(await scrape(workerMetrics), 'idp_sync_deprovision_to_revoke_seconds_count') ?? 0;

it(
  'counts a SCIM deprovision on the worker, and both processes expose the same metric families',
  async () => {
    expect(stack.env.RUN_WORKERS).toBe('false');
    const push = await pushDirectory(stack.scim, SMALL, 4);
    await expectConverged(stack, desiredTeams(SMALL), WAIT_MS);
    const due = await createHandTokens(stack, SMALL, [0]);
    const before = await revokeCount();

    await acknowledged('deactivate user0', () => stack.scim.setActive(push.userIds[0], false));
    await waitFor('the worker observed the revocation', async () => (await revokeCount()) > before, WAIT_MS, 200);
    await expectConverged(stack, desiredWithout(SMALL, new Set(due.keys())), WAIT_MS);

    const worker = await scrape(workerMetrics);
    const daemon = await scrape(stack.daemonUrl);
    const ours = (families: Map<string, MetricFamily>) => [...families.keys()].filter((name) => name.startsWith('idp_sync_')).sort();
    expect(ours(worker)).toEqual(ours(daemon));
    for (const name of ours(worker)) expect(worker.get(name)?.type).toBe(daemon.get(name)?.type);
    expect(sampleValue(worker, 'idp_sync_build_info', { node_version: process.version })).toBe(1);
    // The daemon ran no revoke worker: the histogram is there, empty.
    expect(sampleValue(daemon, 'idp_sync_deprovision_to_revoke_seconds_count')).toBe(0);
  },
  4 * WAIT_MS,
);

it(
  'answers /healthz always, and /readyz only while Redis answers, naming it without error text',
  async () => {
    const ready = (await (await fetch(`${workerMetrics}/readyz`)).json()) as { checks: Record<string, { ok: boolean; required: boolean }> };
    expect(ready.checks).toEqual({ postgres: { ok: true, required: true }, redis: { ok: true, required: true } });

    await stack.redis.stop();
    await waitFor('worker /readyz 503', async () => (await fetch(`${workerMetrics}/readyz`)).status === 503, WAIT_MS, 200);
    const body = await (await fetch(`${workerMetrics}/readyz`)).text();
    expect(JSON.parse(body)).toEqual({ status: 'not ready', checks: { postgres: { ok: true, required: true }, redis: { ok: false, required: true } } });
    expect((await fetch(`${workerMetrics}/healthz`)).status).toBe(200);
    expect((await fetch(`${workerMetrics}/other`)).status).toBe(404);
  },
  WAIT_MS + 30_000,
);
