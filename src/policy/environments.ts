import { z } from 'zod';

/**
 * ESC environment grants in team rules (README.md, "Policy reference"; docs/pulumi-api.md,
 * "Environment permissions"): the schema of one `environments:` entry, the order of the levels,
 * and `maxOpenDuration` arithmetic. Globs are resolved in resolve.ts, as for stacks.
 */

/** Pulumi's environment permission names, lowest first: each level includes the ones before it. */
export const ENVIRONMENT_PERMISSIONS = ['read', 'open', 'write', 'admin'] as const;
export type EnvironmentPermission = (typeof ENVIRONMENT_PERMISSIONS)[number];

/**
 * The order `read < open < write < admin`, spelled out as for stacks. Anything else Pulumi
 * reports (`none`, a name we do not know) ranks below read, so any desired level is an upgrade.
 */
export function environmentRank(permission: string): number {
  return (ENVIRONMENT_PERMISSIONS as readonly string[]).indexOf(permission);
}

/** A Go duration (`1h`, `30m`, `1h30m`, `90s`), the format Pulumi takes for `maxOpenDuration`. */
const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;
const GO_UNIT_MS: Readonly<Record<string, number>> = { ns: 1e-6, us: 1e-3, µs: 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Milliseconds of a Go duration string, or undefined when it is not one (`1h` and `1h0m0s` are equal). */
export function goDurationMs(text: string): number | undefined {
  if (!GO_DURATION.test(text)) return undefined;
  let total = 0;
  for (const [, amount, unit] of text.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(amount) * GO_UNIT_MS[unit];
  return total;
}

const glob = z.string().min(1, 'must not be empty').max(200);

export const environmentRuleSchema = z.strictObject({
  project: glob,
  environment: glob,
  permission: z.enum(ENVIRONMENT_PERMISSIONS),
  /** How long one `open` of the environment may last, as Pulumi takes it: a Go duration. */
  maxOpenDuration: z
    .string()
    .refine((text) => (goDurationMs(text) ?? 0) > 0, { message: 'must be a positive Go duration such as 30m, 1h or 1h30m' })
    .optional(),
});

export interface EnvironmentRule {
  project: string;
  environment: string;
  permission: EnvironmentPermission;
  maxOpenDuration?: string;
}

/** An environment of the org (`project/name`), as §3.10 lists it less the soft-deleted ones. */
export interface OrgEnvironment {
  project: string;
  name: string;
}

export interface EnvironmentGrant {
  projectName: string;
  envName: string;
  permission: EnvironmentPermission;
  maxOpenDuration?: string;
}

export function environmentKey(projectName: string, envName: string): string {
  return `${projectName}/${envName}`;
}

/** Whether two `maxOpenDuration` values mean the same limit (`1h` = `1h0m0s`; absent = absent). */
export function sameOpenDuration(a: string | undefined, b: string | undefined): boolean {
  // Pulumi may report an unset limit as "" or "0s"; an unreadable value never matches.
  const ms = (text: string | undefined) => (text ? (goDurationMs(text) ?? Number.NaN) : 0);
  return ms(a) === ms(b);
}

/** Whether limit `a` allows longer opens than `b` (no limit is the longest). */
export function longerOpen(a: string | undefined, b: string | undefined): boolean {
  if (b === undefined) return false;
  if (a === undefined) return true;
  return (goDurationMs(a) ?? 0) > (goDurationMs(b) ?? 0);
}
