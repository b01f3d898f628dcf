import type { Logger } from '../log';
import { BadRequestError, ConflictError, InvalidResponseError, NotFoundError, type PulumiError } from './errors';
import { DoneMemo } from './done-memo';
import { type CallSpec, createTransport, type PulumiCall, type RetryMode, type Transport } from './http';
import { PulumiBudget } from './limiter';
import { DEFAULT_RETRY_POLICY, type RetryPolicy } from './retry';
import type { CallClass } from './scheduler';
import type {
  AccessToken,
  CreateAccessTokenResponse,
  OrganizationMember,
  OrgEnvironmentSummary,
  OrgRoleRecord,
  StackPermissionLevel,
  StackSummary,
  Team,
} from './types';

/**
 * Typed Pulumi Service REST client for the endpoints of docs/pulumi-api.md, "Endpoints". Every method is
 * safe to call again after it succeeded: "already done" answers (409 on add, 404 on remove or
 * delete) are mapped to success here, so the reconciler never has to know the codes. Where the
 * contract leaves the "already done" status open ("Unconfirmed points": a 400 for a member not on the team, a
 * grant that is there or not, an unknown token id; a 409 or 400 for a grant that exists), that
 * answer counts as done only once a fresh read shows the change in place.
 */

export interface PulumiClientOptions {
  /** e.g. `https://api.pulumi.com` (paths get `/api/...` appended). */
  baseUrl: string;
  accessToken: string;
  /** Timeout of one HTTP attempt. @defaultValue 15000 */
  timeoutMs?: number;
  /** Requests in flight per org. @defaultValue 8 */
  maxConcurrency?: number;
  /** Request starts per second per org. @defaultValue 20 */
  maxRps?: number;
  /** Share of both limits held back for the `priority` client's calls. @defaultValue 0 */
  priorityShare?: number;
  /**
   * The per-org limits to wait on, shared with other clients of the process; when given,
   * `maxConcurrency`, `maxRps` and `priorityShare` are the budget's. @defaultValue a budget of its own
   */
  budget?: PulumiBudget;
  retry?: Partial<RetryPolicy>;
  /** Called once per HTTP attempt (metrics). */
  onCall?: (call: PulumiCall) => void;
  logger?: Logger;
}

export type TokenFilter = 'active' | 'expired' | 'all';

/**
 * Which member roster to read (§3.8): `frontend` = the org's members in Pulumi's database,
 * `backend` = the identity backend's roster (may include `knownToPulumi: false` entries),
 * `all` = both merged by login as the pulumiservice provider does.
 */
export type MemberRoster = 'frontend' | 'backend' | 'all';

export interface StackGrant {
  projectName: string;
  stackName: string;
  permission: StackPermissionLevel;
}

export interface StackRef {
  projectName: string;
  stackName: string;
}

/** A team's grant on one ESC environment (§3.4). */
export interface EnvironmentGrant {
  projectName: string;
  envName: string;
  permission: 'read' | 'open' | 'write' | 'admin';
  /** A Go duration; absent: no limit. */
  maxOpenDuration?: string;
}

export interface EnvironmentRef {
  projectName: string;
  envName: string;
}

export type OrgRole = 'member' | 'admin' | 'billing-manager';

