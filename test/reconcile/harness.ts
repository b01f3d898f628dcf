import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Worker } from 'bullmq';
import { startEmulator, type Emulator, type EmulatorSeed } from '../../src/emulator';
import { acmeSeed } from '../helpers/acme-seed';
import { createDb } from '../../src/directory/db';
import { createLogger } from '../../src/log';
import { parsePolicy, PolicyStore } from '../../src/policy';
import { createPulumiClient, type PulumiClient } from '../../src/pulumi';
import { createQueueFactory, createRevokeLane, QUEUE, type QueueFactory, type QueueName, type RevokeLane } from '../../src/queue';
import {
  createReconcileWorker,
  PENDING_RETRY_REASON,
  Reconciler,
  type ReconcileRequest,
  type ReconcileWorkerOptions,
  type TeamReconcileOutcome,
} from '../../src/reconcile';
import { createDirectoryRelay, createTokenDeps, personStepWithOrgRemoval, reconcileTeamWithTokens } from '../../src/runtime';
import { createTokensController, startRevokeLaneWorker, type RevokeLaneOptions, type RevokeLaneWorker, type TokenDeps } from '../../src/tokens';
import type { OutboxRelay } from '../../src/outbox';
import { startScimServer, type TestScimServer } from '../scim/server';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';

/**
 * The reconciler end to end on real infrastructure: the SCIM server on its own Postgres
 * database, the Pulumi emulator over HTTP, BullMQ on the local Redis under a unique prefix.
 */

export const POLICY_YAML = `
organization: acme
identity:
  login: userNameLocalPart
teams:
  - group: Platform Engineers
    team: platform
    stacks:
      - { project: infra, stack: "*", permission: admin }
      - { project: "*", stack: dev, permission: read }
  - groupPattern: "^pulumi-(?<team>[a-z0-9-]+)$"
    stacks:
      - { project: "*", stack: dev, permission: write }
  - group: Legacy Ops
    team: legacy-ops
    stacks:
      - { project: data, stack: prod, permission: read }
`;

export interface Harness {
  scim: TestScimServer;
  emu: Emulator;
  client: PulumiClient;
  policy: PolicyStore;
  queues: QueueFactory;
  revokeLane: RevokeLane;
  reconciler: Reconciler;
  relay: OutboxRelay;
  /** The tokens part's dependencies, wired as src/runtime wires them. */
  tokens: TokenDeps;
  /** What a `team` job runs: the team reconcile, then the tokens controller's team step. */
  reconcileTeam(request: ReconcileRequest): Promise<TeamReconcileOutcome>;
  /** Starts the revoke lane's worker (the tokens controller's person step and sweep). */
  startRevokeLane(options?: RevokeLaneOptions): RevokeLaneWorker;
  logger: ReturnType<typeof createLogger>;
  startWorker(options?: Partial<ReconcileWorkerOptions>): Worker;
  /** Publishes the outbox and waits until the reconcile queue is empty. */
  settle(timeoutMs?: number): Promise<void>;
  /** Rewrites the policy file and reloads it, as SIGHUP does. */
  reloadPolicy(yaml: string): void;
  /** Waits until the given queues hold no work, without publishing the outbox. */
  idle(queues: QueueName[], timeoutMs?: number): Promise<void>;
  close(): Promise<void>;
}

