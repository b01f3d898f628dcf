import type { EmulatorSeed } from '../../src/emulator';

/**
 * The org most reconcile tests run against (the policy of test/reconcile/harness.ts maps logins
 * with userNameLocalPart): "acme" with a few members, two people who have Pulumi accounts but
 * are not members yet, one hand-made team, one team owned by Pulumi's own SCIM, and projects
 * infra/web/data each with dev/staging/prod stacks. The zero-config demo has its own org
 * (src/emulator/demo-seed.ts), whose logins follow the shipped policy.
 */
export const acmeSeed: EmulatorSeed = {
  org: 'acme',
  admin: { login: 'idp-sync-bot', name: 'IdP Sync Bot' },
  members: [
    { login: 'alice', name: 'Alice Adams', email: 'alice@acme.example', role: 'admin' },
    { login: 'bob', name: 'Bob Brown', email: 'bob@acme.example' },
    { login: 'carol', name: 'Carol Chen', email: 'carol@acme.example' },
    { login: 'dave', name: 'Dave Diaz', email: 'dave@acme.example' },
  ],
  accounts: [
    { login: 'erin', name: 'Erin Evans', email: 'erin@acme.example' },
    { login: 'frank', name: 'Frank Fischer', email: 'frank@acme.example' },
  ],
  idpOnly: [{ login: 'grace', name: 'Grace Green' }],
  stacks: ['infra', 'web', 'data'].flatMap((project) => ['dev', 'staging', 'prod'].map((stack) => `${project}/${stack}`)),
  teams: [
    {
      name: 'legacy-ops',
      displayName: 'Legacy Ops',
      description: 'Made by hand in the console; the daemon must leave it alone.',
      members: ['alice', 'dave'],
      stacks: [{ projectName: 'infra', stackName: 'prod', permission: 103 }],
    },
    {
      name: 'sso-engineers',
      displayName: 'SSO Engineers',
      description: "Provisioned by Pulumi's own SCIM.",
      kind: 'scim',
      members: ['bob', 'carol'],
    },
  ],
  tokens: [{ team: 'legacy-ops', name: 'legacy-ops-ci', description: 'CI for infra', createdBy: 'dave' }],
};
