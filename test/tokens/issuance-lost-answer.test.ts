import { createLogger } from '../../src/log';
import { startEmulator, type Emulator } from '../../src/emulator';
import { createPulumiClient } from '../../src/pulumi';
import { issueToken, sweepTokens, type TokenAuditEntry, type TokenDeps } from '../../src/tokens';
import { STALE_ISSUANCE_MS } from '../../src/tokens/sweep';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { emptyAcmePolicy } from '../helpers/policy';

/**
 * A token create whose answer never arrives (docs/pulumi-api.md, "Team tokens": not retried, the name is
 * single-use) may still have made the token. For a token on the parent team the ledger must
 * not forget it: the sweep finds it by its recorded name and deletes it. A create Pulumi
 * refused (4xx) made nothing, and the row ends `failed` at once.
 */

let tdb: TestDatabase;
let emu: Emulator;
let deps: TokenDeps;
let audit: TokenAuditEntry[];
let owner: string;

beforeAll(async () => {
  tdb = await createTestDatabase();
  [owner] = (
    await tdb
      .db('users')
      .insert([{ user_name: 'bob@example.com' }])
      .returning('id')
  ).map((r: { id: string }) => r.id);
  emu = await startEmulator();
});
afterAll(async () => {
  await emu.stop();
  await tdb.drop();
});
beforeEach(async () => {
  emu.faults.clear();
  await emu.calls.idle();
  emu.seed({
    members: ['bob'],
    stacks: ['infra/dev'],
    teams: [{ name: 'platform', members: ['bob'], stacks: [{ projectName: 'infra', stackName: 'dev', permission: 102 }] }],
  });
  await tdb.db('token_ledger').delete();
  audit = [];
  deps = {
    db: tdb.db,
    pulumi: createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken, timeoutMs: 150, retry: { baseDelayMs: 1, maxDelayMs: 5 } }),
    org: 'acme',
    policy: { current: emptyAcmePolicy() },
    access: {
      desiredGrants: async (team) => (team === 'platform' ? [{ project: 'infra', stack: 'dev', permission: 102 }] : null),
      isActiveMember: async (userId, team) => userId === owner && team === 'platform',
      activeMembers: async (team) => new Set(team === 'platform' ? [owner] : []),
      loginsOf: async () => ['bob'],
      personState: async () => 'active',
      ownedTeams: async () => [],
    },
    // What was done or failed; intents and `already` outcomes (docs/audit.md) have tests of their own.
    audit: async (entry) => void (entry.outcome === 'intent' || entry.outcome === 'already' || audit.push(entry)),
    logger: createLogger({ level: 'error' }),
  };
});

const TOKENS_ROUTE = '/api/orgs/acme/teams/platform/tokens';
const liveOnPlatform = () => emu.state.tokens.filter((t) => t.team === 'platform' && !t.deleted);

test('a create that timed out but landed: the row stays issuing and the sweep deletes the token', async () => {
  emu.faults.add({ method: 'POST', path: TOKENS_ROUTE, kind: 'latency', latencyMs: 400, times: 1 });
  await expect(issueToken(deps, { team: 'platform', owner: 'bob@example.com' })).rejects.toMatchObject({ code: 'pulumi_unavailable' });
  await emu.calls.idle();
  const [row] = await tdb.db('token_ledger').select('state', 'token_name');
  expect(row.state).toBe('issuing');
  expect(liveOnPlatform().map((t) => t.name)).toEqual([row.token_name]);
  expect(audit.map((a) => [a.action, a.detail.leftForSweep])).toEqual([['token.issue_failed', true]]);

  deps.now = () => new Date(Date.now() + STALE_ISSUANCE_MS + 60_000);
  expect(await sweepTokens(deps)).toMatchObject({ abandoned: 1, failed: 0 });
  expect(liveOnPlatform()).toEqual([]);
  expect((await tdb.db('token_ledger').first('state')).state).toBe('revoked');
});

test('a create Pulumi refused made nothing: the row ends failed', async () => {
  emu.faults.add({ method: 'POST', path: TOKENS_ROUTE, kind: 'status', status: 403, times: 1 });
  await expect(issueToken(deps, { team: 'platform', owner: 'bob@example.com' })).rejects.toMatchObject({ code: 'pulumi_unavailable' });
  expect((await tdb.db('token_ledger').first('state')).state).toBe('failed');
  expect(liveOnPlatform()).toEqual([]);
});
