import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from '../../src/app';
import { startEmulator, type Emulator } from '../../src/emulator';
import { createLogger } from '../../src/log';
import { createPulumiClient } from '../../src/pulumi';
import type { TeamAccessView, TokenDeps } from '../../src/tokens';
import { tokensRouter } from '../../src/web/api/tokens';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { emptyAcmePolicy } from '../helpers/policy';

/** The `/api/v1/tokens` routes on a free port: a database with alice, and an emulated org where she is on `platform`. */
export interface TokensApi {
  tdb: TestDatabase;
  emu: Emulator;
  base: string;
  /** alice@example.com's users.id. */
  alice: string;
  close(): Promise<void>;
}

export async function startTokensApi(extra: Partial<TokenDeps> = {}): Promise<TokensApi> {
  const tdb = await createTestDatabase();
  const [{ id: alice }] = await tdb
    .db('users')
    .insert([{ user_name: 'alice@example.com' }])
    .returning('id');
  const emu = await startEmulator({
    seed: {
      members: ['alice'],
      stacks: ['infra/dev'],
      teams: [{ name: 'platform', members: ['alice'], stacks: [{ projectName: 'infra', stackName: 'dev', permission: 102 }] }],
    },
  });
  const access: TeamAccessView = {
    desiredGrants: async (team) => (team === 'platform' ? [{ project: 'infra', stack: 'dev', permission: 102 }] : null),
    isActiveMember: async (userId, team) => team === 'platform' && userId === alice,
    activeMembers: async (team) => new Set(team === 'platform' ? [alice] : []),
    loginsOf: async () => [],
    personState: async () => 'active',
    ownedTeams: async () => [],
  };
  const deps: TokenDeps = {
    db: tdb.db,
    pulumi: createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken }),
    org: 'acme',
    policy: { current: emptyAcmePolicy() },
    access,
    audit: async () => undefined,
    logger: createLogger({ level: 'error' }),
    ...extra,
  };
  const app = createApp({ logger: deps.logger, readiness: {}, mounts: [{ path: '/api/v1/tokens', router: tokensRouter(deps) }] });
  const server: http.Server = createHttpServer(app);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    tdb,
    emu,
    alice,
    base: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api/v1/tokens`,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await emu.stop();
      await tdb.drop();
    },
  };
}
