import type { EmulatorSeed } from './state';

/**
 * The org the zero-config demo runs against, "acme", and the people it knows. Their Pulumi logins
 * are their IdP userNames, as the shipped policy (config/sync.yaml, `identity.login: userName`)
 * resolves them and as Pulumi's own SCIM names the people it provisions (docs/pulumi-api.md,
 * "Pulumi's own SCIM"); so a realistic Okta user such as `alice.smith@example.com` lands. The start-up
 * banner prints these people.
 */

export interface DemoPerson {
  userName: string;
  givenName: string;
  familyName: string;
  /** `member`: in the org; `account`: has a Pulumi account, not in the org (the daemon adds them); `none`: never signed in to Pulumi. */
  pulumi: 'member' | 'account' | 'none';
}

export const demoPeople: readonly DemoPerson[] = [
  { userName: 'alice.smith@example.com', givenName: 'Alice', familyName: 'Smith', pulumi: 'member' },
  { userName: 'bob.jones@example.com', givenName: 'Bob', familyName: 'Jones', pulumi: 'member' },
  { userName: 'carol.wu@example.com', givenName: 'Carol', familyName: 'Wu', pulumi: 'account' },
  { userName: 'dave.kim@example.com', givenName: 'Dave', familyName: 'Kim', pulumi: 'none' },
];

const account = (p: DemoPerson) => ({ login: p.userName, name: `${p.givenName} ${p.familyName}`, email: p.userName });

/**
 * The demo org: the people above (Dave has no account, so he waits as `no-pulumi-account`), one
 * team made by hand in the console, one owned by Pulumi's own SCIM, projects infra/web/data
 * each with dev/staging/prod stacks, and the ESC environments infra/prod, infra/dev and app/dev.
 */
export const demoSeed: EmulatorSeed = {
  org: 'acme',
  admin: { login: 'idp-sync-bot', name: 'IdP Sync Bot' },
  members: demoPeople.filter((p) => p.pulumi === 'member').map(account),
  accounts: demoPeople.filter((p) => p.pulumi === 'account').map(account),
  stacks: ['infra', 'web', 'data'].flatMap((project) => ['dev', 'staging', 'prod'].map((stack) => `${project}/${stack}`)),
  environments: ['infra/prod', 'infra/dev', 'app/dev'],
  teams: [
    {
      name: 'legacy-ops',
      displayName: 'Legacy Ops',
      description: 'Made by hand in the console; the daemon must leave it alone.',
      members: ['alice.smith@example.com', 'bob.jones@example.com'],
      stacks: [{ projectName: 'infra', stackName: 'prod', permission: 103 }],
    },
    {
      name: 'sso-engineers',
      displayName: 'SSO Engineers',
      description: "Provisioned by Pulumi's own SCIM.",
      kind: 'scim',
      members: ['bob.jones@example.com'],
    },
  ],
  // A custom role for a rule's `role:` (README.md, "Policy reference").
  roles: [{ name: 'auditors', description: 'Reads every stack and audit log; changes nothing.' }],
  tokens: [{ team: 'legacy-ops', name: 'legacy-ops-ci', description: 'CI for infra', createdBy: 'bob.jones@example.com' }],
};
