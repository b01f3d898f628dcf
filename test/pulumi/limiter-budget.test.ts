import { startEmulator, type Emulator } from '../../src/emulator';
import { createPulumiClient, PulumiBudget } from '../../src/pulumi';

/**
 * One Pulumi budget for the process, against the emulator over HTTP: two clients of one budget
 * (a reconcile's and the revoke lane's priority view) never start more than `maxRps` calls in
 * any second together, and the priority calls go before the reconcile calls queued ahead of
 * them. The assertions count calls and their order; slowness of the machine only lowers the
 * counts.
 */

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ seed: { org: 'acme', members: ['alice'], teams: [{ name: 'platform', members: ['alice'] }] } });
});
afterAll(() => emu.stop());

const MAX_RPS = 10;

/** The most starts within any sliding second. */
function busiestSecond(starts: number[]): number {
  const sorted = [...starts].sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < sorted.length; last++) {
    while (sorted[last] - sorted[first] >= 1000) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

test('the reconcile client and the priority view share one budget: never over maxRps, revocations first', async () => {
  const started: Array<{ at: number; method: string }> = [];
  const budget = new PulumiBudget({ maxRps: MAX_RPS, maxConcurrency: 4, priorityShare: 0.2 });
  const onCall = (call: { ms: number; method: string }) => void started.push({ at: performance.now() - call.ms, method: call.method });
  const reconcile = createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken, budget, onCall });
  const lane = createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken, budget, onCall }).priority;

  const pushReads = Array.from({ length: 30 }, () => reconcile.getTeam('acme', 'platform'));
  // Queued behind the push: token DELETEs of ids that are gone are answered 404 = done.
  const revocations = Array.from({ length: 5 }, (_, i) => lane.deleteTeamToken('acme', 'platform', `gone-${i}`));
  await Promise.all([...pushReads, ...revocations]);

  expect(started).toHaveLength(35);
  expect(busiestSecond(started.map((s) => s.at))).toBeLessThanOrEqual(MAX_RPS);
  const order = started.sort((a, b) => a.at - b.at).map((s) => s.method);
  // The push's first window (8 of the 10 starts: the rest is reserved) went before the lane
  // queued; every revocation went before the push's remaining calls.
  const lastDelete = order.lastIndexOf('DELETE');
  expect(order.slice(0, lastDelete + 1).filter((m) => m === 'GET').length).toBeLessThanOrEqual(8);
}, 60_000);
