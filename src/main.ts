// First: tracing starts before anything it instruments loads.
import './tracing/register';
import { loadDaemonConfigOrExit } from './config';
import { EvictionPolicyError } from './queue';
import { startDaemon } from './runtime';
import { stopTracing } from './tracing';

async function main(): Promise<void> {
  const config = loadDaemonConfigOrExit();
  const daemon = await startDaemon(config);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    daemon.logger.info('shutting down', { signal });
    daemon
      .stop()
      .then(stopTracing)
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGHUP', () => {
    daemon.logger.info('SIGHUP: reloading the policy');
    daemon.reload();
  });
}

main().catch((err) => {
  // A Redis that may evict jobs is a configuration problem: one line and exit 2, like a bad variable.
  if (err instanceof EvictionPolicyError) {
    process.stderr.write(`pulumi-idp-sync refuses to start: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`pulumi-idp-sync failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
