import { CronExpressionParser } from 'cron-parser';
import isSafeRegex from 'safe-regex2';
import { z } from 'zod';
import { environmentRuleSchema } from './environments';

/**
 * The shape of `config/sync.yaml` (the policy reference is in README.md). Validation only: `load.ts` turns the parsed
 * document into the compiled `Policy` the reconciler uses, and maps problems to file:line.
 */

/** Prefix of the private teams the tokens part creates for scoped tokens; never a rule's team. */
export const TOKEN_TEAM_PREFIX = 'pis-tok-';

export const LOGIN_SOURCES = ['userName', 'userNameLocalPart', 'externalId', 'email'] as const;

/** A SCIM attribute path: `name.givenName`, or `<schema urn>:<attribute>` for extensions. */
const ATTRIBUTE_PATH = /^(urn:[A-Za-z0-9.:-]+:)?[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)*$/;

/**
 * Pulumi's team-name rules are unconfirmed (docs/pulumi-api.md, "Teams"); these are conservative: what
 * Pulumi's own SCIM accepts (≤ 40 characters) in URL-safe characters.
 */
export const TEAM_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$/;

export const PERMISSIONS = { read: 101, write: 102, admin: 103 } as const;
export type PermissionName = keyof typeof PERMISSIONS;

const teamName = z
  .string()
  .regex(TEAM_NAME, 'must be 1-40 characters of letters, digits, ".", "_" or "-", starting with a letter or digit')
  .refine((name) => !name.toLowerCase().startsWith(TOKEN_TEAM_PREFIX), {
    message: `names starting with "${TOKEN_TEAM_PREFIX}" are reserved for scoped-token teams`,
  });

const glob = z.string().min(1, 'must not be empty').max(200);

export const stackRuleSchema = z.strictObject({
  project: glob,
  stack: glob,
  permission: z.enum(['read', 'write', 'admin']),
});

/**
 * A pattern runs against every group name the IdP sends, so one that backtracks exponentially
 * would let a crafted group name stall the daemon: nested quantifiers (star height above 1) are
 * refused at load, and the length is capped. Names it runs against are capped too
 * (GROUP_PATTERN_MAX_SUBJECT in resolve.ts); docs/robustness.md, "Bounded work".
 */
const GROUP_PATTERN_MAX_LENGTH = 200;

