import { Redis } from 'ioredis';
import { RedisStore } from 'connect-redis';
import type { SessionData } from 'express-session';
import { nodeRedisFacade } from '../../src/auth/session';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';

/** connect-redis 9 (written for node-redis v5) over ioredis through the facade, on a real Redis. */

let redis: Redis;
let store: RedisStore;
let prefix: string;

beforeAll(() => {
  redis = new Redis(TEST_REDIS_URL);
  prefix = `${uniquePrefix()}:sess:`;
  store = new RedisStore({ client: nodeRedisFacade(redis), prefix });
});
afterAll(async () => {
  await store.clear();
  redis.disconnect();
});

const session = (personId: string, maxAgeMs = 60_000): SessionData =>
  ({ cookie: { originalMaxAge: maxAgeMs, expires: new Date(Date.now() + maxAgeMs) }, personId }) as unknown as SessionData;

it('stores a session with the cookie lifetime as TTL, reads it back, refreshes and destroys it', async () => {
  await store.set('a', session('person-a', 120_000));
  expect(await store.get('a')).toMatchObject({ personId: 'person-a' });
  const ttl = await redis.ttl(`${prefix}a`);
  expect(ttl).toBeGreaterThan(100);
  expect(ttl).toBeLessThanOrEqual(120);
  await store.touch('a', session('person-a', 600_000));
  expect(await redis.ttl(`${prefix}a`)).toBeGreaterThan(500);
  await store.destroy('a');
  expect(await store.get('a')).toBeNull();
});

it('lists, counts and clears only its own sessions', async () => {
  await redis.set(`${uniquePrefix()}:sess:other`, '{}', 'EX', 60);
  await Promise.all(['x', 'y', 'z'].map((id) => store.set(id, session(`person-${id}`))));
  expect(await store.length()).toBe(3);
  expect(((await store.ids()) as string[]).sort()).toEqual(['x', 'y', 'z']);
  expect(((await store.all()) as Array<{ personId: string }>).map((s) => s.personId).sort()).toEqual(['person-x', 'person-y', 'person-z']);
  await store.clear();
  expect(await store.length()).toBe(0);
});