export interface PulumiClient {
  /**
   * The same client (budget, memory of revocations) with its calls in the budget's priority
   * class: for revoking, removing and narrowing for people who lost access.
   */
  readonly priority: PulumiClient;
  listTeams(org: string): Promise<Team[]>;
  /** null when the team does not exist. */
  getTeam(org: string, team: string): Promise<Team | null>;
  /** Throws ConflictError when the name is taken. Not retried on 5xx (a repeat would 409). */
  createTeam(org: string, team: { name: string; displayName: string; description: string }): Promise<Team>;
  /** Already deleted counts as done. */
  deleteTeam(org: string, team: string): Promise<void>;
  updateTeam(org: string, team: string, update: { newDisplayName: string; newDescription: string }): Promise<void>;
  /** Already a member (409) counts as done. */
  addTeamMember(org: string, team: string, login: string): Promise<void>;
  /**
   * Not a member (404, or a 400 when the team read back lacks the login) counts as done.
   * `seenOnTeam`: the caller has just read the login on the team (a reconcile's actual state), so
   * a removal this process remembers making is stale (someone added them back) and is sent again.
   */
  removeTeamMember(org: string, team: string, login: string, options?: { seenOnTeam?: boolean }): Promise<void>;
  /** True while this process remembers removing the login from the team (docs/robustness.md, "One Pulumi budget per org"). */
  memberRemovedRecently(org: string, team: string, login: string): boolean;
  /**
   * A 409 or 400 counts as done when the team read back holds the grant at this level; a
   * grant at another level still fails (change levels with editStackPermission).
   */
  addStackPermission(org: string, team: string, grant: StackGrant): Promise<void>;
  editStackPermission(org: string, team: string, grant: StackGrant): Promise<void>;
  /** No such grant (404, or a 400 when the team read back lacks it) counts as done. */
  removeStackPermission(org: string, team: string, stack: StackRef): Promise<void>;
  /** Every page. @param filter defaults to the service's default, `active`. */
  listTeamTokens(org: string, team: string, filter?: TokenFilter): Promise<AccessToken[]>;
  /**
   * Issues a team token; `tokenValue` is returned only this once. Retried only after a 429
   * (the service did no work); any other failure surfaces, because a blind repeat could create
   * a second token or hit the single-use name.
   */
  createTeamToken(
    org: string,
    team: string,
    token: { name: string; description: string; expires: number },
    reason?: string,
  ): Promise<CreateAccessTokenResponse>;
  /** Already deleted (404, or a 400 when the team's token list lacks the id) counts as done. */
  deleteTeamToken(org: string, team: string, tokenId: string, reason?: string): Promise<void>;
  listOrgTokens(org: string, filter?: TokenFilter): Promise<AccessToken[]>;
  /** Already deleted (404, or a 400 when the org's token list lacks the id) counts as done. */
  deleteOrgToken(org: string, tokenId: string, reason?: string): Promise<void>;
  /** Every page. @param roster defaults to `frontend`, the org's actual members. */
  listOrgMembers(org: string, roster?: MemberRoster): Promise<OrganizationMember[]>;
  /** 409 → already-member; 404 → no-account (the user must sign up or be invited first). */
  addOrgMember(org: string, login: string, role?: OrgRole): Promise<'added' | 'already-member' | 'no-account'>;
  /** Not a member (404) counts as done. Pulumi also removes the user from every team. */
  removeOrgMember(org: string, login: string): Promise<void>;
  /** Names of the teams a member belongs to. */
  listMemberTeams(org: string, login: string): Promise<string[]>;
  /** A 409 or 400 counts as done when the team read back holds the grant at this level. */
  addEnvironmentPermission(org: string, team: string, grant: EnvironmentGrant): Promise<void>;
  editEnvironmentPermission(org: string, team: string, grant: EnvironmentGrant): Promise<void>;
  /** No such grant (404, or a 400 when the team read back lacks it) counts as done. */
  removeEnvironmentPermission(org: string, team: string, environment: EnvironmentRef): Promise<void>;
  /** Every page of `/api/esc/environments/{org}` (§3.10), soft-deleted ones included. */
  listEnvironments(org: string): Promise<OrgEnvironmentSummary[]>;
  /** Every page of `/api/user/stacks?organization=`; only stacks the token can see. */
  listStacks(org: string, filter?: { project?: string }): Promise<StackSummary[]>;
  /** One cheap authenticated GET, a single attempt (readiness probe). Throws on any failure. */
  ping(org?: string): Promise<void>;
  /** The org's role catalogue (`uxPurpose=role`), built-in and custom roles alike. */
  listOrgRoles(org: string): Promise<OrgRoleRecord[]>;
  /** Gives the team this custom role, replacing the one it had (an upsert: repeating it changes nothing). */
  assignTeamRole(org: string, team: string, roleId: string): Promise<void>;
  /** The team no longer holds the role (404) counts as done. */
  unassignTeamRole(org: string, team: string, roleId: string): Promise<void>;
  /** A member's role within the team, through `memberAction: promote|demote` (docs/pulumi-api.md, "Team members"). */
  setTeamMemberRole(org: string, team: string, login: string, role: 'admin' | 'member'): Promise<void>;
}

