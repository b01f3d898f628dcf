import { startEmulator, type Emulator } from '../../src/emulator';
import { createLogger } from '../../src/log';
import { parsePolicy, PolicyStore } from '../../src/policy';
import { createPulumiClient } from '../../src/pulumi';
import { createQueueFactory, type QueueFactory } from '../../src/queue';
import { Reconciler } from '../../src/reconcile';
import { DEV_ADMIN_GROUP } from '../../src/dev-idp';
import { createTokenDeps } from '../../src/runtime';
import { ADMIN_GROUP, type Harness, provisionUser, startHarness } from '../auth/harness';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';

/**
 * The console with its real data sources: SCIM directory rows in Postgres, the policy, the
 * reconciler and the tokens part against the Pulumi emulator. Alice is in "Platform
 * Engineers" (→ team platform, write on infra/*, custom role auditors; "Platform Leads" are its
 * team admins); Ada is an admin; Bob is in no group.
 */

export const POLICY = `
organization: acme
identity:
  login: userNameLocalPart
teams:
  - group: Platform Engineers
    team: platform
    role: auditors
    admins: Platform Leads
    stacks:
      - { project: infra, stack: "*", permission: write }
`;

export interface World {
  h: Harness;
  emu: Emulator;
  reconciler: Reconciler;
  close(): Promise<void>;
}

/**
 * `env` overrides the harness's SAML settings; `devIdp` signs in through the development IdP
 * instead, where Ada is an admin through its `Console Admins` group.
 */
export async function startWorld(env: Record<string, string> = {}, options: { devIdp?: boolean } = {}): Promise<World> {
  const emu = await startEmulator({
    org: 'acme',
    seed: { members: ['alice', 'bob', 'ada'], stacks: ['infra/dev', 'infra/prod', 'web/dev'], roles: [{ name: 'auditors' }] },
  });
  const policy = new PolicyStore('test-policy.yaml', {}, parsePolicy(POLICY, 'test-policy.yaml'));
  const logger = createLogger({ level: 'error' });
  const client = createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken });
  const queues: QueueFactory = createQueueFactory({ redisUrl: TEST_REDIS_URL, prefix: uniquePrefix(), logger });
  let reconciler: Reconciler | undefined;
  const h = await startHarness({
    env,
    devIdp: options.devIdp,
    parts: async (tdb) => {
      await provisionUser(tdb, 'alice@example.com', { groups: ['Platform Engineers'] });
      await provisionUser(tdb, 'bob@example.com');
      await provisionUser(tdb, 'ada@example.com', { groups: [options.devIdp ? DEV_ADMIN_GROUP : ADMIN_GROUP] });
      reconciler = new Reconciler({ db: tdb.db, client, policy, logger });
      // The daemon owns "platform" once it has reconciled it; tokens build on that team.
      await reconciler.reconcileTeam({ team: 'platform', reason: 'test setup' });
      return {
        policy,
        queues,
        reconciler,
        tokens: createTokenDeps({ db: tdb.db, pulumi: client, policy, reconciler, logger }),
      };
    },
  });
  return {
    h,
    emu,
    reconciler: reconciler!,
    async close() {
      await h.close();
      for (const q of [queues.queue('reconcile'), queues.queue('revoke')]) await q.obliterate({ force: true });
      await queues.close();
      await emu.stop();
    },
  };
}
