import fs from 'node:fs';
import { createHash } from 'node:crypto';
import { isNode, LineCounter, parseDocument } from 'yaml';
import type { z } from 'zod';
import type { EnvironmentRule } from './environments';
import {
  type ADOPT_MODES,
  DURATION,
  type SIGNAL_ACTIONS,
  type SIGNAL_EVENTS,
  LOGIN_SOURCES,
  type ORG_DEFAULT_PERMISSIONS,
  PERMISSIONS,
  policySchema,
  type PolicyFile,
  TEAM_NAME,
  TOKEN_TEAM_PREFIX,
} from './schema';

/** A problem in the policy file: `file:line key: message`, one per problem. */
export class PolicyError extends Error {
  constructor(
    readonly file: string,
    readonly problems: PolicyProblem[],
  ) {
    super(`invalid policy ${file}:\n  ${problems.map((p) => `${file}${p.line ? `:${p.line}` : ''}${p.key ? ` ${p.key}` : ''}: ${p.message}`).join('\n  ')}`);
    this.name = 'PolicyError';
  }
}

export interface PolicyProblem {
  /** 1-based line, when the problem points into the document. */
  line?: number;
  /** Dotted key path, e.g. `teams.1.stacks.0.permission`. */
  key?: string;
  message: string;
}

export type LoginSource = (typeof LOGIN_SOURCES)[number] | { attributePath: string };

export type Permission = 101 | 102 | 103;

export interface StackRule {
  project: string;
  stack: string;
  permission: Permission;
}

export type GroupMatcher = { kind: 'group'; nameLower: string; name: string } | { kind: 'externalId'; externalId: string } | { kind: 'pattern'; re: RegExp };

export type AdoptMode = (typeof ADOPT_MODES)[number];

export type OrgDefaultPermission = (typeof ORG_DEFAULT_PERMISSIONS)[number];

export interface TeamRule {
  /** Position in `teams:`, used in messages. */
  index: number;
  line?: number;
  /**
   * What the rule matches, as a stable key (`group:<lower name>`, `externalId:<id>`,
   * `pattern:<source>`): a team remembers which rule bound each of its groups, so a group
   * renamed in the IdP stays bound while that rule stands.
   */
  key: string;
  match: GroupMatcher;
  /** Fixed team name of an exact rule; pattern rules take it from the `team` capture. */
  team?: string;
  stacks: StackRule[];
  /** ESC environment grants (globs over the org's environments). */
  environments: EnvironmentRule[];
  /** How much of a pre-existing team of that name the rule takes over. */
  adopt: AdoptMode;
  /** The custom role's name in the org's role catalogue; resolved to its id against Pulumi at reconcile. */
  role?: string;
  /** The group whose active members are the team's admins (and members); only on rules with one team. */
  admins?: AdminsMatcher;
}

/** How a rule names its admins group: by display name (case-insensitive) or by the IdP's id (exact). */
export type AdminsMatcher = { kind: 'group'; nameLower: string; name: string } | { kind: 'externalId'; externalId: string };

/** The compiled, frozen policy the reconciler reads. */
export interface Policy {
  file: string;
  /** SHA-256 of the file contents: status shows which policy a process runs. */
  digest: string;
  organization: string;
  /** The org's default stack permission for members, as the policy states it (`unknown` when it does not). */
  orgDefaultPermission: OrgDefaultPermission;
  login: LoginSource;
  removeFromOrg: 'added' | 'all' | 'never';
  rules: TeamRule[];
  ownership: { adoptExistingTeams: boolean; deleteTeamWhenGroupGone: boolean };
  tokens: { revokeWhenCreatorLeaves: boolean; revokeUnknownCreators: boolean };
  /** Drift schedule: every `everyMs`, or by `cron` (UTC) when set; `observe` makes no Pulumi write. */
  reconcile: { every: string; everyMs: number; cron?: string; mode: 'observe' | 'enforce' };
  /** Removals of still-active access beyond `maxRemovals` (per reconcile, or org-wide per `windowMs`) are held. */
  safety: { maxRemovals: number; window: string; windowMs: number };
  /** What each Shared Signals event does (`actions`), and the `iat` window of a SET. */
  signals: { actions: Record<SignalEvent, SignalAction[]>; maxAge: string; maxAgeMs: number };
}

export type SignalEvent = (typeof SIGNAL_EVENTS)[number];
export type SignalAction = (typeof SIGNAL_ACTIONS)[number];

export interface LoadPolicyOptions {
  /** PULUMI_ORG: overrides `organization`. */
  organization?: string;
}

/** Reads and validates a policy file. Throws PolicyError naming file, line and key. */
export function loadPolicy(file: string, options: LoadPolicyOptions = {}): Policy {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new PolicyError(file, [{ message: `cannot read: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}` }]);
  }
  return parsePolicy(text, file, options);
}

export function parsePolicy(text: string, file: string, options: LoadPolicyOptions = {}): Policy {
  const lineCounter = new LineCounter();
  const doc = parseDocument(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new PolicyError(
      file,
      doc.errors.map((e) => ({ line: lineCounter.linePos(e.pos[0]).line || undefined, message: e.message.split('\n')[0] })),
    );
  }
  const raw = doc.toJS() ?? {};
  if (options.organization !== undefined && raw && typeof raw === 'object' && !Array.isArray(raw)) {
    (raw as Record<string, unknown>).organization = options.organization;
  }
  const parsed = policySchema.safeParse(raw);
  if (!parsed.success) {
    throw new PolicyError(
      file,
      parsed.error.issues.map((issue) => toProblem(issue, doc, lineCounter)),
    );
  }
  return compile(parsed.data, file, createHash('sha256').update(text).digest('hex'), (path) => lineOf(doc, lineCounter, path));
}

