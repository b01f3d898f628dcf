import fc from 'fast-check';
import * as arb from './oracle/arbitraries';
import { evaluate, render } from './oracle/filter';
import { comparable, type User } from './oracle/model';
import { concretize } from './oracle/patch';
import { startScimServer, type TestScimServer } from './server';

/**
 * The SCIM server against an oracle written from the RFCs (test/scim/oracle/): fast-check
 * draws users, filters and PATCH requests; the server's answers over HTTP must agree with the
 * oracle's, except at the points the RFCs leave open (docs/scim.md), which the oracle marks
 * and skips. `npm test` runs a few dozen cases; `npm run test:fuzz` sets SCIM_ORACLE_RUNS.
 */

const RUNS = Number(process.env.SCIM_ORACLE_RUNS ?? 25);
/** Time enough for a run on a saturated machine: waiting costs nothing when the cases pass sooner. */
const TIMEOUT_MS = 60_000 + RUNS * 2_000;
const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

describe('SCIM against the RFC oracle', () => {
  let scim: TestScimServer;

  beforeAll(async () => {
    scim = await startScimServer();
  });
  afterAll(async () => {
    await scim.close();
  });

  async function create(user: User): Promise<string> {
    const res = await scim.request('POST', '/Users', { schemas: [USER_URN], ...user });
    if (res.status !== 201) throw new Error(`POST /Users answered ${res.status}: ${res.text}\nuser: ${JSON.stringify(user)}`);
    return res.body.id;
  }

  it(
    'RFC 7644 §3.4.2.2: filters select the users the oracle selects',
    async () => {
      /** Verdicts the oracle gave and checked, by answer; `open` were skipped. A run that decided nothing would prove nothing. */
      const verdicts = { match: 0, noMatch: 0, open: 0 };
      await fc.assert(
        fc.asyncProperty(arb.users, fc.array(arb.filter, { minLength: 1, maxLength: 4 }), arb.spelling, async (users, filters, spell) => {
          await scim.db.raw('TRUNCATE users CASCADE');
          const ids: string[] = [];
          for (const user of users) ids.push(await create(user));
          for (const filter of filters) {
            const text = render(filter, spell);
            const res = await scim.request('GET', `/Users?count=200&attributes=userName&filter=${encodeURIComponent(text)}`);
            if (res.status !== 200) throw new Error(`filter ${text} answered ${res.status}: ${res.text}`);
            const found = new Set<string>(res.body.Resources.map((r: { id: string }) => r.id));
            users.forEach((user, i) => {
              const expected = evaluate(filter, user);
              verdicts[expected === undefined ? 'open' : expected ? 'match' : 'noMatch']++;
              if (expected !== undefined && expected !== found.has(ids[i]!)) {
                throw new Error(
                  `filter ${text}: the RFC says ${expected ? 'match' : 'no match'}, the server ${found.has(ids[i]!) ? 'matched' : 'did not'}\nuser: ${JSON.stringify(user)}`,
                );
              }
            });
          }
        }),
        { numRuns: RUNS },
      );
      expect(verdicts.match).toBeGreaterThan(0);
      expect(verdicts.noMatch).toBeGreaterThan(0);
      expect(verdicts.open).toBeLessThan(verdicts.match + verdicts.noMatch);
    },
    TIMEOUT_MS,
  );

  it(
    'RFC 7644 §3.5.2: PATCH leaves the user the oracle computes',
    async () => {
      const outcomes = { 200: 0, 400: 0 };
      await fc.assert(
        fc.asyncProperty(arb.user(0), fc.array(arb.intent, { minLength: 1, maxLength: 4 }), async (user, intents) => {
          const plan = concretize(user, intents);
          fc.pre(plan !== undefined);
          const { operations, outcome } = plan!;
          outcomes[outcome.status]++;
          await scim.db.raw('TRUNCATE users CASCADE');
          const id = await create(user);
          const res = await scim.request('PATCH', `/Users/${id}`, { schemas: [PATCH_URN], Operations: operations });
          const context = `\nuser: ${JSON.stringify(user)}\noperations: ${JSON.stringify(operations)}\nanswer: ${res.status} ${res.text.slice(0, 600)}`;
          if (outcome.status === 400) {
            if (res.status !== 400 || res.body.scimType !== outcome.scimType) throw new Error(`expected 400 ${outcome.scimType}${context}`);
            // Atomic: nothing of the request stays.
            const after = (await scim.request('GET', `/Users/${id}`)).body;
            expect(comparable(after)).toEqual(comparable(user as never));
            return;
          }
          if (res.status !== 200) throw new Error(`expected 200${context}`);
          expect({ context, user: comparable(res.body) }).toEqual({ context, user: comparable(outcome.user as never) });
        }),
        { numRuns: RUNS },
      );
      expect(outcomes[200]).toBeGreaterThan(0);
    },
    TIMEOUT_MS,
  );
});
