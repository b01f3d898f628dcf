import { startTracing, TracingConfigError } from './index';

/**
 * The first import of each entry point (src/main.ts, workers/main.ts): tracing must start before
 * express, pg and ioredis load, or their instrumentations never see them. A bad tracing variable
 * is one line and exit 2, like any other configuration error.
 */
try {
  startTracing();
} catch (err) {
  if (!(err instanceof TracingConfigError)) throw err;
  process.stderr.write(`pulumi-idp-sync refuses to start: ${err.message}\n`);
  process.exit(2);
}