const DEFAULT_TIMEOUT_MS = 15_000;
const DEFAULT_MAX_CONCURRENCY = 8;
const DEFAULT_MAX_RPS = 20;
/** Far above any real org; stops a service bug from paging forever. */
const MAX_PAGES = 10_000;

const TEAMS = '/api/orgs/{org}/teams';
const TEAM = '/api/orgs/{org}/teams/{team}';
const TEAM_TOKENS = '/api/orgs/{org}/teams/{team}/tokens';
const TEAM_TOKEN = '/api/orgs/{org}/teams/{team}/tokens/{tokenId}';
const ORG_TOKENS = '/api/orgs/{org}/tokens';
const ORG_TOKEN = '/api/orgs/{org}/tokens/{tokenId}';
const MEMBERS = '/api/orgs/{org}/members';
const MEMBER = '/api/orgs/{org}/members/{login}';
const MEMBER_TEAMS = '/api/orgs/{org}/members/{login}/teams';
const USER_STACKS = '/api/user/stacks';
const ORG_ROLES = '/api/orgs/{org}/roles';
const TEAM_ROLE = '/api/orgs/{org}/teams/{team}/roles/{roleId}';
const ORG_ENVIRONMENTS = '/api/esc/environments/{org}';

export function createPulumiClient(options: PulumiClientOptions): PulumiClient {
  if (!options.accessToken) throw new TypeError('accessToken is required');
  if (!URL.canParse(options.baseUrl)) throw new TypeError('baseUrl must be an absolute URL');
  const transport: Transport = createTransport({
    baseUrl: options.baseUrl,
    accessToken: options.accessToken,
    timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    budget:
      options.budget ??
      new PulumiBudget({
        maxConcurrency: options.maxConcurrency ?? DEFAULT_MAX_CONCURRENCY,
        maxRps: options.maxRps ?? DEFAULT_MAX_RPS,
        priorityShare: options.priorityShare ?? 0,
      }),
    retry: { ...DEFAULT_RETRY_POLICY, ...options.retry },
    onCall: options.onCall,
    logger: options.logger,
    userAgent: 'pulumi-idp-sync/0.1',
  });
  const memo = new DoneMemo();
  const inClass = (callClass: CallClass): ClassTransport => ({ call: (spec) => transport.call({ ...spec, callClass }) });
  const priority: PulumiClient = clientOver(inClass('priority'), memo, () => priority);
  return clientOver(inClass('normal'), memo, () => priority);
}

/** The transport with every call in one class of the budget. */
interface ClassTransport {
  call(spec: Omit<CallSpec, 'callClass'>): Promise<unknown>;
}

/** How long a token DELETE, and a member removal, done by this process count as done. */
const TOKEN_DELETE_MEMORY_MS = 10 * 60_000;
const MEMBER_REMOVAL_MEMORY_MS = 60_000;

