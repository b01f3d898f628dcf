import { randomUUID } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from '../log';

/**
 * Notices that Redis lost its data (a restart without persistence, a failover to an empty
 * replica, a FLUSHALL) so the daemon can set its schedules again and reconcile everything
 * (docs/robustness.md, "Redis coming back empty").
 *
 * The epoch is one key all processes share: the first to find it absent writes a fresh value
 * (SET NX) and every process adopts whatever value the key holds. A process whose adopted value
 * is gone or replaced knows the data it relied on is gone. It is checked on every reconnect
 * and every `everyMs`, together with `schedulesPresent` (a schedule can go missing without the
 * key, say a partial restore).
 */

export interface RedisEpochWatchOptions {
  redis: Redis;
  /** The key, under the queue prefix. */
  key: string;
  logger: Logger;
  /** Whether the repeatable schedules exist; checked only after `armed` resolved true. */
  schedulesPresent(): Promise<boolean>;
  /** Start-up has set the schedules (they may not exist before). */
  armed: Promise<boolean>;
  /** Sets the schedules again and reconciles everything; must be idempotent. */
  repair(why: RedisResetReason): Promise<void>;
  /** @defaultValue 10000 */
  everyMs?: number;
}

export type RedisResetReason = 'epoch-lost' | 'schedules-missing';

export interface RedisEpochWatch {
  /** One check now (also what the timer and reconnects run); resolves with the reset seen, if any. */
  check(): Promise<RedisResetReason | undefined>;
  stop(): void;
}

/** The epoch key of a queue prefix. */
export function redisEpochKey(prefix: string): string {
  return `${prefix}:redis-epoch`;
}

export function watchRedisEpoch(options: RedisEpochWatchOptions): RedisEpochWatch {
  const { redis, key, logger } = options;
  let epoch: string | undefined;
  let armed = false;
  let running: Promise<RedisResetReason | undefined> | undefined;
  /** A reset whose repair has not finished yet (Redis went away again): the next check retries it. */
  let owed: RedisResetReason | undefined;
  void options.armed.then((done) => {
    armed = done;
  });

  /** The shared epoch: the key's value, written first when absent. */
  async function adopt(): Promise<string> {
    await redis.set(key, randomUUID(), 'NX');
    return (await redis.get(key)) ?? adopt();
  }

  async function checkOnce(): Promise<RedisResetReason | undefined> {
    const seen = await redis.get(key);
    let why: RedisResetReason | undefined;
    if (epoch === undefined) epoch = await adopt();
    else if (seen !== epoch) {
      why = 'epoch-lost';
      epoch = await adopt();
    }
    if (!why && armed && !(await options.schedulesPresent())) why = 'schedules-missing';
    if (why) logger.warn('Redis lost its data: setting the schedules again and reconciling everything', { category: 'sync', why });
    owed ??= why;
    if (owed) {
      await options.repair(owed);
      owed = undefined;
    }
    return why;
  }

  function check(): Promise<RedisResetReason | undefined> {
    // One check at a time: a reconnect during a timer check joins it.
    running ??= checkOnce().finally(() => {
      running = undefined;
    });
    return running;
  }

  const quietCheck = () => {
    check().catch((err: unknown) => logger.debug('Redis epoch check failed; the next one retries', { err: (err as Error).message }));
  };
  const timer = setInterval(quietCheck, options.everyMs ?? 10_000).unref();
  redis.on('ready', quietCheck);
  if (redis.status === 'ready') quietCheck();
  return {
    check,
    stop() {
      clearInterval(timer);
      redis.off('ready', quietCheck);
    },
  };
}
