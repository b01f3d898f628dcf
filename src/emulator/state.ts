import { createHash, randomBytes } from 'node:crypto';
import { z } from 'zod';
import type { TeamKind } from '../pulumi';
import { type EmuEnvironment, type EmuEnvironmentGrant, environmentGrantSeedSchema, environmentSeedSchema } from './environments';

/**
 * The emulated org, as plain JSON (so `GET/PUT /_emulator/state` round-trip it) and the seed
 * that builds it. Tokens are never deleted from the state: a deleted token keeps its record
 * with `deleted: true`, because its name stays taken (docs/pulumi-api.md, "Team tokens"). Token secrets are
 * kept only as SHA-256 hashes.
 */

export interface EmuAccount {
  login: string;
  name: string;
  email?: string;
}

export type OrgRole = 'member' | 'admin' | 'billing-manager';

export interface EmuMember {
  login: string;
  role: OrgRole;
  created: string;
}

export interface EmuTeam {
  name: string;
  displayName: string;
  description: string;
  kind: TeamKind;
  members: Array<{ login: string; role: 'member' | 'admin' }>;
  stacks: Array<{ projectName: string; stackName: string; permission: number }>;
  /** Ids of the custom roles the team holds (at most one). Absent in states saved before roles were emulated. */
  roleIds?: string[];
  /** ESC environment grants; absent in states saved before environments were emulated. */
  environments?: EmuEnvironmentGrant[];
}

/** An entry of the org's role catalogue (docs/pulumi-api.md, "Team custom roles"). */
export interface EmuRole {
  id: string;
  name: string;
  description: string;
  /** `admin`, `member` or `billing-manager` on the built-in roles; empty on custom ones. */
  defaultIdentifier: string;
}

export interface EmuStack {
  projectName: string;
  stackName: string;
  id: string;
  lastUpdate?: number;
  resourceCount?: number;
  tags: Record<string, string>;
}

export interface EmuToken {
  id: string;
  name: string;
  description: string;
  created: string;
  createdBy: string;
  lastUsed: number;
  expires: number;
  admin: boolean;
  type: 'team' | 'organization';
  /** Owning team for team tokens. */
  team?: string;
  deleted: boolean;
  valueHash: string;
}

export interface EmulatorState {
  org: string;
  /** Login of the user whose access token the emulator accepts as the admin token. */
  adminLogin: string;
  /** Everyone with a Pulumi account, members or not. */
  accounts: EmuAccount[];
  members: EmuMember[];
  /** People in the identity backend's roster who have no Pulumi account (knownToPulumi: false). */
  idpOnly: EmuAccount[];
  teams: EmuTeam[];
  stacks: EmuStack[];
  /** ESC environments; absent in states saved before they were emulated. */
  environments?: EmuEnvironment[];
  tokens: EmuToken[];
  nextId: number;
  /** The role catalogue: the built-in roles and the seed's custom ones. Absent in older saved states. */
  roles?: EmuRole[];
}

const login = z.string().min(1).max(100);
const person = z.union([login.transform((l) => ({ login: l })), z.object({ login, name: z.string().optional(), email: z.string().optional() })]);