const groupPattern = z
  .string()
  .min(1, 'must not be empty')
  .max(GROUP_PATTERN_MAX_LENGTH, `must be at most ${GROUP_PATTERN_MAX_LENGTH} characters`)
  .superRefine((source, ctx) => {
    try {
      new RegExp(source);
    } catch (err) {
      ctx.addIssue({ code: 'custom', message: `is not a valid regular expression: ${(err as Error).message}` });
      return;
    }
    if (!isSafeRegex(source)) {
      ctx.addIssue({
        code: 'custom',
        message: 'may take exponential time on some group names (a quantifier inside a quantified group, e.g. (a+)+); flatten it',
      });
    }
    if (!/\(\?<team>/.test(source)) {
      ctx.addIssue({ code: 'custom', message: 'needs a named capture group "team", e.g. ^pulumi-(?<team>[a-z0-9-]+)$' });
    }
  });

/**
 * One object with the keys of both rule kinds, checked for the combination afterwards: a zod
 * union would report "no variant matched" instead of the key that is actually wrong.
 */
/** How much of a pre-existing Pulumi team a rule takes over: nothing, its stack grants, or all of it. */
export const ADOPT_MODES = ['none', 'grants', 'full'] as const;

/**
 * The group whose members are the team's admins (README.md, "Policy reference"): named like the
 * rule's own group, by display name or by the IdP's id; a bare string is a display name.
 */
const adminsGroup = z.preprocess(
  (value) => (typeof value === 'string' ? { group: value } : value),
  z
    .strictObject({
      group: z.string().min(1, 'must not be empty').optional(),
      groupExternalId: z.string().min(1, 'must not be empty').optional(),
    })
    .refine((a) => (a.group === undefined) !== (a.groupExternalId === undefined), {
      message: 'needs exactly one of "group" or "groupExternalId"',
    }),
);

const teamRule = z
  .strictObject({
    group: z.string().min(1, 'must not be empty').optional(),
    groupExternalId: z.string().min(1, 'must not be empty').optional(),
    team: teamName.optional(),
    groupPattern: groupPattern.optional(),
    stacks: z.array(stackRuleSchema).default([]),
    environments: z.array(environmentRuleSchema).default([]),
    adopt: z.enum(ADOPT_MODES).optional(),
    /** A custom role (fine-grained RBAC) by its name in the org's role catalogue. */
    role: z.string().trim().min(1, 'must not be empty').max(100, 'must be at most 100 characters').optional(),
    admins: adminsGroup.optional(),
  })
  .superRefine((rule, ctx) => {
    const kinds = [rule.group, rule.groupExternalId, rule.groupPattern].filter((k) => k !== undefined).length;
    if (kinds !== 1) {
      ctx.addIssue({ code: 'custom', message: 'a team rule needs exactly one of "group", "groupExternalId" or "groupPattern"' });
    } else if (rule.group !== undefined && rule.team === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a "group" rule needs "team"', path: ['team'] });
    } else if (rule.groupExternalId !== undefined && rule.team === undefined) {
      ctx.addIssue({ code: 'custom', message: 'a "groupExternalId" rule needs "team"', path: ['team'] });
    } else if (rule.groupPattern !== undefined && rule.team !== undefined) {
      ctx.addIssue({ code: 'custom', message: 'a "groupPattern" rule takes the team from its named group "team"; remove "team"', path: ['team'] });
    }
    if (rule.groupPattern !== undefined && rule.admins !== undefined) {
      ctx.addIssue({
        code: 'custom',
        message: '"admins" needs a rule with one team ("group" or "groupExternalId"), not a "groupPattern" rule',
        path: ['admins'],
      });
    }
  });

/** `15m`, `1h`, `30s`, `500ms`, `1d`. */
export const DURATION = /^(\d+)(ms|s|m|h|d)$/;

const duration = z.string().regex(DURATION, 'must be a duration such as 30s, 15m, 1h or 1d');

/**
 * Parsed here with the parser the BullMQ scheduler uses, so a pattern it would reject (`61 * * * *`,
 * `0 0 30 2 *`) fails at load with its line instead of failing every scheduling attempt. The field
 * count is checked first: the parser also takes shorter patterns and fills in the rest.
 */
const cronPattern = z.string().superRefine((pattern, ctx) => {
  if (!/^\S+(\s+\S+){4,5}$/.test(pattern)) {
    ctx.addIssue({ code: 'custom', message: 'must be a cron pattern of 5 or 6 fields, e.g. "*/15 * * * *"' });
    return;
  }
  try {
    CronExpressionParser.parse(pattern, { tz: 'UTC' });
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: `is not a valid cron pattern: ${(err as Error).message}` });
  }
});

/** What a Shared Signals event may make the daemon do (docs/shared-signals.md, "Policy"). */
export const SIGNAL_ACTIONS = ['end-sessions', 'revoke-tokens', 'deprovision'] as const;

/** The CAEP and RISC events the receiver acts on, by their short names. */
export const SIGNAL_EVENTS = ['session-revoked', 'credential-change', 'credential-compromise', 'account-disabled', 'account-purged'] as const;

const signalActions = z.array(z.enum(SIGNAL_ACTIONS)).max(SIGNAL_ACTIONS.length);

/** The safe defaults: a credential change never removes anyone from a team; only a disabled or purged account does. */
export const DEFAULT_SIGNAL_ACTIONS = {
  'session-revoked': ['end-sessions'],
  'credential-change': ['revoke-tokens', 'end-sessions'],
  'credential-compromise': ['revoke-tokens', 'end-sessions'],
  'account-disabled': ['deprovision'],
  'account-purged': ['deprovision'],
} as const satisfies Record<(typeof SIGNAL_EVENTS)[number], ReadonlyArray<(typeof SIGNAL_ACTIONS)[number]>>;

