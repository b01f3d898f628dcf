import { startTokensApi, type TokensApi } from '../tokens/api-server';

/**
 * Caps per person over HTTP (docs/robustness.md, "Abuse limits"): past the live-token cap an issue
 * is a 409 `too_many_live_tokens`; past the issues per hour, revoked ones included, a 429 `too_many_issues`.
 */

let api: TokensApi;
let base: string;

beforeAll(async () => {
  api = await startTokensApi({ issueCaps: { livePerPerson: 2, issuesPerHour: 3 } });
  base = api.base;
});

afterAll(async () => {
  await api?.close();
});

const issue = () =>
  fetch(base, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ team: 'platform', owner: 'alice@example.com', description: 'ci' }),
  });
const revoke = (id: string) => fetch(`${base}/${id}`, { method: 'DELETE' });

it('refuses a token past the live cap with 409, and past the issues per hour with 429', async () => {
  const first = await issue();
  const second = await issue();
  expect([first.status, second.status]).toEqual([201, 201]);
  const overLive = await issue();
  expect(overLive.status).toBe(409);
  expect(await overLive.json()).toMatchObject({ error: 'too_many_live_tokens' });

  expect((await revoke(((await first.json()) as { id: string }).id)).status).toBeLessThan(300);
  const third = await issue();
  expect(third.status).toBe(201);
  expect((await revoke(((await third.json()) as { id: string }).id)).status).toBeLessThan(300);
  const overHourly = await issue();
  expect(overHourly.status).toBe(429);
  expect(await overHourly.json()).toMatchObject({ error: 'too_many_issues' });
}, 60_000);
