import { seedFor } from '../helpers/stack/directory';
import { startPrivateRedis, type PrivateRedis } from '../helpers/stack/processes';
import { oktaUser } from '../helpers/stack/scim-client';
import { benchPolicy, startStack, type Stack } from '../helpers/stack/stack';
import { SMALL } from './harness';

/**
 * Graceful shutdown with deadlines: SIGTERM ends the daemon with exit code 0 while requests are
 * in flight, and still ends it — within the deadlines — when Redis has gone away first (BullMQ's
 * `close()` alone never resolves while Redis is unreachable, bullmq#4656).
 */

const EXIT_WITHIN_MS = 45_000;

async function exitsWithin(stack: Stack, ms: number): Promise<number | string> {
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  const code = await Promise.race([
    stack.daemon.exited,
    new Promise<string>((resolve) => {
      timer = setTimeout(() => resolve('still running'), ms);
    }),
  ]);
  clearTimeout(timer);
  if (code === 'still running') await stack.daemon.kill();
  return Date.now() - started <= ms ? code : 'still running';
}

describe('SIGTERM', () => {
  let redis: PrivateRedis;
  let stack: Stack;

  afterEach(async () => {
    await stack?.stop();
    await redis?.stop();
  });

  it('stops in order with requests in flight and exits 0', async () => {
    redis = await startPrivateRedis();
    stack = await startStack({ label: 'shutdown', seed: seedFor(SMALL), policy: benchPolicy(), pulumiLatencyMs: 5, redis, mode: 'source' });
    expect((await stack.scim.request('POST', '/Users', oktaUser(0))).status).toBe(201);
    // Fewer than the client's sockets, so each request is really at the server, not queued here.
    const inFlight = Array.from({ length: 5 }, (_, i) => stack.scim.request('POST', '/Users', oktaUser(i + 1)).catch(() => ({ status: 0 })));
    await new Promise((r) => setTimeout(r, 100)); // let them reach the server
    stack.daemon.child.kill('SIGTERM');
    const code = await exitsWithin(stack, EXIT_WITHIN_MS);
    // Requests already accepted are answered, not cut: SIGTERM drains HTTP before it stops.
    expect((await Promise.all(inFlight)).map((r) => r.status)).toEqual(Array(5).fill(201));
    expect(code).toBe(0);
  }, 120_000);

  it('exits within its deadlines when Redis is already gone', async () => {
    redis = await startPrivateRedis();
    stack = await startStack({ label: 'shutdownnoredis', seed: seedFor(SMALL), policy: benchPolicy(), pulumiLatencyMs: 5, redis, mode: 'source' });
    await redis.stop();
    await new Promise((r) => setTimeout(r, 500));
    stack.daemon.child.kill('SIGTERM');
    expect(await exitsWithin(stack, EXIT_WITHIN_MS)).not.toBe('still running');
  }, 120_000);
});
