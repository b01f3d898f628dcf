import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import path from 'node:path';
import { Redis, type RedisOptions } from 'ioredis';
import type { Logger } from '../log';
import { withTimeout } from '../util';

/**
 * Redis for BullMQ, sessions and SAML caches. Without REDIS_URL the daemon tries
 * redis://127.0.0.1:6379, then starts a private `redis-server` if one is on PATH
 * (docs/architecture.md, "zero config"), else stops with a clear error.
 */

export const DEFAULT_REDIS_URL = 'redis://127.0.0.1:6379';

export interface RedisEndpoint {
  url: string;
  /** Stops the private redis-server, when this process started one. */
  stop(): Promise<void>;
}

export function redisOptions(url: string, extra: RedisOptions = {}): RedisOptions & { url: string } {
  return { url, ...extra };
}

/** A connection for workers and blocking commands: BullMQ requires maxRetriesPerRequest null. */
export function createRedis(url: string, extra: RedisOptions = {}): Redis {
  return new Redis(url, { maxRetriesPerRequest: null, ...extra });
}

/** How long a request's rate-limit count may wait on Redis before the process counts it alone. */
export const LIMITS_COMMAND_TIMEOUT_MS = 1000;

/**
 * The connection the shared request limits count on. A request path must never wait for Redis
 * (docs/robustness.md, "Producers fail fast in HTTP paths"): no offline queue, a command caught by
 * a dropped connection fails instead of waiting to be resent, and each command has a deadline, so
 * the limiter falls back to its in-process count.
 */
export function createLimitsRedis(url: string): Redis {
  return new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    autoResendUnfulfilledCommands: false,
    commandTimeout: LIMITS_COMMAND_TIMEOUT_MS,
  });
}

/** What `maxmemory-policy` the Redis behind the queues runs with. */
export interface EvictionPolicy {
  /** As Redis reports it; null when it could not be read. */
  evictionPolicy: string | null;
  /** True for `noeviction`, the only policy BullMQ is correct with; null when unknown. */
  ok: boolean | null;
  /** Why it could not be read. */
  error?: string;
}

/**
 * Reads `maxmemory-policy`: CONFIG GET, else the INFO memory section (managed Redis often
 * refuses CONFIG but answers INFO). Never throws: an unreadable policy is `ok: null`.
 */
export async function readEvictionPolicy(redis: Redis, timeoutMs = 2000): Promise<EvictionPolicy> {
  const read = async (): Promise<string> => {
    if (redis.status !== 'ready') await once(redis, 'ready', { signal: AbortSignal.timeout(timeoutMs) });
    try {
      const [, value] = (await redis.config('GET', 'maxmemory-policy')) as string[];
      if (value) return value;
    } catch {
      // CONFIG disabled or renamed: INFO below.
    }
    const line = (await redis.info('memory')).split(/\r?\n/).find((l) => l.startsWith('maxmemory_policy:'));
    if (!line) throw new Error('neither CONFIG GET nor INFO memory reports maxmemory-policy');
    return line.slice('maxmemory_policy:'.length).trim();
  };
  try {
    const policy = await withTimeout(read(), timeoutMs);
    return { evictionPolicy: policy, ok: policy === 'noeviction' };
  } catch (err) {
    return { evictionPolicy: null, ok: null, error: (err as Error).message };
  }
}

/** What the start-up check does when Redis reads back a policy other than noeviction (REDIS_EVICTION_CHECK). */
export type EvictionCheck = 'refuse' | 'warn';

const EVICTION_RISK = 'under memory pressure Redis may evict BullMQ jobs and job locks, so reconciles and revokes can be lost or run twice';
const EVICTION_FIX = "set it with `CONFIG SET maxmemory-policy noeviction` and in redis.conf (or the managed service's parameter group)";

/** Redis runs with a `maxmemory-policy` BullMQ is not correct with, and REDIS_EVICTION_CHECK is `refuse`. */
export class EvictionPolicyError extends Error {
  constructor(readonly evictionPolicy: string) {
    super(
      `Redis maxmemory-policy is "${evictionPolicy}", not "noeviction": ${EVICTION_RISK}; ${EVICTION_FIX}, ` +
        'or set REDIS_EVICTION_CHECK=warn to start anyway',
    );
    this.name = 'EvictionPolicyError';
  }
}

/**
 * The start-up check (docs/robustness.md, "noeviction"): a readable policy other than noeviction
 * throws EvictionPolicyError under `refuse`, is logged as a warning under `warn`. A policy that
 * cannot be read (CONFIG and INFO refused, Redis unreachable) is logged at info and passes:
 * the daemon must start with Redis down ("Redis down at boot").
 */
export async function checkEvictionPolicy(redis: Redis, logger: Logger, mode: EvictionCheck): Promise<EvictionPolicy> {
  const result = await readEvictionPolicy(redis);
  if (result.evictionPolicy !== null && !result.ok) {
    if (mode === 'refuse') throw new EvictionPolicyError(result.evictionPolicy);
    logger.warn(
      `Redis maxmemory-policy is "${result.evictionPolicy}", not "noeviction": ${EVICTION_RISK}; ${EVICTION_FIX}. ` +
        'Starting anyway: REDIS_EVICTION_CHECK=warn',
      { evictionPolicy: result.evictionPolicy },
    );
  } else if (result.ok === null) {
    logger.info('could not check Redis maxmemory-policy (BullMQ needs noeviction); going on', { err: result.error });
  }
  return result;
}

async function reachable(url: string): Promise<boolean> {
  const probe = new Redis(url, {
    lazyConnect: true,
    maxRetriesPerRequest: 0,
    enableOfflineQueue: false,
    retryStrategy: () => null,
    connectTimeout: 1000,
  });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    await probe.ping();
    return true;
  } catch {
    return false;
  } finally {
    probe.disconnect();
  }
}

function onPath(binary: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${binary}`]).status === 0;
}

export async function resolveRedis(configured: string | undefined, dataDir: string, logger: Logger): Promise<RedisEndpoint> {
  if (configured) return { url: configured, stop: async () => undefined };
  if (await reachable(DEFAULT_REDIS_URL)) {
    return { url: DEFAULT_REDIS_URL, stop: async () => undefined };
  }
  if (!onPath('redis-server')) {
    throw new Error(`REDIS_URL is unset, nothing answers on ${DEFAULT_REDIS_URL}, and no redis-server is on PATH: set REDIS_URL or install Redis`);
  }
  const port = 6390;
  const dir = path.resolve(dataDir, 'redis');
  fs.mkdirSync(dir, { recursive: true });
  const child: ChildProcess = spawn(
    'redis-server',
    ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir, '--maxmemory-policy', 'noeviction'],
    { stdio: 'ignore' },
  );
  const url = `redis://127.0.0.1:${port}`;
  for (let i = 0; i < 50 && !(await reachable(url)); i++) {
    await new Promise((r) => setTimeout(r, 100));
  }
  logger.warn('no REDIS_URL and no local Redis: started a private redis-server', { port });
  return {
    url,
    stop: async () => {
      child.kill('SIGTERM');
    },
  };
}
