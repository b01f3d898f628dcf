import http from 'node:http';
import { seedFor } from '../helpers/stack/directory';
import { startPrivateRedis, waitFor, type PrivateRedis } from '../helpers/stack/processes';
import { oktaUser, type ScimClient } from '../helpers/stack/scim-client';
import { benchPolicy, startStack, type Stack } from '../helpers/stack/stack';
import { SMALL } from './harness';

/**
 * Graceful shutdown with deadlines: SIGTERM ends the daemon with exit code 0 while requests are
 * in flight, and still ends it — within the deadlines — when Redis has gone away first (BullMQ's
 * `close()` alone never resolves while Redis is unreachable, bullmq#4656).
 */

const EXIT_WITHIN_MS = 45_000;

/**
 * A SCIM create the server has already begun: the headers go first with `Expect: 100-continue`,
 * and the server's 100 Continue says it has parsed them and is handling the request (so a
 * shutdown must drain it, not refuse it). `send` then sends the body and resolves with the status.
 */
async function startedCreate(scim: ScimClient, body: unknown): Promise<{ send(): Promise<number> }> {
  const json = JSON.stringify(body);
  const req = http.request(`${scim.base}/Users`, {
    method: 'POST',
    agent: false,
    headers: { ...scim.headers, 'content-length': Buffer.byteLength(json), expect: '100-continue' },
  });
  const status = new Promise<number>((resolve) => {
    req.once('response', (res) => {
      res.resume();
      resolve(res.statusCode ?? 0);
    });
    req.once('error', () => resolve(0));
  });
  await new Promise<void>((resolve, reject) => {
    req.once('continue', () => resolve());
    req.once('error', reject);
    req.flushHeaders();
  });
  return {
    send() {
      req.end(json);
      return status;
    },
  };
}

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
    const inFlight = await Promise.all(Array.from({ length: 5 }, (_, i) => startedCreate(stack.scim, oktaUser(i + 1))));
    stack.daemon.child.kill('SIGTERM');
    const statuses = await Promise.all(inFlight.map((request) => request.send()));
    const code = await exitsWithin(stack, EXIT_WITHIN_MS);
    // Requests already accepted are answered, not cut: SIGTERM drains HTTP before it stops.
    expect(statuses).toEqual(Array(5).fill(201));
    expect(code).toBe(0);
  }, 120_000);

  it('exits within its deadlines when Redis is already gone', async () => {
    redis = await startPrivateRedis();
    stack = await startStack({ label: 'shutdownnoredis', seed: seedFor(SMALL), policy: benchPolicy(), pulumiLatencyMs: 5, redis, mode: 'source' });
    await redis.stop();
    await waitFor(
      'the daemon to see Redis gone',
      async () => ((await (await fetch(`${stack.daemonUrl}/readyz`)).json()) as any).checks?.redis?.ok === false,
      EXIT_WITHIN_MS,
    );
    stack.daemon.child.kill('SIGTERM');
    expect(await exitsWithin(stack, EXIT_WITHIN_MS)).not.toBe('still running');
  }, 120_000);
});
