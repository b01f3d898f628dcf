import type { Router } from 'express';
import type { Redis } from 'ioredis';
import type { SessionIndex } from '../auth';
import type { Config } from '../config';
import { type Db, peopleByExternalId, peopleByPrimaryEmail, peopleByUserName, personById } from '../directory';
import type { Logger } from '../log';
import { signalToRevokeSeconds } from '../metrics';
import type { PolicyStore } from '../policy';
import { enqueueSignal, type QueueFactory, type SignalJob } from '../queue';
import { recordSignalAction } from '../reconcile';
import { patchUser, ScimError } from '../scim';
import {
  createPushReceiver,
  createSetIntake,
  createSetVerifier,
  type PersonSubject,
  RedisReplayGuard,
  remoteKeys,
  type SetIntake,
  signalEventOf,
  startPoller,
  StreamManager,
  StreamStore,
  transmitterClientFor,
  receiverUrlOf,
  viewOf,
} from '../signals';
import { revokeEveryTokenOf, type TokenDeps } from '../tokens';

/**
 * The Shared Signals receiver wired to the rest of the daemon (docs/shared-signals.md): who a
 * subject is (the directory, by stable identifiers), where actions go (the revoke lane), and what
 * an action does when the lane runs it (tokens, sessions, the directory).
 */

/** The directory people a SET's subject names: an email by primary email or userName, an id by externalId. */
export async function peopleForSubject(db: Db, subject: PersonSubject): Promise<string[]> {
  const found =
    subject.by === 'email'
      ? [...(await peopleByPrimaryEmail(db, subject.email)), ...(await peopleByUserName(db, subject.email))]
      : await peopleByExternalId(db, subject.externalId);
  return [...new Set(found.map((p) => p.id))];
}

export interface SignalActionDeps {
  db: Db;
  /** The revoke lane's token deps (its own Pulumi client). */
  tokens: TokenDeps;
  sessions: SessionIndex;
  logger: Logger;
}

const REASONS: Record<string, string> = {
  'session-revoked': 'session revoked by the IdP',
  'credential-change': 'credential change signalled by the IdP',
  'credential-compromise': 'credential compromise signalled by the IdP',
  'account-disabled': 'account disabled in the IdP',
  'account-purged': 'account purged in the IdP',
};

/**
 * What a `signal` job on the revoke lane does. Tokens first (the latency that matters), sessions
 * alongside; `deprovision` also deactivates the person in the directory as the IdP's SCIM PATCH
 * would, so the usual path follows (revoke lane, team memberships, org removal per
 * `identity.removeFromOrg`). Each action is audited with the SET's jti, issuer and event type.
 * A retried job repeats harmlessly: revoked tokens are no longer live, ended sessions are gone.
 */
export function createSignalActions(deps: SignalActionDeps): (job: SignalJob) => Promise<Record<string, number>> {
  const log = deps.logger.child({ category: 'signals' });
  return async (job) => {
    const reason = REASONS[signalEventOf(job.eventType) ?? ''] ?? 'signalled by the IdP';
    const wants = new Set(job.actions);
    const deprovision = wants.has('deprovision');
    const done: Record<string, number> = {};
    const revokeTokens = async () => {
      done.tokensRevoked = await revokeEveryTokenOf(deps.tokens, {
        userId: job.userId,
        reason,
        requestId: job.jti,
        requestedAt: new Date(job.at),
        observeLatency: (seconds) => signalToRevokeSeconds.observe(seconds),
      });
    };
    const endSessions = async () => {
      done.sessionsEnded = await deps.sessions.endAll(job.userId);
    };
    await Promise.all([
      wants.has('revoke-tokens') || deprovision ? revokeTokens() : undefined,
      wants.has('end-sessions') || deprovision ? endSessions() : undefined,
    ]);
    if (deprovision) done.deactivated = (await deactivate(deps.db, job)) ? 1 : 0;
    for (const action of job.actions) {
      await recordSignalAction(deps.db, {
        op: `signal.${action}`,
        userId: job.userId,
        jti: job.jti,
        issuer: job.issuer,
        eventType: job.eventType,
        detail: done,
      });
    }
    log.info('signal actions done', { jti: job.jti, userId: job.userId, actions: job.actions, ...done });
    return done;
  };
}

