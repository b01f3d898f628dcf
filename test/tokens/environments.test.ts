import { acmeSeed } from '../helpers/acme-seed';
import { issueToken } from '../../src/tokens';
import { getToken } from '../../src/tokens/ledger';
import { okta, startHarness, type Harness } from '../reconcile/harness';

/**
 * A scoped token on ESC environments end to end: SCIM on Postgres, the outbox relay, BullMQ on
 * Redis and the Pulumi emulator over HTTP. The private team holds `scope ∩ parent grants`;
 * a policy reload (as SIGHUP does) that lowers the parent narrows it with one edit, one that
 * raises the parent never takes it past its issued level, and one that takes the environment
 * away revokes the token.
 */

const policy = (environments: string) => `
organization: acme
identity:
  login: userNameLocalPart
teams:
  - group: Platform Engineers
    team: platform
    stacks:
      - { project: infra, stack: dev, permission: read }
${environments}
`;
const granting = (permission: string) => `    environments:\n      - { project: infra, environment: "*", permission: ${permission} }`;

const SEED = { ...acmeSeed, environments: ['infra/prod', 'infra/dev', 'app/dev'] };

let h: Harness;
let token: { id: string; pulumiTeam: string };

beforeAll(async () => {
  h = await startHarness({ policyYaml: policy(granting('open')), seed: SEED });
  const worker = h.startWorker();
  try {
    const bob = await okta.createUser(h, 'bob@acme.example');
    await okta.addMembers(h, await okta.createGroup(h, 'Platform Engineers'), [bob]);
    await h.settle(60_000);
  } finally {
    await worker.close();
  }
}, 120_000);
afterAll(async () => {
  await h?.close();
});

const teamOf = (name: string) => h.emu.state.teams.find((t) => t.name === name);
const environmentsOf = (name: string) =>
  Object.fromEntries((teamOf(name)?.environments ?? []).map((e) => [`${e.projectName}/${e.envName}`, e.permission]).sort());
const writesTo = (name: string) => h.emu.calls.entries.filter((c) => c.write && c.path.endsWith(`/teams/${name}`)).map((c) => c.method);

describe('a token scoped to an ESC environment', () => {
  it('is issued on a private team holding open on infra/prod only', async () => {
    expect(environmentsOf('platform')).toEqual({ 'infra/dev': 'open', 'infra/prod': 'open' });
    token = await issueToken(h.tokens, {
      team: 'platform',
      owner: 'bob@acme.example',
      description: 'prod secrets',
      scope: [{ environment: { project: 'infra', environment: 'prod' } }],
    });
    expect(environmentsOf(token.pulumiTeam)).toEqual({ 'infra/prod': 'open' });
    expect(teamOf(token.pulumiTeam)?.stacks ?? []).toEqual([]);
    expect((await getToken(h.scim.db, token.id))!.issuedGrants).toEqual([{ project: 'infra', environment: 'prod', permission: 'open' }]);
  });

  it('is narrowed to read with one edit when the parent drops to read', async () => {
    await h.emu.calls.idle();
    h.emu.calls.reset();
    h.reloadPolicy(policy(granting('read')));
    await h.reconcileTeam({ team: 'platform', reason: 'policy' });
    expect(environmentsOf('platform')).toEqual({ 'infra/dev': 'read', 'infra/prod': 'read' });
    expect(environmentsOf(token.pulumiTeam)).toEqual({ 'infra/prod': 'read' });
    expect(writesTo(token.pulumiTeam)).toEqual(['PATCH']);
    const [narrowed] = await h.scim.db('audit_log').where({ category: 'tokens', op: 'token.narrowed', team: token.pulumiTeam, outcome: 'applied' });
    expect(narrowed.detail.ops).toEqual([{ kind: 'editEnvironment', project: 'infra', environment: 'prod', permission: 'read' }]);
    expect((await getToken(h.scim.db, token.id))!.state).toBe('active');
  });

  it('is never widened past what it was issued with when the parent rises above it', async () => {
    await h.emu.calls.idle();
    h.emu.calls.reset();
    h.reloadPolicy(policy(granting('admin')));
    await h.reconcileTeam({ team: 'platform', reason: 'policy' });
    expect(environmentsOf('platform')).toEqual({ 'infra/dev': 'admin', 'infra/prod': 'admin' });
    // As for stacks, the private team follows the parent up to the issued level, never past it.
    expect(environmentsOf(token.pulumiTeam)).toEqual({ 'infra/prod': 'open' });
    expect(writesTo(token.pulumiTeam)).toEqual(['PATCH']);
  });

  it('is revoked, its private team deleted, when the parent loses the environment and the scope holds nothing else', async () => {
    h.reloadPolicy(policy(''));
    await h.reconcileTeam({ team: 'platform', reason: 'policy' });
    expect(environmentsOf('platform')).toEqual({});
    expect(await getToken(h.scim.db, token.id)).toMatchObject({
      state: 'revoked',
      revokeReason: "team platform no longer holds any stack or environment in the token's scope",
    });
    expect(teamOf(token.pulumiTeam)).toBeUndefined();
  });
});
