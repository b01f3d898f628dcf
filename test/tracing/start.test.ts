import { currentTraceparent, startTracing, stopTracing, TracingConfigError, tracingEnabled, withSpan } from '../../src/tracing';

/** When the environment turns tracing on, and what an unusable endpoint does. */

afterEach(async () => {
  await stopTracing();
});

test('off without an OTLP endpoint: the helpers do nothing', async () => {
  expect(startTracing({})).toBe(false);
  expect(tracingEnabled()).toBe(false);
  expect(await withSpan('nothing', {}, async () => currentTraceparent())).toBeUndefined();
});

test('OTEL_SDK_DISABLED=true wins over an endpoint', () => {
  expect(startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'TRUE' })).toBe(false);
});

test('an endpoint that is not an http(s) URL is a configuration error naming the variable', () => {
  expect(() => startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'collector:4317' })).toThrow(TracingConfigError);
  expect(() => startTracing({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'grpc://collector:4317' })).toThrow(/^OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: /);
  expect(tracingEnabled()).toBe(false);
});

test('on with an endpoint', () => {
  expect(startTracing({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
  expect(tracingEnabled()).toBe(true);
  // Outside any span there is nothing to carry.
  expect(currentTraceparent()).toBeUndefined();
});
