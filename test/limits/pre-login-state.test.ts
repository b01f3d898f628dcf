import { pool } from '../helpers/stack/scim-client';
import { type Harness, provisionUser, startHarness } from '../auth/harness';

/**
 * An anonymous visitor creates no long-lived Redis state (docs/robustness.md, "Pre-login state"):
 * starting a sign-in puts its nonce in a short-lived signed cookie, not in a session, and the only
 * key it leaves is the AuthnRequest ID, which expires in minutes. The session exists only after a
 * successful sign-in.
 */

const ANONYMOUS_STARTS = 2000;
/** The longest TTL a key may have after anonymous requests: the AuthnRequest ID's 10 minutes. */
const MAX_PRE_LOGIN_TTL_MS = 10 * 60_000;

let h: Harness;

beforeAll(async () => {
  // The per-IP limit of /auth (test/limits/web-limits.test.ts) is lifted: this test is about the state a request leaves.
  h = await startHarness({ parts: () => ({ rates: { authPerIp: { points: 1_000_000, durationSec: 60 } } }) });
}, 60_000);

afterAll(async () => {
  await h?.close();
});

async function keysWithTtl(): Promise<Array<{ key: string; ttlMs: number }>> {
  const keys = await h.redis.keys(`${h.keyPrefix}*`);
  return Promise.all(keys.map(async (key) => ({ key, ttlMs: await h.redis.pttl(key) })));
}

it(`leaves no key without a TTL of minutes after ${ANONYMOUS_STARTS} anonymous sign-in starts`, async () => {
  await pool(
    Array.from({ length: ANONYMOUS_STARTS }, (_, i) => i),
    16,
    async () => {
      const res = await fetch(`${h.url}/auth/saml/login`, { redirect: 'manual' });
      await res.arrayBuffer();
      expect(res.status).toBe(302);
      expect(res.headers.get('set-cookie')).not.toContain('pis.sid=');
    },
  );
  const keys = await keysWithTtl();
  expect(keys.filter((k) => k.key.includes(':sess:'))).toEqual([]);
  expect(keys.filter((k) => k.ttlMs < 0 || k.ttlMs > MAX_PRE_LOGIN_TTL_MS)).toEqual([]);
}, 180_000);

it('still signs a person in, and only then stores a session', async () => {
  await provisionUser(h.tdb, 'ada@example.test');
  const cookie = await h.signInAs('ada@example.test');
  expect(cookie).toMatch(/^pis\.sid=/);
  const sessions = (await keysWithTtl()).filter((k) => k.key.includes(':sess:'));
  expect(sessions).toHaveLength(1);
  expect((await fetch(`${h.url}/console/`, { headers: { cookie }, redirect: 'manual' })).status).toBe(200);
}, 60_000);