const signalsSchema = z
  .strictObject({
    'session-revoked': signalActions.default([...DEFAULT_SIGNAL_ACTIONS['session-revoked']]),
    'credential-change': signalActions.default([...DEFAULT_SIGNAL_ACTIONS['credential-change']]),
    'credential-compromise': signalActions.default([...DEFAULT_SIGNAL_ACTIONS['credential-compromise']]),
    'account-disabled': signalActions.default([...DEFAULT_SIGNAL_ACTIONS['account-disabled']]),
    'account-purged': signalActions.default([...DEFAULT_SIGNAL_ACTIONS['account-purged']]),
    /** A SET whose `iat` is further from now than this (either way) is refused. @defaultValue 5m */
    maxAge: duration.default('5m'),
  })
  .default({
    'session-revoked': [...DEFAULT_SIGNAL_ACTIONS['session-revoked']],
    'credential-change': [...DEFAULT_SIGNAL_ACTIONS['credential-change']],
    'credential-compromise': [...DEFAULT_SIGNAL_ACTIONS['credential-compromise']],
    'account-disabled': [...DEFAULT_SIGNAL_ACTIONS['account-disabled']],
    'account-purged': [...DEFAULT_SIGNAL_ACTIONS['account-purged']],
    maxAge: '5m',
  });

/**
 * The org's default stack permission for every member, as set in Pulumi's organization settings.
 * The daemon reads it from no Pulumi call (docs/pulumi-api.md, "Team tokens"), so the policy
 * states it for the access view; `unknown` makes the access view say it does not know.
 */
export const ORG_DEFAULT_PERMISSIONS = ['unknown', 'none', 'read', 'write', 'admin'] as const;

export const policySchema = z.strictObject({
  organization: z.string().min(1, 'must not be empty'),
  /** @defaultValue unknown */
  orgDefaultPermission: z.enum(ORG_DEFAULT_PERMISSIONS).default('unknown'),
  identity: z
    .strictObject({
      login: z
        .string()
        .refine((v) => (LOGIN_SOURCES as readonly string[]).includes(v) || ATTRIBUTE_PATH.test(v), {
          message: `must be one of ${LOGIN_SOURCES.join(', ')} or a SCIM attribute path`,
        })
        .default('userName'),
      /**
       * Who leaves the Pulumi org once deactivated or deleted in the IdP: the people the daemon
       * added (`added`), every org member the directory knows (`all`), or nobody (`never`).
       * Org admins are never removed. @defaultValue added
       */
      removeFromOrg: z.enum(['added', 'all', 'never']).default('added'),
    })
    .default({ login: 'userName', removeFromOrg: 'added' }),
  teams: z.array(teamRule).default([]),
  ownership: z
    .strictObject({
      /** Take over a pre-existing Pulumi team a rule names (a rule's `adopt` overrides it). @defaultValue false */
      adoptExistingTeams: z.boolean().default(false),
      /** Delete an owned team once no group maps to it. @defaultValue false */
      deleteTeamWhenGroupGone: z.boolean().default(false),
    })
    .default({ adoptExistingTeams: false, deleteTeamWhenGroupGone: false }),
  tokens: z
    .strictObject({
      /** Revoke a team token when its creator leaves the team or the directory. @defaultValue true */
      revokeWhenCreatorLeaves: z.boolean().default(true),
      /** Also revoke tokens whose creator the directory never knew. @defaultValue false */
      revokeUnknownCreators: z.boolean().default(false),
    })
    .default({ revokeWhenCreatorLeaves: true, revokeUnknownCreators: false }),
  reconcile: z
    .strictObject({
      /** Full drift reconcile interval. @defaultValue 15m */
      every: duration.default('15m'),
      /** Instead of `every`: a cron pattern, evaluated in UTC, e.g. "0 * * * *". */
      cron: cronPattern.optional(),
      /**
       * `observe` plans and records every change and makes no Pulumi write at all; `enforce`
       * applies them. @defaultValue enforce
       */
      mode: z.enum(['observe', 'enforce']).default('enforce'),
    })
    .default({ every: '15m', mode: 'enforce' }),
  safety: z
    .strictObject({
      /**
       * More removals of still-active access than this, in one reconcile or across the org
       * within `window`, wait for an admin's approval. @defaultValue 10
       */
      maxRemovals: z.number().int('must be a whole number').min(0, 'must be 0 or more').default(10),
      /** @defaultValue 1h */
      window: duration.default('1h'),
    })
    .default({ maxRemovals: 10, window: '1h' }),
  /** What each Shared Signals event does to the person it names (docs/shared-signals.md). */
  signals: signalsSchema,
});

export type PolicyFile = z.infer<typeof policySchema>;
