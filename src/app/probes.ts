import { Router } from 'express';
import { withTimeout } from '../util';

/**
 * The probes every process answers (docs/operations.md, "Probes"):
 *
 * - `GET /healthz`: the process is alive and its event loop answers. Nothing else.
 * - `GET /readyz`: the process can do its job. Only the dependencies it cannot do without
 *   (`required`) decide; the others (`reported`) appear in the body and in the
 *   `idp_sync_dependency_up` gauge but never make it unready. The daemon requires Postgres (SCIM
 *   writes go to Postgres; Redis and Pulumi are reached later, from the outbox), a worker
 *   requires Postgres and Redis.
 *
 * The body names each dependency and whether it answered, never the error text: errors name
 * hosts, ports and users, and the probe is unauthenticated.
 */

export type ReadinessCheck = () => Promise<void>;

export interface DependencyReport {
  ready: boolean;
  /** Each dependency: whether it answered within the timeout, and whether readiness needs it. */
  checks: Record<string, { ok: boolean; required: boolean }>;
}

/** How long one dependency may take to answer a probe. */
const CHECK_TIMEOUT_MS = 2000;

/**
 * A probe answered within this long is reused: Kubernetes' probes and Prometheus' scrapes of one
 * process then cost the dependencies one check, not one each (Pulumi counts every call against
 * the org's rate limit).
 */
const REUSE_MS = 1000;

export class DependencyProbe {
  readonly #checks: Array<{ name: string; check: ReadinessCheck; required: boolean }>;
  #last: { at: number; report: Promise<DependencyReport> } | undefined;

  constructor(deps: { required: Record<string, ReadinessCheck>; reported?: Record<string, ReadinessCheck> }) {
    this.#checks = [
      ...Object.entries(deps.required).map(([name, check]) => ({ name, check, required: true })),
      ...Object.entries(deps.reported ?? {}).map(([name, check]) => ({ name, check, required: false })),
    ];
  }

  /** Checks every dependency at once (or reuses a check begun less than REUSE_MS ago). */
  probe(): Promise<DependencyReport> {
    const now = Date.now();
    if (this.#last && now - this.#last.at < REUSE_MS) return this.#last.report;
    const report = this.#run();
    this.#last = { at: now, report };
    return report;
  }

  async #run(): Promise<DependencyReport> {
    const results = await Promise.all(
      this.#checks.map(async ({ name, check, required }) => {
        const ok = await withTimeout(check(), CHECK_TIMEOUT_MS).then(
          () => true,
          () => false,
        );
        return [name, { ok, required }] as const;
      }),
    );
    const checks = Object.fromEntries(results);
    return { ready: results.every(([, r]) => r.ok || !r.required), checks };
  }
}

/** `/healthz` and `/readyz` for an app. */
export function probeRoutes(probe: DependencyProbe): Router {
  const router = Router();
  router.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  router.get('/readyz', async (_req, res) => {
    const report = await probe.probe();
    res.status(report.ready ? 200 : 503).json({ status: report.ready ? 'ready' : 'not ready', checks: report.checks });
  });
  return router;
}
