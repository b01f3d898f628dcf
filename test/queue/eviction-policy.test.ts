import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../helpers/stack/processes';
import { createLogger } from '../../src/log';
import { ConfigError, loadConfig } from '../../src/config';
import { registry } from '../../src/metrics';
import { createQueueFactory, EvictionPolicyError, QUEUE, type EvictionCheck, type QueueFactory } from '../../src/queue';
import { readStatus } from '../../src/reconcile';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { uniquePrefix } from '../helpers/redis';

/**
 * The start-up check that Redis runs with `maxmemory-policy noeviction` (BullMQ's
 * requirement), on a private redis-server: the policy is changed with CONFIG SET, which the
 * machine's shared Redis must not see. The entry points' refusal is in
 * test/chaos/redis-eviction-boot.test.ts.
 */

let redis: PrivateRedis;
let admin: Redis;
let database: TestDatabase;

beforeAll(async () => {
  redis = await startPrivateRedis();
  admin = new Redis(redis.url);
  database = await createTestDatabase();
});
afterAll(async () => {
  admin?.disconnect();
  await redis?.stop();
  await database?.drop();
});

interface LogLine {
  level: string;
  message: string;
  [key: string]: unknown;
}

/** Runs `use` on a queue factory on `url`, closes it (the start-up check has then finished), and returns its log lines. */
async function withQueues(url: string, evictionCheck: EvictionCheck, use: (queues: QueueFactory) => Promise<void>): Promise<LogLine[]> {
  const logs: LogLine[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
  });
  const queues = createQueueFactory({ redisUrl: url, prefix: uniquePrefix(), logger: createLogger({ level: 'debug', stream }), evictionCheck });
  try {
    await use(queues);
  } finally {
    await queues.close(2000);
  }
  // Lines logged just before close pass winston's stream on the next turn at the latest.
  await new Promise((resolve) => setImmediate(resolve));
  return logs;
}

async function gauge(): Promise<number> {
  const line = (await registry.metrics()).split('\n').find((l) => l.startsWith('idp_sync_redis_noeviction '));
  return Number(line?.split(' ')[1]);
}

const aboutEviction = (l: LogLine) => l.message.includes('maxmemory-policy');

describe('Redis eviction policy', () => {
  it('noeviction: the refusing check passes, status and gauge say ok, nothing is warned', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    const logs = await withQueues(redis.url, 'refuse', async (queues) => {
      await expect(queues.startupCheck()).resolves.toEqual({ evictionPolicy: 'noeviction', ok: true });
      expect((await readStatus(database.db, queues)).redis).toEqual({ evictionPolicy: 'noeviction', ok: true });
      expect(await gauge()).toBe(1);
    });
    expect(logs.filter(aboutEviction)).toEqual([]);
  });

  it('another policy, refuse: the start-up check rejects naming the setting, the risk and the fix, and logs nothing itself', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    let refusal: unknown;
    const logs = await withQueues(redis.url, 'refuse', async (queues) => {
      refusal = await queues.startupCheck().catch((err: unknown) => err);
    });
    expect(refusal).toBeInstanceOf(EvictionPolicyError);
    expect(refusal).toMatchObject({ evictionPolicy: 'allkeys-lru' });
    const { message } = refusal as EvictionPolicyError;
    expect(message).toContain('maxmemory-policy is "allkeys-lru"');
    expect(message).toContain('lost or run twice');
    expect(message).toContain('CONFIG SET maxmemory-policy noeviction');
    expect(message).toContain('REDIS_EVICTION_CHECK=warn');
    expect(logs.filter(aboutEviction)).toEqual([]);
  });

  it('another policy, warn: a warning naming the setting and the fix, shown in status and the gauge; the queues still work', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const logs = await withQueues(redis.url, 'warn', async (queues) => {
      await expect(queues.startupCheck()).resolves.toEqual({ evictionPolicy: 'allkeys-lru', ok: false });
      expect((await readStatus(database.db, queues)).redis).toEqual({ evictionPolicy: 'allkeys-lru', ok: false });
      expect(await gauge()).toBe(0);
      await queues.queue(QUEUE.reconcile).add('team', { team: 'still-works', reason: 'manual' });
      expect(await queues.queue(QUEUE.reconcile).getJobCounts('wait')).toEqual({ wait: 1 });
    });
    const warnings = logs.filter(aboutEviction);
    expect(warnings).toMatchObject([{ level: 'warn', evictionPolicy: 'allkeys-lru' }]);
    expect(warnings[0].message).toContain('maxmemory-policy noeviction');
  });

  it('CONFIG refused, as on managed Redis: the policy is read from INFO instead (and refused)', async () => {
    await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
    await admin.call('ACL', 'SETUSER', 'managed', 'on', '>managed-secret', '~*', '&*', '+@all', '-config');
    const managed = redis.url.replace('redis://', 'redis://managed:managed-secret@');
    await withQueues(managed, 'refuse', async (queues) => {
      await expect(queues.startupCheck()).rejects.toMatchObject({ name: 'EvictionPolicyError', evictionPolicy: 'volatile-lru' });
    });
    const logs = await withQueues(managed, 'warn', async (queues) => {
      expect((await readStatus(database.db, queues)).redis).toEqual({ evictionPolicy: 'volatile-lru', ok: false });
      await expect(queues.producer.config('GET', 'maxmemory-policy')).rejects.toThrow(/NOPERM/);
    });
    expect(logs.filter(aboutEviction)).toMatchObject([{ level: 'warn', evictionPolicy: 'volatile-lru' }]);
  });

  it('CONFIG and INFO both refused: logged at info as not checked, and the refusing check lets it start', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    await admin.call('ACL', 'SETUSER', 'locked', 'on', '>locked-secret', '~*', '&*', '+@all', '-config', '-info');
    const logs = await withQueues(redis.url.replace('redis://', 'redis://locked:locked-secret@'), 'refuse', async (queues) => {
      await expect(queues.startupCheck()).resolves.toEqual({ evictionPolicy: null, ok: null, error: expect.any(String) });
    });
    expect(logs.filter(aboutEviction)).toMatchObject([{ level: 'info', message: expect.stringContaining('could not check') }]);
  });

  it('unreadable (Redis unreachable): logged at info as not checked, not refused, status and gauge say unknown', async () => {
    const logs = await withQueues('redis://127.0.0.1:1', 'refuse', async (queues) => {
      await expect(queues.startupCheck()).resolves.toMatchObject({ evictionPolicy: null, ok: null });
      expect((await readStatus(database.db, queues)).redis).toEqual({ evictionPolicy: null, ok: null, error: expect.any(String) });
      expect(await gauge()).toBeNaN();
    });
    expect(logs.filter(aboutEviction)).toMatchObject([{ level: 'info', message: expect.stringContaining('could not check') }]);
  });

  it('REDIS_EVICTION_CHECK: refuse by default and when empty, warn on request, anything else named as bad', () => {
    expect(loadConfig({}).REDIS_EVICTION_CHECK).toBe('refuse');
    expect(loadConfig({ REDIS_EVICTION_CHECK: ' ' }).REDIS_EVICTION_CHECK).toBe('refuse');
    expect(loadConfig({ REDIS_EVICTION_CHECK: 'warn' }).REDIS_EVICTION_CHECK).toBe('warn');
    expect(() => loadConfig({ REDIS_EVICTION_CHECK: 'off' })).toThrow(ConfigError);
    expect(() => loadConfig({ REDIS_EVICTION_CHECK: 'off' })).toThrow(/REDIS_EVICTION_CHECK:/);
  });
});
