import { z } from 'zod';
import type { EmulatorConfig } from './config';

/**
 * ESC environments in the emulated org (docs/pulumi-api.md, "Environment permissions" and "ESC
 * environments"): the org's environments as ListOrgEnvironments shows them, and a team's grants
 * on them through the team PATCH route. Pure functions over the state; a refusal comes back as
 * a status and message for api.ts to send.
 */

export interface EmuEnvironment {
  project: string;
  name: string;
  id: string;
  created: string;
  modified: string;
  tags: Record<string, string>;
  /** Soft-deleted: still listed, with this time, and not grantable. */
  deletedAt?: string;
}

export interface EmuEnvironmentGrant {
  projectName: string;
  envName: string;
  permission: EnvironmentLevel;
  maxOpenDuration?: string;
}

/** The levels §2 names; `none` is accepted as the service lists it. */
const LEVELS = ['none', 'read', 'open', 'write', 'admin'] as const;
type EnvironmentLevel = (typeof LEVELS)[number];

const GO_DURATION = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;

export const environmentSeedSchema = z.union([
  z
    .string()
    .regex(/^[^/]+\/[^/]+$/, 'must be "project/environment"')
    .transform((s) => {
      const [project, name] = s.split('/');
      return { project, name, tags: {} as Record<string, string> };
    }),
  z.object({
    project: z.string().min(1),
    name: z.string().min(1),
    tags: z.record(z.string(), z.string()).default({}),
    deletedAt: z.string().optional(),
  }),
]);

export const environmentGrantSeedSchema = z.object({
  projectName: z.string().min(1),
  envName: z.string().min(1),
  permission: z.enum(LEVELS),
  maxOpenDuration: z.string().regex(GO_DURATION).optional(),
});

export interface EnvironmentFailure {
  status: number;
  message: string;
}

type GrantKind = 'addEnvironmentPermission' | 'editEnvironmentPermission';

interface Holder {
  environments?: EmuEnvironmentGrant[];
}

const refused = (status: number, message: string): EnvironmentFailure => ({ status, message });

/**
 * `addEnvironmentPermission` / `editEnvironmentPermission` on a team: 404 for an environment the
 * org does not have (or has soft-deleted); an existing grant on add, a missing one on edit, answer
 * as the stack-grant switches say (the service's answers are unconfirmed for both kinds alike).
 */
export function setEnvironmentGrant(
  environments: readonly EmuEnvironment[],
  config: EmulatorConfig,
  team: Holder,
  kind: GrantKind,
  value: unknown,
): EnvironmentFailure | undefined {
  const ref = environmentRef(value, kind);
  if ('status' in ref) return ref;
  const { permission, maxOpenDuration } = value as Record<string, unknown>;
  if (typeof permission !== 'string' || !(LEVELS as readonly string[]).includes(permission)) {
    return refused(400, `Unrecognised permission ${String(permission)}; use none, read, open, write or admin`);
  }
  if (maxOpenDuration !== undefined && (typeof maxOpenDuration !== 'string' || !GO_DURATION.test(maxOpenDuration))) {
    return refused(400, `maxOpenDuration ${String(maxOpenDuration)} is not a duration such as 1h30m`);
  }
  if (!environments.some((e) => e.project === ref.projectName && e.name === ref.envName && !e.deletedAt)) {
    return refused(404, `Environment '${ref.projectName}/${ref.envName}' not found`);
  }
  team.environments ??= [];
  const grant: EmuEnvironmentGrant = {
    projectName: ref.projectName,
    envName: ref.envName,
    permission: permission as EnvironmentLevel,
    ...(maxOpenDuration ? { maxOpenDuration } : {}),
  };
  const index = team.environments.findIndex((e) => e.projectName === ref.projectName && e.envName === ref.envName);
  if (index >= 0) {
    if (kind === 'addEnvironmentPermission' && config.addExistingGrant !== 'overwrite') {
      return refused(config.addExistingGrant, `Team already has a permission on environment '${ref.projectName}/${ref.envName}'`);
    }
    team.environments[index] = grant;
    return undefined;
  }
  if (kind === 'editEnvironmentPermission' && config.editMissingGrant !== 'create') {
    return refused(config.editMissingGrant, `Team has no permission on environment '${ref.projectName}/${ref.envName}'`);
  }
  team.environments.push(grant);
  return undefined;
}

/** `removeEnvironment`: a missing grant answers as `removeMissingGrant` says. */
export function removeEnvironmentGrant(config: EmulatorConfig, team: Holder, value: unknown): EnvironmentFailure | undefined {
  const ref = environmentRef(value, 'removeEnvironment');
  if ('status' in ref) return ref;
  const index = (team.environments ?? []).findIndex((e) => e.projectName === ref.projectName && e.envName === ref.envName);
  if (index < 0) {
    return config.removeMissingGrant === 204
      ? undefined
      : refused(config.removeMissingGrant, `Team has no permission on environment '${ref.projectName}/${ref.envName}'`);
  }
  team.environments?.splice(index, 1);
  return undefined;
}

function environmentRef(value: unknown, key: string): { projectName: string; envName: string } | EnvironmentFailure {
  const v = value as Record<string, unknown>;
  if (v === null || typeof v !== 'object' || typeof v.projectName !== 'string' || typeof v.envName !== 'string' || !v.projectName || !v.envName) {
    return refused(400, `${key} needs projectName and envName`);
  }
  return { projectName: v.projectName, envName: v.envName };
}

/** One ListOrgEnvironments entry, as §3.10 names the fields. */
export function environmentView(org: string, env: EmuEnvironment): Record<string, unknown> {
  return {
    id: env.id,
    organization: org,
    project: env.project,
    name: env.name,
    created: env.created,
    modified: env.modified,
    tags: env.tags,
    ...(env.deletedAt ? { deletedAt: env.deletedAt } : {}),
  };
}
