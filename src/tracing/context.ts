import { type Attributes, context, type Link, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

/**
 * Tracing as the parts see it: the W3C `traceparent` of the active span (to store with work that
 * outlives the request), and spans started under a stored one. Only @opentelemetry/api: with
 * tracing off every call here is a no-op that loads nothing.
 */

export const TRACER_NAME = 'pulumi-idp-sync';

let enabled = false;

/** Set by src/tracing/index.ts when it installs or removes the SDK. */
export function setTracingEnabled(on: boolean): void {
  enabled = on;
}

export function tracingEnabled(): boolean {
  return enabled;
}

/** The W3C traceparent of the active span; undefined when tracing is off or no span is active. */
export function currentTraceparent(): string | undefined {
  if (!enabled) return undefined;
  const carrier: { traceparent?: string } = {};
  propagation.inject(context.active(), carrier);
  return carrier.traceparent;
}

function spanContextOf(traceparent: string) {
  return trace.getSpanContext(propagation.extract(ROOT_CONTEXT, { traceparent }));
}

export interface SpanOptions {
  /** The stored traceparent the span continues; without it, the active context. */
  parent?: string;
  /** Other stored traceparents this span also serves (a job that merges several rows). */
  links?: readonly string[];
  kind?: SpanKind;
  attributes?: Attributes;
}

/** Runs `fn` in a new active span; a rejection marks the span failed and is rethrown. */
export async function withSpan<T>(name: string, options: SpanOptions, fn: () => Promise<T>): Promise<T> {
  if (!enabled) return fn();
  const parent = options.parent ? propagation.extract(ROOT_CONTEXT, { traceparent: options.parent }) : context.active();
  const links: Link[] = [];
  for (const traceparent of options.links ?? []) {
    const linked = spanContextOf(traceparent);
    if (linked) links.push({ context: linked });
  }
  return trace.getTracer(TRACER_NAME).startActiveSpan(name, { kind: options.kind, attributes: options.attributes, links }, parent, async (span) => {
    try {
      return await fn();
    } catch (err) {
      span.recordException(err as Error);
      span.setStatus({ code: SpanStatusCode.ERROR, message: (err as Error).message });
      throw err;
    } finally {
      span.end();
    }
  });
}

/**
 * Runs a queue job in its span. BullMQ's telemetry already runs the processor inside its consumer
 * span, a descendant of the enqueuing context, so the job's span goes under it when the job's
 * stored traceparent is of the same trace. Deduplication can give a waiting job newer data than
 * its telemetry (the follow-up of another request): then the stored traceparent is the parent,
 * since that is the request the job now serves, and BullMQ's span is linked.
 */
export function withJobSpan<T>(name: string, traceparent: string | undefined, attributes: Attributes, fn: () => Promise<T>): Promise<T> {
  if (!enabled) return fn();
  const stored = traceparent ? spanContextOf(traceparent) : undefined;
  const active = trace.getSpanContext(context.active());
  if (!stored || stored.traceId === active?.traceId) return withSpan(name, { kind: SpanKind.CONSUMER, attributes }, fn);
  const consumer = currentTraceparent();
  return withSpan(name, { parent: traceparent, links: consumer ? [consumer] : [], kind: SpanKind.CONSUMER, attributes }, fn);
}
