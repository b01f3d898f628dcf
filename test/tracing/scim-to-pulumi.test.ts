import { context, ROOT_CONTEXT, SpanKind } from '@opentelemetry/api';
import { suppressTracing } from '@opentelemetry/core';
import { InMemorySpanExporter, type ReadableSpan } from '@opentelemetry/sdk-trace';
import { installTracing, stopTracing } from '../../src/tracing';
import { waitFor } from '../helpers/stack/processes';
import { emuTeam, type Harness, okta, startHarness } from '../reconcile/harness';

/**
 * One trace from the IdP's request to the Pulumi write, through the real path: a SCIM PATCH
 * with a `traceparent` → outbox row → relay → BullMQ → worker → Pulumi client → emulator. The
 * emulator sees the request's trace id on every call the change causes, and the in-memory
 * exporter holds one connected span tree under the IdP's span.
 */

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const IDP_SPAN_ID = '00f067aa0ba902b7';
const IDP_TRACEPARENT = `00-${TRACE_ID}-${IDP_SPAN_ID}-01`;
const PATCH_OP = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

let h: Harness;
const exporter = new InMemorySpanExporter();
const ids: Record<string, string> = {};

/** The IdP's request: its own traceparent header, untouched by this process's fetch instrumentation. */
function asIdp<T>(send: () => Promise<T>): Promise<T> {
  return context.with(suppressTracing(ROOT_CONTEXT), send);
}

function spansOfTrace(): ReadableSpan[] {
  return exporter.getFinishedSpans().filter((s) => s.spanContext().traceId === TRACE_ID);
}

/** The spans whose parent is neither the IdP's span nor another span of the trace, as `name ← parent`. */
function orphans(spans: ReadableSpan[]): string[] {
  const known = new Set([IDP_SPAN_ID, ...spans.map((s) => s.spanContext().spanId)]);
  return spans.filter((s) => !known.has(s.parentSpanContext?.spanId ?? '')).map((s) => `${s.name} ← ${s.parentSpanContext?.spanId ?? 'no parent'}`);
}

/** Every Pulumi call since the reset carries the IdP's trace id, and the trace is one tree holding `expectedSpans`. */
function expectOneTrace(expectedSpans: string[]): void {
  const calls = h.emu.calls.entries;
  expect(calls.filter((c) => c.write).length).toBeGreaterThan(0);
  for (const call of calls) {
    expect({ call: `${call.method} ${call.route}`, traceId: call.traceparent?.split('-')[1] }).toEqual({
      call: `${call.method} ${call.route}`,
      traceId: TRACE_ID,
    });
  }

  const spans = spansOfTrace();
  expect(orphans(spans)).toEqual([]);
  // The one span under the IdP's: the SCIM request as this server saw it.
  const roots = spans.filter((s) => s.parentSpanContext?.spanId === IDP_SPAN_ID);
  expect(roots.map((s) => s.kind)).toEqual([SpanKind.SERVER]);
  expect(spans.map((s) => s.name)).toEqual(expect.arrayContaining(expectedSpans));
  // BullMQ's own producer and consumer spans are in the tree too.
  expect(spans.some((s) => s.kind === SpanKind.PRODUCER)).toBe(true);
  // Each Pulumi call is an HTTP client span of the tree: the traceparent it sent names it.
  const clientSpans = new Set(spans.filter((s) => s.kind === SpanKind.CLIENT).map((s) => s.spanContext().spanId));
  for (const call of calls) expect(clientSpans.has(call.traceparent?.split('-')[2] ?? '')).toBe(true);
}

beforeAll(async () => {
  // Before the harness: its queues and workers take BullMQ's telemetry when they are built.
  installTracing(exporter);
  h = await startHarness({ seed: { members: ['alice', 'bob'], stacks: ['infra/dev'] } });
  h.startWorker();
  h.startRevokeLane({ sweepEveryMs: 0 });
  for (const name of ['alice', 'bob']) ids[name] = await okta.createUser(h, `${name}@example.com`);
  ids.platform = await okta.createGroup(h, 'Platform Engineers');
  await okta.addMembers(h, ids.platform, [ids.alice]);
  await h.settle();
  await h.idle(['revoke']);
  h.relay.start();
}, 300_000);

afterAll(async () => {
  await h?.close();
  await stopTracing();
});

beforeEach(async () => {
  await h.emu.calls.idle();
  h.emu.calls.reset();
  exporter.reset();
});

test('a membership PATCH with a traceparent reaches Pulumi in the same trace, as one span tree', async () => {
  const body = { schemas: [PATCH_OP], Operations: [{ op: 'add', path: 'members', value: [{ value: ids.bob }] }] };
  const res = await asIdp(() => h.scim.request('PATCH', `/Groups/${ids.platform}`, body, { traceparent: IDP_TRACEPARENT }));
  expect(res.status).toBe(204);

  const row = await h.scim.db('outbox').where({ kind: 'group.members_changed' }).orderBy('id', 'desc').first('traceparent');
  expect(row?.traceparent).toMatch(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`));

  await waitFor('bob in the platform team', async () => emuTeam(h.emu, 'platform')?.members.includes('bob') ?? false, 120_000);
  await waitFor('the team job span ended', async () => spansOfTrace().some((s) => s.name === 'reconcile team'), 120_000);
  await h.settle();

  expectOneTrace(['outbox publish team', 'reconcile team']);
}, 300_000);

test('a deactivation with a traceparent: the revoke lane and the team job both continue the trace', async () => {
  const body = { schemas: [PATCH_OP], Operations: [{ op: 'replace', value: { active: false } }] };
  const res = await asIdp(() => h.scim.request('PATCH', `/Users/${ids.alice}`, body, { traceparent: IDP_TRACEPARENT }));
  expect(res.status).toBe(200);

  await waitFor('alice out of the platform team', async () => !(emuTeam(h.emu, 'platform')?.members.includes('alice') ?? true), 120_000);
  await waitFor('both job spans ended', async () => ['reconcile team', 'revoke'].every((name) => spansOfTrace().some((s) => s.name === name)), 120_000);
  await h.settle();
  await h.idle(['revoke']);

  expectOneTrace(['outbox publish team', 'outbox publish revoke', 'reconcile team', 'revoke']);
}, 300_000);
