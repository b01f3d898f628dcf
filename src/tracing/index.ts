import type { SpanExporter, SpanProcessor } from '@opentelemetry/sdk-trace';
import type { Telemetry } from 'bullmq';
import { setTracingEnabled } from './context';
import type { InstallOptions, InstalledSdk } from './sdk';

/**
 * OpenTelemetry tracing (docs/architecture.md, "Tracing"). Off unless OTEL_EXPORTER_OTLP_ENDPOINT
 * or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT is set; then each entry point starts it before anything
 * instrumented loads (its first import is src/tracing/register.ts) and spans leave over
 * OTLP/HTTP. With tracing off the SDK is never loaded and the helpers do nothing.
 *
 * The parts use the helpers: the outbox keeps `currentTraceparent()` with each row, the relay's
 * dispatch and the queue's workers continue that stored trace, the Pulumi transport sends it.
 */
export { currentTraceparent, tracingEnabled, withJobSpan, withSpan } from './context';
export type { SpanOptions } from './context';

export const DEFAULT_SERVICE_NAME = 'pulumi-idp-sync';

/** A tracing variable that cannot work; the entry points print it and exit 2. */
export class TracingConfigError extends Error {
  override readonly name = 'TracingConfigError';
}

let installed: InstalledSdk | undefined;

type SdkTrace = typeof import('@opentelemetry/sdk-trace');

function install(makeProcessor: (sdkTrace: SdkTrace) => SpanProcessor, serviceName: string, options: InstallOptions = {}): void {
  if (installed) throw new Error('tracing is already installed');
  // Required here, not imported: with tracing off neither the SDK nor its instrumentations load.
  const { installSdk } = require('./sdk') as typeof import('./sdk');
  installed = installSdk(makeProcessor(require('@opentelemetry/sdk-trace') as SdkTrace), serviceName, options);
  setTracingEnabled(true);
}

/**
 * Starts tracing when the environment asks for it (OTEL_EXPORTER_OTLP_ENDPOINT or
 * OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, and OTEL_SDK_DISABLED not `true`); returns whether it did.
 * The OTLP exporter reads its own OTEL_EXPORTER_OTLP_* variables (headers, timeout).
 */
export function startTracing(env: NodeJS.ProcessEnv = process.env, serviceName = DEFAULT_SERVICE_NAME): boolean {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === 'true') return false;
  const key = env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ? 'OTEL_EXPORTER_OTLP_TRACES_ENDPOINT' : 'OTEL_EXPORTER_OTLP_ENDPOINT';
  const endpoint = env[key]?.trim();
  if (!endpoint) return false;
  if (!URL.canParse(endpoint) || !/^https?:$/.test(new URL(endpoint).protocol)) {
    throw new TracingConfigError(`${key}: '${endpoint}' is not an http(s) URL (OTLP/HTTP is the only exporter)`);
  }
  const { OTLPTraceExporter } = require('@opentelemetry/exporter-trace-otlp-http') as typeof import('@opentelemetry/exporter-trace-otlp-http');
  install((sdkTrace) => new sdkTrace.BatchSpanProcessor({ exporter: new OTLPTraceExporter() }), serviceName);
  return true;
}

/**
 * The test switch: tracing on, every span handed to `exporter` as it ends (an
 * InMemorySpanExporter in the tests), the instrumented modules patched in place because a test
 * runner's module loader bypasses require hooks. Undo it with `stopTracing()`.
 */
export function installTracing(exporter: SpanExporter, serviceName = DEFAULT_SERVICE_NAME): void {
  install((sdkTrace) => new sdkTrace.SimpleSpanProcessor({ exporter }), serviceName, { patchInPlace: true });
}

/** Flushes the spans not yet exported and removes the SDK; nothing when tracing is off. */
export async function stopTracing(): Promise<void> {
  const sdk = installed;
  if (!sdk) return;
  installed = undefined;
  setTracingEnabled(false);
  await sdk.shutdown();
}

/** BullMQ's `telemetry` option while tracing is on, so queues and workers carry the context. */
export function bullmqTelemetry(): Telemetry | undefined {
  return installed?.bullmq;
}
