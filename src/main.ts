// First: tracing starts before anything it instruments loads.
import './tracing/register';
import { loadDaemonConfigOrExit } from './config';
import { EmbeddedPostgresMissingError } from './directory';
import { EvictionPolicyError } from './queue';
import { type Daemon, startDaemon } from './runtime';
import { stopTracing } from './tracing';

/**
 * A SIGINT this soon after the first is the same Ctrl-C delivered twice: the terminal signals
 * the whole foreground group, npm included, and npm forwards the SIGINT it got to this process.
 * A person's second Ctrl-C comes later than this.
 */
const SAME_CTRL_C_MS = 1_000;

async function main(): Promise<void> {
  const config = loadDaemonConfigOrExit();
  let daemon: Daemon | undefined;
  let stopRequested: string | undefined;
  let firstSignalAt = 0;

  const stop = (signal: string) => {
    daemon?.logger.info('shutting down', { signal });
    daemon
      ?.stop()
      .then(stopTracing)
      .then(
        () => process.exit(0),
        () => process.exit(1),
      );
  };
  const onSignal = (signal: 'SIGINT' | 'SIGTERM') => {
    if (stopRequested === undefined) {
      stopRequested = signal;
      firstSignalAt = Date.now();
      // During start-up the daemon stops as soon as startDaemon returns what it has started.
      if (daemon) stop(signal);
      return;
    }
    if (signal === 'SIGINT' && Date.now() - firstSignalAt > SAME_CTRL_C_MS) {
      // process.exit still runs the exit hooks: the embedded Postgres gets its fast shutdown.
      process.stderr.write('second Ctrl-C: exiting without waiting for the shutdown to finish\n');
      process.exit(130);
    }
  };
  process.on('SIGTERM', () => onSignal('SIGTERM'));
  process.on('SIGINT', () => onSignal('SIGINT'));
  // Handled from the start, as the others: a signal's default action would end the process
  // without stopping the embedded Postgres, which runs in its own process group.
  process.on('SIGHUP', () => {
    if (!daemon) return;
    daemon.logger.info('SIGHUP: reloading the policy');
    daemon.reload();
  });

  daemon = await startDaemon(config);
  if (stopRequested) stop(stopRequested);
}

main().catch((err) => {
  // A Redis that may evict jobs, or no Postgres to use, is a configuration problem: one line and
  // exit 2, like a bad variable.
  if (err instanceof EvictionPolicyError || err instanceof EmbeddedPostgresMissingError) {
    process.stderr.write(`pulumi-idp-sync refuses to start: ${err.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`pulumi-idp-sync failed to start: ${(err as Error).message}\n`);
  process.exit(1);
});
