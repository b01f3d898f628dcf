import fs from 'node:fs';
import { isBuiltin } from 'node:module';
import path from 'node:path';
import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { type InstrumentationModuleDefinition, registerInstrumentations } from '@opentelemetry/instrumentation';
import { ExpressInstrumentation } from '@opentelemetry/instrumentation-express';
import { HttpInstrumentation } from '@opentelemetry/instrumentation-http';
import { IORedisInstrumentation } from '@opentelemetry/instrumentation-ioredis';
import { PgInstrumentation } from '@opentelemetry/instrumentation-pg';
import { UndiciInstrumentation } from '@opentelemetry/instrumentation-undici';
import { detectResources, envDetector, resourceFromAttributes } from '@opentelemetry/resources';
import { AlwaysOnSampler, ParentBasedSampler, type SpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { BullMQOtel } from 'bullmq-otel';
import { TRACER_NAME } from './context';

/**
 * The OpenTelemetry SDK, loaded only when tracing is on (src/tracing/index.ts requires this file
 * lazily): the provider, the AsyncLocalStorage context, the W3C propagator, the instrumentations
 * and BullMQ's telemetry adapter. docs/architecture.md, "Tracing", says what each one records.
 */

/** Probes and scrapes would each be a trace of their own, every few seconds, saying nothing. */
const UNTRACED_PATHS = new Set(['/healthz', '/readyz', '/metrics']);

export interface InstalledSdk {
  /** BullMQ's `telemetry` option: producer and consumer spans, the context carried in the job. */
  bullmq: BullMQOtel;
  shutdown(): Promise<void>;
}

export interface InstallOptions {
  /**
   * Patch the instrumented modules now, in place, instead of through require hooks. For a test
   * runner with a module loader of its own (jest), where require hooks never fire: the modules
   * this file requires are then the very objects the code under test holds.
   */
  patchInPlace?: boolean;
}

export function installSdk(processor: SpanProcessor, serviceName: string, options: InstallOptions = {}): InstalledSdk {
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const provider = new TracerProvider({
    // OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES override the default name.
    resource: resourceFromAttributes({ 'service.name': serviceName }).merge(detectResources({ detectors: [envDetector] })),
    // Follows the caller's sampled flag; a request without a traceparent starts a sampled trace.
    sampler: new ParentBasedSampler({ root: new AlwaysOnSampler() }),
    spanProcessors: [processor],
  });
  trace.setGlobalTracerProvider(provider);
  const instrumentations = [
    new HttpInstrumentation({ ignoreIncomingRequestHook: (req) => UNTRACED_PATHS.has((req.url ?? '').split('?')[0]) }),
    new UndiciInstrumentation(),
    new ExpressInstrumentation(),
    // Only inside a trace: the relay's polling and BullMQ's blocking reads would otherwise be
    // a root span each, every second, in every process.
    new PgInstrumentation({ requireParentSpan: true }),
    new IORedisInstrumentation({ requireParentSpan: true }),
  ];
  const unregister = registerInstrumentations({ tracerProvider: provider, instrumentations });
  const unpatch = options.patchInPlace ? patchInPlace(instrumentations) : () => undefined;
  return {
    bullmq: new BullMQOtel({ tracerName: TRACER_NAME }),
    async shutdown() {
      unpatch();
      unregister();
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}

/** Applies each instrumentation's patches to the modules as loaded now; returns the undo. */
function patchInPlace(instrumentations: ReadonlyArray<{ getModuleDefinitions(): InstrumentationModuleDefinition[] }>): () => void {
  const undo: Array<() => void> = [];
  for (const instrumentation of instrumentations) {
    for (const definition of instrumentation.getModuleDefinitions()) {
      // A module the application cannot load from here (pg-pool inside pg) is not one it uses.
      const loaded = requireIfPresent(definition.name);
      if (loaded === undefined) continue;
      const version = isBuiltin(definition.name) ? process.versions.node : installedVersion(definition.name);
      const patched = definition.patch?.(loaded, version) ?? loaded;
      undo.push(() => definition.unpatch?.(patched, version));
      for (const file of definition.files) {
        const fileExports = requireIfPresent(file.name);
        if (fileExports === undefined) continue;
        file.patch(fileExports, version);
        undo.push(() => file.unpatch(fileExports, version));
      }
    }
  }
  return () => {
    for (const step of undo.reverse()) step();
  };
}

/** undefined for a module that is not installed, or whose optional dependency is not (pg's native client without pg-native). */
function requireIfPresent(name: string): unknown {
  try {
    return require(name);
  } catch {
    return undefined;
  }
}

/** The version in a package's package.json, found from its entry file (its exports map may hide the file). */
function installedVersion(name: string): string {
  const entry = require.resolve(name);
  const root = entry.slice(0, entry.lastIndexOf(`${path.sep}node_modules${path.sep}${name.split('/').join(path.sep)}${path.sep}`));
  const file = path.join(root, 'node_modules', name, 'package.json');
  return (JSON.parse(fs.readFileSync(file, 'utf8')) as { version: string }).version;
}