/** Deactivates the person through the SCIM command; false when already inactive or gone. */
async function deactivate(db: Db, job: SignalJob): Promise<boolean> {
  try {
    const before = await personById(db, job.userId);
    if (!before?.active) return false;
    await patchUser(
      db,
      job.userId,
      { schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'], Operations: [{ op: 'replace', path: 'active', value: false }] },
      { requestId: job.jti },
    );
    return true;
  } catch (err) {
    if (err instanceof ScimError && err.status === 404) return false;
    throw err;
  }
}

export interface SignalsRuntime {
  /** Mount at /ssf: `POST /ssf/events`. */
  pushRouter: Router;
  manager: StreamManager;
  intake: SetIntake;
  /** For GET /api/v1/status and the console. */
  status(): Promise<SignalsStatus>;
  stop(): Promise<void>;
}

export interface SignalsStatus {
  transmitter: string;
  stream: ReturnType<typeof viewOf> | null;
}

export interface SignalsOptions {
  config: Pick<Config, 'SSF_TRANSMITTER_URL' | 'SSF_CLIENT_ID' | 'SSF_CLIENT_SECRET' | 'SSF_TOKEN_URL' | 'SSF_SCOPES' | 'SSF_AUDIENCE' | 'PUBLIC_URL'>;
  db: Db;
  redis: Redis;
  queues: QueueFactory;
  policy: PolicyStore;
  logger: Logger;
  /** Redis key prefix of the `ssf:` keys, e.g. `pis:`. */
  keyPrefix: string;
  /** Pause of the poll loop when idle. @defaultValue 1000 */
  pollIdleMs?: number;
  /** JWKS refetch cooldown for an unknown kid. @defaultValue 30000 */
  jwksCooldownMs?: number;
}

/** The receiver, when SSF_TRANSMITTER_URL is set; undefined otherwise. */
export function startSignals(options: SignalsOptions): SignalsRuntime | undefined {
  const { config, redis, logger } = options;
  const transmitter = transmitterClientFor(config);
  if (!transmitter) return undefined;
  const issuer = transmitter.issuer;
  const store = new StreamStore(redis, options.keyPrefix);
  const replay = new RedisReplayGuard(redis, options.keyPrefix);
  const verify = createSetVerifier({
    issuer,
    audience: async () => (config.SSF_AUDIENCE ? [config.SSF_AUDIENCE] : (await store.get())?.audience),
    keys: remoteKeys(async () => (await transmitter.configuration()).jwks_uri, { cooldownMs: options.jwksCooldownMs }),
    maxAgeMs: () => options.policy.current.signals.maxAgeMs,
    replay,
  });
  const intake = createSetIntake({
    verify,
    replay,
    policy: options.policy,
    store,
    ports: { peopleFor: (subject) => peopleForSubject(options.db, subject), enqueue: (job) => enqueueSignal(options.queues, job) },
    logger,
  });
  const poller = startPoller({ transmitter, store, intake, redis, prefix: options.keyPrefix, logger, idleMs: options.pollIdleMs });
  logger.info('shared signals receiver on', { transmitter: issuer, streamManagement: config.SSF_CLIENT_ID !== undefined });
  return {
    pushRouter: createPushReceiver({ intake, store, logger }),
    manager: new StreamManager(transmitter, store, receiverUrlOf(config)),
    intake,
    async status() {
      const record = await store.get();
      return { transmitter: issuer, stream: record ? viewOf(record) : null };
    },
    stop: () => poller.stop(),
  };
}