export const seedSchema = z.object({
  org: z.string().min(1).optional(),
  admin: z.object({ login, name: z.string().optional() }).optional(),
  /** Logins that have a Pulumi account but are not org members. */
  accounts: z.array(person).default([]),
  members: z
    .array(
      z.union([
        login.transform((l) => ({ login: l, role: 'member' as const })),
        z.object({
          login,
          name: z.string().optional(),
          email: z.string().optional(),
          role: z.enum(['member', 'admin', 'billing-manager']).default('member'),
        }),
      ]),
    )
    .default([]),
  idpOnly: z.array(person).default([]),
  /** `"project/stack"` strings or objects. */
  stacks: z
    .array(
      z.union([
        z
          .string()
          .regex(/^[^/]+\/[^/]+$/, 'must be "project/stack"')
          .transform((s) => {
            const [projectName, stackName] = s.split('/');
            return { projectName, stackName, tags: {} as Record<string, string> };
          }),
        z.object({
          projectName: z.string().min(1),
          stackName: z.string().min(1),
          resourceCount: z.number().int().optional(),
          lastUpdate: z.number().int().optional(),
          tags: z.record(z.string(), z.string()).default({}),
        }),
      ]),
    )
    .default([]),
  /** ESC environments: `"project/name"` strings or objects (`deletedAt` makes one soft-deleted). */
  environments: z.array(environmentSeedSchema).default([]),
  teams: z
    .array(
      z.object({
        name: z.string().min(1),
        displayName: z.string().optional(),
        description: z.string().default(''),
        kind: z.enum(['pulumi', 'github', 'scim']).default('pulumi'),
        members: z
          .array(
            z.union([
              login.transform((l) => ({ login: l, role: 'member' as const })),
              z.object({ login, role: z.enum(['member', 'admin']).default('member') }),
            ]),
          )
          .default([]),
        stacks: z.array(z.object({ projectName: z.string().min(1), stackName: z.string().min(1), permission: z.number().int() })).default([]),
        /** A custom role of `roles`, by name. */
        role: z.string().optional(),
        environments: z.array(environmentGrantSeedSchema).default([]),
      }),
    )
    .default([]),
  /** Custom roles of the org's catalogue, by name (the built-in ones are always there). */
  roles: z.array(z.object({ name: z.string().min(1), description: z.string().default(''), id: z.string().optional() })).default([]),
  tokens: z
    .array(
      z.object({
        /** Absent: an org token. */
        team: z.string().optional(),
        name: z.string().min(1),
        description: z.string().default(''),
        createdBy: login,
        created: z.string().optional(),
        lastUsed: z.number().int().default(0),
        expires: z.number().int().default(0),
        admin: z.boolean().default(false),
        deleted: z.boolean().default(false),
        /** A known secret, so tests can authenticate with the seeded token. */
        value: z.string().min(8).optional(),
        id: z.string().optional(),
      }),
    )
    .default([]),
});

export type EmulatorSeed = z.input<typeof seedSchema>;