function clientOver(transport: ClassTransport, memo: DoneMemo, priority: () => PulumiClient): PulumiClient {
  const get = (org: string, route: string, params: Record<string, string>, query?: Record<string, string | number | undefined>) =>
    transport.call({ method: 'GET', route, params: { org, ...params }, query, org, retry: 'idempotent' });

  const patchTeam = (org: string, team: string, body: Record<string, unknown>) =>
    transport.call({ method: 'PATCH', route: TEAM, params: { org, team }, body, org, retry: 'idempotent' });

  /** Maps "already done" errors of an idempotent write to success. */
  async function tolerate(promise: Promise<unknown>, done: typeof NotFoundError | typeof ConflictError): Promise<void> {
    try {
      await promise;
    } catch (err) {
      if (err instanceof done) return;
      throw err;
    }
  }

  /**
   * Maps an answer whose meaning the contract leaves open to success when `isDone` (a fresh
   * read) shows the change in place; otherwise the original error stands. Only called on
   * errors, so the extra read costs nothing on the usual path.
   */
  async function confirm(promise: Promise<unknown>, open: ReadonlyArray<typeof PulumiError>, isDone: () => Promise<boolean>): Promise<void> {
    try {
      await promise;
    } catch (err) {
      if (open.some((kind) => err instanceof kind) && (await isDone())) return;
      throw err;
    }
  }

  /** The team's grant on a stack as read now; null when the team is gone (no grants at all). */
  async function currentGrant(org: string, team: string, stack: StackRef): Promise<number | null> {
    const current = await client.getTeam(org, team);
    const grant = current?.stacks?.find((s) => s.projectName === stack.projectName && s.stackName === stack.stackName);
    return grant ? grant.permission : null;
  }

  /** The team's permission on an environment as read now; null when it has none. */
  async function currentEnvironmentGrant(org: string, team: string, env: EnvironmentRef): Promise<string | null> {
    const current = await client.getTeam(org, team);
    return current?.environments?.find((e) => e.projectName === env.projectName && e.envName === env.envName)?.permission ?? null;
  }

  /** Whether a token list (every filter) still shows the id; a team that is gone shows none. */
  async function tokenListed(list: () => Promise<AccessToken[]>, tokenId: string): Promise<boolean> {
    try {
      return (await list()).some((token) => token.id === tokenId);
    } catch (err) {
      if (err instanceof NotFoundError) return false;
      throw err;
    }
  }

  async function allPages<T>(
    org: string,
    route: string,
    params: Record<string, string>,
    query: Record<string, string | number | undefined>,
    key: string,
    /** The answer's cursor field: `continuationToken`, or `nextToken` for ESC lists (§3.10); sent back as `continuationToken` either way. */
    cursorField: 'continuationToken' | 'nextToken' = 'continuationToken',
  ): Promise<T[]> {
    const items: T[] = [];
    const seen = new Set<string>();
    let continuationToken: string | undefined;
    for (let page = 0; page < MAX_PAGES; page += 1) {
      const body = await get(org, route, params, { ...query, continuationToken });
      items.push(...arrayField<T>(body, key, `GET ${route}`));
      const next = (body as Record<string, unknown>)[cursorField];
      if (next === undefined || next === null || next === '') return items;
      if (typeof next !== 'string' || seen.has(next)) {
        throw new InvalidResponseError(`GET ${route}: ${cursorField} repeats or is not a string`, 200, undefined, `GET ${route}`);
      }
      seen.add(next);
      continuationToken = next;
    }
    throw new InvalidResponseError(`GET ${route}: more than ${MAX_PAGES} pages`, 200, undefined, `GET ${route}`);
  }

  const tokenCall = (
    method: 'POST' | 'DELETE',
    route: string,
    params: Record<string, string>,
    org: string,
    retry: RetryMode,
    body?: unknown,
    reason?: string,
  ) => transport.call({ method, route, params: { org, ...params }, query: { reason }, body, org, retry });

  const memberKey = (org: string, team: string, login: string) => `member ${org} ${team} ${login.toLowerCase()}`;

  const client: PulumiClient = {
    get priority() {
      return priority();
    },

    async listTeams(org) {
      return arrayField<Team>(await get(org, TEAMS, {}), 'teams', `GET ${TEAMS}`);
    },

    async getTeam(org, team) {
      try {
        return objectBody<Team>(await get(org, TEAM, { team }), `GET ${TEAM}`);
      } catch (err) {
        if (err instanceof NotFoundError) return null;
        throw err;
      }
    },

    async createTeam(org, team) {
      const body = await transport.call({
        method: 'POST',
        route: '/api/orgs/{org}/teams/pulumi',
        params: { org },
        body: { name: team.name, displayName: team.displayName, description: team.description },
        org,
        retry: 'rate-limit-only',
      });
      return objectBody<Team>(body, 'POST /api/orgs/{org}/teams/pulumi');
    },

    async deleteTeam(org, team) {
      await tolerate(transport.call({ method: 'DELETE', route: TEAM, params: { org, team }, org, retry: 'idempotent' }), NotFoundError);
    },

    async updateTeam(org, team, update) {
      await patchTeam(org, team, { newDisplayName: update.newDisplayName, newDescription: update.newDescription });
    },

    memberRemovedRecently(org, team, login) {
      return memo.isDone(memberKey(org, team, login));
    },

    async addTeamMember(org, team, login) {
      memo.forget(memberKey(org, team, login));
      await tolerate(patchTeam(org, team, { memberAction: 'add', member: login }), ConflictError);
    },

    async removeTeamMember(org, team, login, options) {
      if (options?.seenOnTeam) memo.forget(memberKey(org, team, login));
      const lower = login.toLowerCase();
      await memo.once(memberKey(org, team, login), MEMBER_REMOVAL_MEMORY_MS, () =>
        confirm(
          tolerate(patchTeam(org, team, { memberAction: 'remove', member: login }), NotFoundError),
          [BadRequestError],
          async () => !((await client.getTeam(org, team))?.members ?? []).some((m) => m.githubLogin.toLowerCase() === lower),
        ),
      );
    },

    async addStackPermission(org, team, grant) {
      await confirm(
        patchTeam(org, team, {
          addStackPermission: { projectName: grant.projectName, stackName: grant.stackName, permission: grant.permission },
        }),
        [ConflictError, BadRequestError],
        async () => (await currentGrant(org, team, grant)) === grant.permission,
      );
    },

    async editStackPermission(org, team, grant) {
      await patchTeam(org, team, {
        editStackPermission: { projectName: grant.projectName, stackName: grant.stackName, permission: grant.permission },
      });
    },

    async removeStackPermission(org, team, stack) {
      await confirm(
        tolerate(patchTeam(org, team, { removeStack: { projectName: stack.projectName, stackName: stack.stackName } }), NotFoundError),
        [BadRequestError],
        async () => (await currentGrant(org, team, stack)) === null,
      );
    },

    listTeamTokens(org, team, filter) {
      return allPages<AccessToken>(org, TEAM_TOKENS, { team }, { filter }, 'tokens');
    },

    async createTeamToken(org, team, token, reason) {
      const body = await tokenCall(
        'POST',
        TEAM_TOKENS,
        { team },
        org,
        'rate-limit-only',
        {
          name: token.name,
          description: token.description,
          expires: token.expires,
        },
        reason,
      );
      const created = objectBody<CreateAccessTokenResponse>(body, `POST ${TEAM_TOKENS}`);
      if (typeof created.id !== 'string' || typeof created.tokenValue !== 'string') {
        throw new InvalidResponseError(`POST ${TEAM_TOKENS}: answer lacks id or tokenValue`, 200, undefined, `POST ${TEAM_TOKENS}`);
      }
      return { id: created.id, tokenValue: created.tokenValue };
    },

    async deleteTeamToken(org, team, tokenId, reason) {
      await memo.once(`team-token ${org} ${team} ${tokenId}`, TOKEN_DELETE_MEMORY_MS, () =>
        confirm(
          tolerate(tokenCall('DELETE', TEAM_TOKEN, { team, tokenId }, org, 'idempotent', undefined, reason), NotFoundError),
          [BadRequestError],
          async () => !(await tokenListed(() => client.listTeamTokens(org, team, 'all'), tokenId)),
        ),
      );
    },

    listOrgTokens(org, filter) {
      return allPages<AccessToken>(org, ORG_TOKENS, {}, { filter }, 'tokens');
    },

    async deleteOrgToken(org, tokenId, reason) {
      await memo.once(`org-token ${org} ${tokenId}`, TOKEN_DELETE_MEMORY_MS, () =>
        confirm(
          tolerate(tokenCall('DELETE', ORG_TOKEN, { tokenId }, org, 'idempotent', undefined, reason), NotFoundError),
          [BadRequestError],
          async () => !(await tokenListed(() => client.listOrgTokens(org, 'all'), tokenId)),
        ),
      );
    },

    async listOrgMembers(org, roster = 'frontend') {
      if (roster !== 'all') return allPages<OrganizationMember>(org, MEMBERS, {}, { type: roster }, 'members');
      const frontend = await allPages<OrganizationMember>(org, MEMBERS, {}, { type: 'frontend' }, 'members');
      const backend = await allPages<OrganizationMember>(org, MEMBERS, {}, { type: 'backend' }, 'members');
      // The provider's merge: frontend entries win, and the backend's placeholder entry whose
      // login is the org name itself is not a person.
      const byLogin = new Map<string, OrganizationMember>();
      for (const member of [...frontend, ...backend]) {
        const login = member.user?.githubLogin;
        if (!login || login === org || byLogin.has(login)) continue;
        byLogin.set(login, member);
      }
      return [...byLogin.values()];
    },

    async addOrgMember(org, login, role = 'member') {
      try {
        await transport.call({ method: 'POST', route: MEMBER, params: { org, login }, body: { role }, org, retry: 'idempotent' });
        return 'added';
      } catch (err) {
        if (err instanceof ConflictError) return 'already-member';
        if (err instanceof NotFoundError) return 'no-account';
        throw err;
      }
    },

    async removeOrgMember(org, login) {
      await tolerate(transport.call({ method: 'DELETE', route: MEMBER, params: { org, login }, org, retry: 'idempotent' }), NotFoundError);
    },

    async listMemberTeams(org, login) {
      const teams = arrayField<unknown>(await get(org, MEMBER_TEAMS, { login }), 'teams', `GET ${MEMBER_TEAMS}`);
      return teams.map((t) => (typeof t === 'string' ? t : String((t as { name?: unknown })?.name)));
    },

    async addEnvironmentPermission(org, team, grant) {
      await confirm(
        patchTeam(org, team, { addEnvironmentPermission: environmentBody(grant) }),
        [ConflictError, BadRequestError],
        async () => (await currentEnvironmentGrant(org, team, grant)) === grant.permission,
      );
    },

    async editEnvironmentPermission(org, team, grant) {
      await patchTeam(org, team, { editEnvironmentPermission: environmentBody(grant) });
    },

    async removeEnvironmentPermission(org, team, environment) {
      await confirm(
        tolerate(patchTeam(org, team, { removeEnvironment: { projectName: environment.projectName, envName: environment.envName } }), NotFoundError),
        [BadRequestError],
        async () => (await currentEnvironmentGrant(org, team, environment)) === null,
      );
    },

    listEnvironments(org) {
      return allPages<OrgEnvironmentSummary>(org, ORG_ENVIRONMENTS, {}, {}, 'environments', 'nextToken');
    },

    listStacks(org, filter) {
      return allPages<StackSummary>(org, USER_STACKS, {}, { organization: org, project: filter?.project }, 'stacks');
    },

    async ping(org) {
      await transport.call({
        method: 'GET',
        route: USER_STACKS,
        params: {},
        query: { organization: org, maxResults: 1 },
        org: org ?? '',
        retry: 'none',
      });
    },

    async listOrgRoles(org) {
      return arrayField<OrgRoleRecord>(await get(org, ORG_ROLES, {}, { uxPurpose: 'role' }), 'roles', `GET ${ORG_ROLES}`);
    },

    async assignTeamRole(org, team, roleId) {
      await transport.call({ method: 'POST', route: TEAM_ROLE, params: { org, team, roleId }, org, retry: 'idempotent' });
    },

    async unassignTeamRole(org, team, roleId) {
      await tolerate(transport.call({ method: 'DELETE', route: TEAM_ROLE, params: { org, team, roleId }, org, retry: 'idempotent' }), NotFoundError);
    },

    async setTeamMemberRole(org, team, login, role) {
      await patchTeam(org, team, { memberAction: role === 'admin' ? 'promote' : 'demote', member: login });
    },
  };
  return client;
}

function environmentBody(grant: EnvironmentGrant): Record<string, string> {
  return {
    projectName: grant.projectName,
    envName: grant.envName,
    permission: grant.permission,
    ...(grant.maxOpenDuration ? { maxOpenDuration: grant.maxOpenDuration } : {}),
  };
}

function objectBody<T>(body: unknown, routeLabel: string): T {
  if (body === null || typeof body !== 'object' || Array.isArray(body)) {
    throw new InvalidResponseError(`${routeLabel}: answer is not a JSON object`, 200, undefined, routeLabel);
  }
  return body as T;
}

function arrayField<T>(body: unknown, key: string, routeLabel: string): T[] {
  const value = objectBody<Record<string, unknown>>(body, routeLabel)[key];
  // An empty list may come back as null or be left out (Go's nil slices marshal to null).
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) throw new InvalidResponseError(`${routeLabel}: "${key}" is not an array`, 200, undefined, routeLabel);
  return value as T[];
}