export async function startHarness(
  options: { policyYaml?: string; seed?: EmulatorSeed; coalesceMs?: number; pulumiMaxRps?: number; pulumiMaxConcurrency?: number } = {},
): Promise<Harness> {
  const logger = createLogger({ silent: true });
  const scim = await startScimServer({ logger });
  const emu = await startEmulator({ seed: options.seed ?? acmeSeed });
  const client = createPulumiClient({
    baseUrl: emu.url,
    accessToken: emu.accessToken,
    retry: { maxAttempts: 2, baseDelayMs: 10, maxDelayMs: 50, maxRetryAfterMs: 0 },
    maxRps: options.pulumiMaxRps,
    maxConcurrency: options.pulumiMaxConcurrency,
  });
  // The policy lives in a file of its own, so a test can change it and reload as SIGHUP does.
  const policyDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-policy-'));
  const policyFile = path.join(policyDir, 'sync.yaml');
  fs.writeFileSync(policyFile, options.policyYaml ?? POLICY_YAML);
  const policy = new PolicyStore(policyFile, {}, parsePolicy(options.policyYaml ?? POLICY_YAML, 'sync.yaml'));
  const queues = createQueueFactory({ redisUrl: TEST_REDIS_URL, prefix: uniquePrefix(), logger });
  const revokeLane = createRevokeLane(queues);
  // Locks on a pool of their own, as the daemon wires it (src/runtime/engine.ts).
  const lockDb = createDb({ connectionString: (scim.db.client.config as { connection: string }).connection, poolMax: 6 });
  const reconciler = new Reconciler({ db: scim.db, lockDb, client, policy, logger, cacheTtlMs: 0 });
  // As the daemon does on a reload (src/runtime/engine.ts): what the old policy read of the org is read again.
  policy.on('changed', () => reconciler.invalidateCaches());
  const relay = createDirectoryRelay({ db: scim.db, policy, queues, revokeLane, logger, pollMs: 50, coalesceMs: options.coalesceMs ?? 0 });
  const tokens = createTokenDeps({ db: scim.db, pulumi: client, policy, reconciler, logger });
  const reconcileTeam = reconcileTeamWithTokens(reconciler, createTokensController(tokens));
  const workers: Worker[] = [];

  /** Jobs still to run; a team's retry of its pending people, minutes away, is not work to wait for. */
  async function busy(name: QueueName): Promise<number> {
    const queue = queues.queue(name);
    const counts = await queue.getJobCounts('wait', 'active', 'prioritized');
    const delayed = (await queue.getJobs(['delayed'])).filter((job) => (job.data as { reason?: string }).reason !== PENDING_RETRY_REASON);
    return Object.values(counts).reduce((a, b) => a + b, 0) + delayed.length;
  }

  async function idle(names: QueueName[], timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    for (let quiet = 0; quiet < 3; ) {
      if (Date.now() > deadline) throw new Error(`queues ${names.join(', ')} did not go idle`);
      const counts = await Promise.all(names.map(busy));
      quiet = counts.every((n) => n === 0) ? quiet + 1 : 0;
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  async function settle(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let quiet = 0;
    while (quiet < 3) {
      if (Date.now() > deadline) throw new Error('reconcile queue did not settle');
      while ((await relay.drainOnce()) > 0);
      quiet = (await busy(QUEUE.reconcile)) === 0 ? quiet + 1 : 0;
      await new Promise((r) => setTimeout(r, 30));
    }
  }

  return {
    scim,
    emu,
    client,
    policy,
    queues,
    revokeLane,
    reconciler,
    relay,
    tokens,
    reconcileTeam,
    startRevokeLane: (laneOptions) => startRevokeLaneWorker(queues, personStepWithOrgRemoval(createTokensController(tokens), reconciler), laneOptions),
    logger,
    startWorker(workerOptions = {}) {
      const worker = createReconcileWorker({ queues, reconciler, logger, concurrency: 2, runTeam: reconcileTeam, ...workerOptions });
      workers.push(worker);
      return worker;
    },
    settle,
    idle,
    reloadPolicy(yaml) {
      fs.writeFileSync(policyFile, yaml);
      policy.reload();
    },
    async close() {
      await relay.stop();
      await queues.close(2000);
      await emu.stop();
      await lockDb.destroy();
      await scim.close();
      fs.rmSync(policyDir, { recursive: true, force: true });
    },
  };
}

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

/** Okta's request bodies (docs/idp-behaviour.md, "Okta"). */
export const okta = {
  async createUser(h: Harness, email: string): Promise<string> {
    const res = await h.scim.request('POST', '/Users', {
      schemas: [USER_URN],
      userName: email,
      name: { givenName: 'Test', familyName: 'User' },
      emails: [{ primary: true, value: email, type: 'work' }],
      displayName: 'Test User',
      active: true,
    });
    if (res.status !== 201) throw new Error(`create user ${res.status}: ${res.text}`);
    return res.body.id;
  },
  async createGroup(h: Harness, displayName: string): Promise<string> {
    const res = await h.scim.request('POST', '/Groups', { schemas: [GROUP_URN], displayName, members: [] });
    if (res.status !== 201) throw new Error(`create group ${res.status}: ${res.text}`);
    return res.body.id;
  },
  async addMembers(h: Harness, groupId: string, userIds: string[]): Promise<void> {
    const res = await h.scim.request('PATCH', `/Groups/${groupId}`, {
      schemas: [PATCH_URN],
      Operations: [{ op: 'add', path: 'members', value: userIds.map((value) => ({ value })) }],
    });
    if (res.status !== 204 && res.status !== 200) throw new Error(`add members ${res.status}: ${res.text}`);
  },
  async removeMember(h: Harness, groupId: string, userId: string): Promise<void> {
    const res = await h.scim.request('PATCH', `/Groups/${groupId}`, {
      schemas: [PATCH_URN],
      Operations: [{ op: 'remove', path: `members[value eq "${userId}"]` }],
    });
    if (res.status !== 204 && res.status !== 200) throw new Error(`remove member ${res.status}: ${res.text}`);
  },
  async renameGroup(h: Harness, groupId: string, displayName: string): Promise<void> {
    const res = await h.scim.request('PATCH', `/Groups/${groupId}`, {
      schemas: [PATCH_URN],
      Operations: [{ op: 'replace', value: { id: groupId, displayName } }],
    });
    if (res.status !== 204 && res.status !== 200) throw new Error(`rename group ${res.status}: ${res.text}`);
  },
  async deactivate(h: Harness, userId: string): Promise<void> {
    const res = await h.scim.request('PATCH', `/Users/${userId}`, { schemas: [PATCH_URN], Operations: [{ op: 'replace', value: { active: false } }] });
    if (res.status !== 200 && res.status !== 204) throw new Error(`deactivate ${res.status}: ${res.text}`);
  },
  async deleteUser(h: Harness, userId: string): Promise<void> {
    const res = await h.scim.request('DELETE', `/Users/${userId}`);
    if (res.status !== 204) throw new Error(`delete user ${res.status}: ${res.text}`);
  },
  async deleteGroup(h: Harness, groupId: string): Promise<void> {
    const res = await h.scim.request('DELETE', `/Groups/${groupId}`);
    if (res.status !== 204) throw new Error(`delete group ${res.status}: ${res.text}`);
  },
};

/** A team as the emulator holds it, in comparable form. */
export function emuTeam(emu: Emulator, name: string) {
  const t = emu.state.teams.find((x) => x.name === name);
  if (!t) return undefined;
  return {
    kind: t.kind,
    displayName: t.displayName,
    members: t.members.map((m) => m.login).sort(),
    grants: Object.fromEntries(t.stacks.map((s) => [`${s.projectName}/${s.stackName}`, s.permission]).sort()),
  };
}

/** Adds a team token created by `createdBy`, as if that person made it in the console. */
export function seedTeamToken(emu: Emulator, team: string, createdBy: string, id: string): void {
  emu.state.tokens.push({
    id,
    name: `${team}-${id}`,
    description: 'made by hand',
    created: new Date().toISOString(),
    createdBy,
    lastUsed: 0,
    expires: 0,
    admin: false,
    type: 'team',
    team,
    deleted: false,
    valueHash: `hash-${id}`,
  });
}

export function liveTokenIds(emu: Emulator, team: string): string[] {
  return emu.state.tokens
    .filter((t) => t.team === team && !t.deleted)
    .map((t) => t.id)
    .sort();
}
