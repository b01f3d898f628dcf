import { startEmulator, type Emulator } from '../../src/emulator';
import { createPulumiClient, PulumiBudget } from '../../src/pulumi';

/**
 * One Pulumi budget for the process, against the emulator over HTTP: two clients of one budget
 * (a reconcile's and the revoke lane's priority view) together take at least as long as `maxRps`
 * allows, and the priority calls go before the reconcile calls queued ahead of them. Slowness of
 * the machine only lengthens the run.
 */

let emu: Emulator;

beforeAll(async () => {
  emu = await startEmulator({ seed: { org: 'acme', members: ['alice'], teams: [{ name: 'platform', members: ['alice'] }] } });
});
afterAll(() => emu.stop());

const MAX_RPS = 10;

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
  // n starts at maxRps per second take at least ceil(n / maxRps) - 1 seconds from the first to
  // the last: a bound a slow machine only widens. (Starts per sliding second, read here from the
  // client's clock after the limiter admitted each call, drifted past maxRps on a saturated machine.)
  const at = started.map((s) => s.at);
  expect(Math.max(...at) - Math.min(...at)).toBeGreaterThanOrEqual((Math.ceil(started.length / MAX_RPS) - 1) * 1000);
  const order = started.sort((a, b) => a.at - b.at).map((s) => s.method);
  // The push's first window (8 of the 10 starts: the rest is reserved) went before the lane
  // queued; every revocation went before the push's remaining calls.
  const lastDelete = order.lastIndexOf('DELETE');
  expect(order.slice(0, lastDelete + 1).filter((m) => m === 'GET').length).toBeLessThanOrEqual(8);
}, 60_000);