type Doc = ReturnType<typeof parseDocument>;

function lineOf(doc: Doc, lineCounter: LineCounter, path: readonly PropertyKey[]): number | undefined {
  // The issue may point at a missing key: walk up to the nearest node that exists.
  for (let depth = path.length; depth >= 0; depth--) {
    const node = doc.getIn(path.slice(0, depth) as unknown[], true);
    if (isNode(node) && node.range) return lineCounter.linePos(node.range[0]).line || undefined;
  }
  return undefined;
}

function toProblem(issue: z.core.$ZodIssue, doc: Doc, lineCounter: LineCounter): PolicyProblem {
  const path = issue.path;
  const key = path.length > 0 ? path.map(String).join('.') : undefined;
  let message = issue.message;
  if (issue.code === 'unrecognized_keys') message = `unknown key${issue.keys.length > 1 ? 's' : ''} ${issue.keys.map((k) => `"${k}"`).join(', ')}`;
  const line = issue.code === 'unrecognized_keys' ? lineOf(doc, lineCounter, [...path, issue.keys[0]]) : lineOf(doc, lineCounter, path);
  return { line, key, message };
}

function compile(file: PolicyFile, source: string, digest: string, line: (path: PropertyKey[]) => number | undefined): Policy {
  const login = file.identity.login;
  const defaultAdopt: AdoptMode = file.ownership.adoptExistingTeams ? 'full' : 'none';
  const rules: TeamRule[] = file.teams.map((rule, index) => {
    const stacks = rule.stacks.map((s) => ({ project: s.project, stack: s.stack, permission: PERMISSIONS[s.permission] }));
    const environments = rule.environments.map((e) => ({ ...e }));
    const common = { index, line: line(['teams', index]), stacks, environments, adopt: rule.adopt ?? defaultAdopt, ...teamRoleFields(rule) };
    if (rule.group !== undefined) {
      const nameLower = rule.group.toLowerCase();
      return { ...common, key: `group:${nameLower}`, match: { kind: 'group', name: rule.group, nameLower }, team: rule.team };
    }
    if (rule.groupExternalId !== undefined) {
      return { ...common, key: `externalId:${rule.groupExternalId}`, match: { kind: 'externalId', externalId: rule.groupExternalId }, team: rule.team };
    }
    const source = rule.groupPattern as string;
    return { ...common, key: `pattern:${source}`, match: { kind: 'pattern', re: new RegExp(source) } };
  });
  return deepFreeze({
    file: source,
    digest,
    organization: file.organization,
    orgDefaultPermission: file.orgDefaultPermission,
    login: (LOGIN_SOURCES as readonly string[]).includes(login) ? (login as LoginSource) : { attributePath: login },
    removeFromOrg: file.identity.removeFromOrg,
    rules,
    ownership: file.ownership,
    tokens: file.tokens,
    reconcile: {
      every: file.reconcile.every,
      everyMs: durationMs(file.reconcile.every),
      mode: file.reconcile.mode,
      ...(file.reconcile.cron ? { cron: file.reconcile.cron } : {}),
    },
    safety: { maxRemovals: file.safety.maxRemovals, window: file.safety.window, windowMs: durationMs(file.safety.window) },
    signals: (({ maxAge, ...actions }) => ({ actions: dedupeActions(actions), maxAge, maxAgeMs: durationMs(maxAge) }))(file.signals),
  });
}

function teamRoleFields(rule: PolicyFile['teams'][number]): Pick<TeamRule, 'role' | 'admins'> {
  const admins: AdminsMatcher | undefined =
    rule.admins === undefined
      ? undefined
      : rule.admins.group !== undefined
        ? { kind: 'group', name: rule.admins.group, nameLower: rule.admins.group.toLowerCase() }
        : { kind: 'externalId', externalId: rule.admins.groupExternalId as string };
  return { ...(rule.role !== undefined ? { role: rule.role } : {}), ...(admins ? { admins } : {}) };
}

/** `[revoke-tokens, revoke-tokens]` is one action. */
function dedupeActions(actions: Record<SignalEvent, SignalAction[]>): Record<SignalEvent, SignalAction[]> {
  return Object.fromEntries(Object.entries(actions).map(([event, list]) => [event, [...new Set(list)]])) as Record<SignalEvent, SignalAction[]>;
}

export function durationMs(text: string): number {
  const m = DURATION.exec(text);
  if (!m) throw new Error(`not a duration: ${text}`);
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }[m[2] as 'ms' | 's' | 'm' | 'h' | 'd'];
  return Number(m[1]) * unit;
}

function deepFreeze<T>(value: T): T {
  if (value && typeof value === 'object' && !(value instanceof RegExp)) {
    for (const v of Object.values(value)) deepFreeze(v);
    Object.freeze(value);
  }
  return value;
}

/** True when `name` is a team name the reconciler may manage (not a scoped-token team). */
export function isManageableTeamName(name: string): boolean {
  return TEAM_NAME.test(name) && !name.toLowerCase().startsWith(TOKEN_TEAM_PREFIX);
}
