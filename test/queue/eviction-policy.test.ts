import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { startPrivateRedis, type PrivateRedis } from '../../bench/lib/processes';
import { createLogger } from '../../src/log';
import { registry } from '../../src/metrics';
import { createQueueFactory, QUEUE, type QueueFactory } from '../../src/queue';
import { readStatus } from '../../src/reconcile';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { uniquePrefix } from '../helpers/redis';

/**
 * The start-up check that Redis runs with `maxmemory-policy noeviction` (BullMQ's
 * requirement), on a private redis-server: the policy is changed with CONFIG SET, which the
 * machine's shared Redis must not see.
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
async function withQueues(url: string, use: (queues: QueueFactory) => Promise<void>): Promise<LogLine[]> {
  const logs: LogLine[] = [];
  const stream = new PassThrough();
  stream.on('data', (chunk: Buffer) => {
    for (const line of chunk.toString('utf8').split('\n')) if (line) logs.push(JSON.parse(line) as LogLine);
  });
  const queues = createQueueFactory({ redisUrl: url, prefix: uniquePrefix(), logger: createLogger({ level: 'debug', stream }) });
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
  it('noeviction: status and gauge say ok, nothing is warned', async () => {
    await admin.config('SET', 'maxmemory-policy', 'noeviction');
    const logs = await withQueues(redis.url, async (queues) => {
      expect((await readStatus(database.db, queues)).redis).toEqual({ evictionPolicy: 'noeviction', ok: true });
      expect(await gauge()).toBe(1);
    });
    expect(logs.filter(aboutEviction)).toEqual([]);
  });

  it('another policy: a warning naming the setting and the fix, shown in status and the gauge; the queues still work', async () => {
    await admin.config('SET', 'maxmemory-policy', 'allkeys-lru');
    const logs = await withQueues(redis.url, async (queues) => {
      expect((await readStatus(database.db, queues)).redis).toEqual({ evictionPolicy: 'allkeys-lru', ok: false });
      expect(await gauge()).toBe(0);
      await queues.queue(QUEUE.reconcile).add('team', { team: 'still-works', reason: 'manual' });
      expect(await queues.queue(QUEUE.reconcile).getJobCounts('wait')).toEqual({ wait: 1 });
    });
    const warnings = logs.filter(aboutEviction);
    expect(warnings).toMatchObject([{ level: 'warn', evictionPolicy: 'allkeys-lru' }]);
    expect(warnings[0].message).toContain('maxmemory-policy noeviction');
  });

  it('CONFIG refused, as on managed Redis: the policy is read from INFO instead', async () => {
    await admin.config('SET', 'maxmemory-policy', 'volatile-lru');
    await admin.call('ACL', 'SETUSER', 'managed', 'on', '>managed-secret', '~*', '&*', '+@all', '-config');
    const logs = await withQueues(redis.url.replace('redis://', 'redis://managed:managed-secret@'), async (queues) => {
      expect((await readStatus(database.db, queues)).redis).toEqual({ evictionPolicy: 'volatile-lru', ok: false });
      await expect(queues.producer.config('GET', 'maxmemory-policy')).rejects.toThrow(/NOPERM/);
    });
    expect(logs.filter(aboutEviction)).toMatchObject([{ level: 'warn', evictionPolicy: 'volatile-lru' }]);
  });

  it('unreadable (Redis unreachable): logged at info as not checked, status and gauge say unknown', async () => {
    const logs = await withQueues('redis://127.0.0.1:1', async (queues) => {
      expect((await readStatus(database.db, queues)).redis).toEqual({ evictionPolicy: null, ok: null, error: expect.any(String) });
      expect(await gauge()).toBeNaN();
    });
    expect(logs.filter(aboutEviction)).toMatchObject([{ level: 'info', message: expect.stringContaining('could not check') }]);
  });
});
