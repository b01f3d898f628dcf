import { desiredTeams, pushDirectory, seedFor } from '../helpers/stack/directory';
import { benchPolicy, startStack, type Stack } from '../helpers/stack/stack';
import { acknowledged, createHandTokens, desiredWithout, expectConverged, expectRevokedOnce, SMALL } from './harness';

/**
 * SIGKILL the worker process again and again during an initial push and during deprovisioning.
 * BullMQ re-delivers what a dead worker held (stall recovery, after the lock expires), and
 * every job recomputes its plan from current state, so the end state is exact and each due
 * token is revoked once.
 */

let stack: Stack;

beforeAll(async () => {
  stack = await startStack({ label: 'chaoskill', seed: seedFor(SMALL), policy: benchPolicy(), pulumiLatencyMs: 5, workers: 1, mode: 'source' });
}, 90_000);

afterAll(async () => {
  await stack?.stop();
});

async function killWorkersRepeatedly(times: number, everyMs: number): Promise<number> {
  let killed = 0;
  for (let i = 0; i < times; i++) {
    await new Promise((r) => setTimeout(r, everyMs));
    const current = stack.workers[stack.workers.length - 1];
    const how = await current.kill();
    if (how === 'SIGKILL') killed += 1;
    stack.startWorker();
  }
  return killed;
}

it('converges and revokes exactly once while workers are SIGKILLed', async () => {
  const killing = killWorkersRepeatedly(4, 1200);
  const push = await pushDirectory(stack.scim, SMALL, 4);
  expect(await killing).toBe(4);
  await expectConverged(stack, desiredTeams(SMALL), 150_000);

  const due = await createHandTokens(stack, SMALL, [0, 1, 2]);
  const notDue = await createHandTokens(stack, SMALL, [3, 4, 5]);
  const killingAgain = killWorkersRepeatedly(2, 400);
  for (const u of due.keys()) await acknowledged(`deactivate user${u}`, () => stack.scim.setActive(push.userIds[u], false));
  await killingAgain;
  await expectConverged(stack, desiredWithout(SMALL, new Set(due.keys())), 150_000);
  await expectRevokedOnce(stack, due, notDue, 60_000);
}, 480_000);
