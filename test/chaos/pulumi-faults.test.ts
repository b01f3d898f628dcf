import { desiredTeams, pushDirectory, seedFor } from '../helpers/stack/directory';
import { benchPolicy, startStack, type Stack } from '../helpers/stack/stack';
import { acknowledged, createHandTokens, desiredWithout, expectConverged, expectRevokedOnce, SMALL } from './harness';

/**
 * A bad day at Pulumi: 10 % of calls answered 429 with Retry-After, 10 % answered 5xx, and 5 %
 * delayed by 400 ms. The emulator applies nothing for a faulted call, so every change must be
 * retried until it lands — and a revocation must land exactly once.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: 'chaospulumi', seed: seedFor(SMALL), policy: benchPolicy(), pulumiLatencyMs: 5, mode: 'source' });
  stack.emulator.faults.add({ path: '/api/**', kind: 'rate-limit', rate: 0.1, retryAfterSeconds: 1 });
  stack.emulator.faults.add({ path: '/api/**', kind: 'status', status: 503, rate: 0.05 });
  stack.emulator.faults.add({ path: '/api/**', kind: 'status', status: 500, rate: 0.05 });
  stack.emulator.faults.add({ path: '/api/**', kind: 'latency', latencyMs: 400, rate: 0.05 });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

it('converges and revokes exactly once through 429s, 5xx and latency spikes', async () => {
  const push = await pushDirectory(stack.scim, SMALL, 4);
  await expectConverged(stack, desiredTeams(SMALL), 120_000);
  const due = await createHandTokens(stack, SMALL, [0, 1, 2]);
  const notDue = await createHandTokens(stack, SMALL, [3, 4]);
  for (const u of due.keys()) await acknowledged(`deactivate user${u}`, () => stack.scim.setActive(push.userIds[u], false));
  await expectConverged(stack, desiredWithout(SMALL, new Set(due.keys())), 120_000);
  await expectRevokedOnce(stack, due, notDue, 60_000);
  const statuses = stack.tap.calls.map((c) => c.status);
  expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
  expect(statuses.filter((s) => s >= 500).length).toBeGreaterThan(0);
}, 300_000);
