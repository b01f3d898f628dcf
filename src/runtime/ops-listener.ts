import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer, type DependencyProbe } from '../app';
import type { Logger } from '../log';
import { metricsRouter, registerDependencyCollector } from '../metrics';

/**
 * The HTTP listener of a process that serves no web app of its own (`npm run worker`):
 * `/metrics`, `/healthz` and `/readyz` on METRICS_PORT, so that a Prometheus scrape of every pod
 * sees the reconcile, revoke and stalled-job metrics where they are recorded.
 */
export interface OpsListener {
  url: string;
  close(): Promise<void>;
}

export async function startOpsListener(options: { port: number; host: string; probe: DependencyProbe; logger: Logger }): Promise<OpsListener> {
  const app = createApp({ logger: options.logger, readiness: options.probe, mounts: [{ path: '/metrics', router: metricsRouter() }] });
  const server = createHttpServer(app);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => resolve());
  });
  const unregister = registerDependencyCollector(async () => dependencyStates(options.probe));
  const { port } = server.address() as AddressInfo;
  options.logger.info('metrics and probes listening', { port });
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        unregister();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** The probe's answer as the `idp_sync_dependency_up` gauge reads it. */
export async function dependencyStates(probe: DependencyProbe): Promise<Record<string, boolean>> {
  const report = await probe.probe();
  return Object.fromEntries(Object.entries(report.checks).map(([name, check]) => [name, check.ok]));
}
