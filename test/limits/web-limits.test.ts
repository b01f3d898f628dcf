import { type Harness, startHarness } from '../auth/harness';

/**
 * The web surface's request limits (docs/robustness.md, "Abuse limits"): `/auth/*` per client IP,
 * the admin API per bearer token, and failed admin bearer checks per IP, each a 429 with
 * Retry-After through the surface's error edge.
 */

const ADMIN_TOKEN = 'admin-token-for-the-web-limits-test';
let h: Harness;

beforeAll(async () => {
  h = await startHarness({
    env: { ADMIN_API_TOKEN: ADMIN_TOKEN },
    parts: () => ({ rates: { authPerIp: { points: 3, durationSec: 600 }, adminApiPerToken: { points: 2, durationSec: 600 } } }),
  });
  // Counted in Redis from the first request on: before the connection is ready the count is the process's own.
  await h.redis.ping();
}, 60_000);

afterAll(async () => {
  await h?.close();
});

it('limits /auth per client IP', async () => {
  const statuses: number[] = [];
  let refused: Response | undefined;
  for (let i = 0; i < 4; i++) {
    const res = await fetch(`${h.url}/auth/saml/login`, { redirect: 'manual' });
    await res.arrayBuffer();
    statuses.push(res.status);
    refused = res;
  }
  expect(statuses).toEqual([302, 302, 302, 429]);
  expect(Number(refused!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
});

it('limits the admin API per token, with the JSON error body', async () => {
  const status = () => fetch(`${h.url}/api/v1/status`, { headers: { authorization: `Bearer ${ADMIN_TOKEN}` } });
  const answers = [await status(), await status(), await status()];
  expect(answers.map((a) => a.status)).toEqual([200, 200, 429]);
  expect(Number(answers[2]!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  expect(await answers[2]!.json()).toMatchObject({ error: 'rate_limited' });
});

it('answers 429 instead of 401 once an IP has failed too many admin bearer checks', async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 21; i++) statuses.push((await fetch(`${h.url}/api/v1/status`, { headers: { authorization: 'Bearer wrong' } })).status);
  expect(statuses.slice(0, 20)).toEqual(Array(20).fill(401));
  expect(statuses[20]).toBe(429);
});