export class SeedError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid emulator seed:\n  ${problems.join('\n  ')}`);
    this.name = 'SeedError';
  }
}

export function hashToken(value: string): string {
  return createHash('sha256').update(value).digest('hex');
}

export function newTokenValue(): string {
  return `pul-${randomBytes(20).toString('hex')}`;
}

export function newId(state: EmulatorState, prefix: string): string {
  state.nextId += 1;
  return `${prefix}-${state.nextId.toString().padStart(6, '0')}`;
}

function displayNameOf(l: string): string {
  return l
    .split(/[._-]/)
    .filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1))
    .join(' ');
}

/** A union's "Invalid input" says nothing; name what each alternative wanted instead. */
function describeIssue(issue: z.core.$ZodIssue): string {
  const path = issue.path.join('.') || '(root)';
  if (issue.code !== 'invalid_union' || issue.errors.length === 0) return `${path}: ${issue.message}`;
  const alternatives = issue.errors.map((branch) => branch.map((i) => [...i.path, i.message].join(': ')).join(', '));
  return `${path}: ${alternatives.join(' or ')}`;
}

/** Builds a consistent state from a seed; throws SeedError naming every problem. */
export function stateFromSeed(input: EmulatorSeed, defaults: { org: string }): EmulatorState {
  const parsed = seedSchema.safeParse(input);
  if (!parsed.success) {
    throw new SeedError(parsed.error.issues.map(describeIssue));
  }
  const seed = parsed.data;
  const now = new Date().toISOString();
  const adminLogin = seed.admin?.login ?? 'idp-sync-bot';
  const state: EmulatorState = {
    org: seed.org ?? defaults.org,
    adminLogin,
    accounts: [],
    members: [],
    idpOnly: seed.idpOnly.map((p) => ({ login: p.login, name: ('name' in p && p.name) || displayNameOf(p.login) })),
    teams: [],
    stacks: [],
    environments: [],
    tokens: [],
    nextId: 0,
    roles: [],
  };
  const problems: string[] = [];
  const roles = seededRoles(state, seed.roles, problems);
  const addAccount = (p: { login: string; name?: string; email?: string }) => {
    if (state.accounts.some((a) => a.login === p.login)) return;
    state.accounts.push({ login: p.login, name: p.name ?? displayNameOf(p.login), ...(p.email ? { email: p.email } : {}) });
  };
  addAccount({ login: adminLogin, name: seed.admin?.name ?? 'IdP Sync Bot' });
  state.members.push({ login: adminLogin, role: 'admin', created: now });
  for (const a of seed.accounts) addAccount(a);
  for (const m of seed.members) {
    addAccount(m);
    if (state.members.some((x) => x.login === m.login)) problems.push(`members: ${m.login} listed twice`);
    else state.members.push({ login: m.login, role: m.role, created: now });
  }
  for (const s of seed.stacks) {
    if (state.stacks.some((x) => x.projectName === s.projectName && x.stackName === s.stackName)) {
      problems.push(`stacks: ${s.projectName}/${s.stackName} listed twice`);
      continue;
    }
    state.stacks.push({ ...s, id: newId(state, 'stack') });
  }
  for (const e of seed.environments) {
    if (state.environments?.some((x) => x.project === e.project && x.name === e.name)) {
      problems.push(`environments: ${e.project}/${e.name} listed twice`);
      continue;
    }
    state.environments?.push({ ...e, id: newId(state, 'env'), created: now, modified: now });
  }
  for (const t of seed.teams) {
    for (const g of t.environments) {
      if (!state.environments?.some((x) => x.project === g.projectName && x.name === g.envName)) {
        problems.push(`teams.${t.name}: no environment ${g.projectName}/${g.envName}`);
      }
    }
    if (state.teams.some((x) => x.name === t.name)) problems.push(`teams: ${t.name} listed twice`);
    for (const m of t.members) {
      if (!state.members.some((x) => x.login === m.login)) problems.push(`teams.${t.name}: member ${m.login} is not an org member`);
    }
    state.teams.push({
      name: t.name,
      displayName: t.displayName ?? t.name,
      description: t.description,
      kind: t.kind,
      members: t.members.map((m) => ({ login: m.login, role: m.role })),
      stacks: t.stacks.map((s) => ({ ...s })),
      roleIds: roleIdsOf(roles, t.role, `teams.${t.name}`, problems),
      environments: t.environments.map((g) => ({ ...g })),
    });
  }
  for (const t of seed.tokens) {
    if (t.team !== undefined && !state.teams.some((x) => x.name === t.team)) problems.push(`tokens.${t.name}: no team ${t.team}`);
    if (state.tokens.some((x) => x.name === t.name)) problems.push(`tokens: name ${t.name} used twice`);
    state.tokens.push({
      id: t.id ?? newId(state, 'tok'),
      name: t.name,
      description: t.description,
      created: t.created ?? now,
      createdBy: t.createdBy,
      lastUsed: t.lastUsed,
      expires: t.expires,
      admin: t.admin,
      type: t.team === undefined ? 'organization' : 'team',
      ...(t.team === undefined ? {} : { team: t.team }),
      deleted: t.deleted,
      valueHash: hashToken(t.value ?? newTokenValue()),
    });
  }
  if (problems.length > 0) throw new SeedError(problems);
  return state;
}

const BUILT_IN_ROLES = [
  ['admin', 'Admin'],
  ['member', 'Member'],
  ['billing-manager', 'Billing Manager'],
] as const;

/** The catalogue: built-in roles first, then the seed's custom roles. */
function seededRoles(state: EmulatorState, custom: Array<{ name: string; description: string; id?: string }>, problems: string[]): EmuRole[] {
  const roles: EmuRole[] = BUILT_IN_ROLES.map(([id, name]) => ({ id: `builtin-${id}`, name, description: '', defaultIdentifier: id }));
  for (const r of custom) {
    if (roles.some((x) => x.name === r.name)) problems.push(`roles: ${r.name} listed twice`);
    else roles.push({ id: r.id ?? newId(state, 'role'), name: r.name, description: r.description, defaultIdentifier: '' });
  }
  state.roles = roles;
  return roles;
}

function roleIdsOf(roles: EmuRole[], name: string | undefined, where: string, problems: string[]): string[] {
  if (name === undefined) return [];
  const role = roles.find((r) => r.name === name && r.defaultIdentifier === '');
  if (!role) problems.push(`${where}: no custom role ${name}`);
  return role ? [role.id] : [];
}

/** Checks the outline of a state replaced through `PUT /_emulator/state`. */
export function isEmulatorState(value: unknown): value is EmulatorState {
  const s = value as EmulatorState;
  return (
    typeof s === 'object' &&
    s !== null &&
    typeof s.org === 'string' &&
    typeof s.adminLogin === 'string' &&
    typeof s.nextId === 'number' &&
    [s.accounts, s.members, s.idpOnly, s.teams, s.stacks, s.tokens].every(Array.isArray)
  );
}
