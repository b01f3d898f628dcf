import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Redis } from 'ioredis';
import { createApp } from '../../src/app';
import { SessionIndex } from '../../src/auth';
import { loadConfig } from '../../src/config';
import { createSignalActions, type SignalsRuntime, startSignals } from '../../src/runtime';
import { startSsfEmulator, type SsfEmulator } from '../../src/ssf-emulator';
import { startRevokeLaneWorker, createTokensController } from '../../src/tokens';
import { createAdminApiRouter } from '../../src/web/api';
import { TEST_REDIS_URL } from '../helpers/redis';
import { type Harness, startHarness } from '../reconcile/harness';

/**
 * The Shared Signals receiver on real infrastructure: the reconcile harness (SCIM on Postgres,
 * BullMQ on Redis, the Pulumi emulator), the SSF transmitter emulator, and the receiver as the
 * daemon wires it (`startSignals`) behind a real HTTP server with the admin API, plus the revoke
 * lane running signal jobs.
 */

export const ADMIN_TOKEN = 'signals-admin-token-0123456789';
const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';

export interface SignalsHarness {
  h: Harness;
  ssf: SsfEmulator;
  redis: Redis;
  /** The receiver's base URL (push endpoint: `${url}/ssf/events`). */
  url: string;
  keyPrefix: string;
  signals: SignalsRuntime;
  sessions: SessionIndex;
  /** Replaces the receiver as a daemon restart would (same Redis and database). */
  restartReceiver(): Promise<void>;
  admin(method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }>;
  /** A directory person as Okta provisions one, with the Okta user id as externalId. */
  provision(email: string, oktaId: string): Promise<string>;
  close(): Promise<void>;
}

export async function startSignalsHarness(options: { policyYaml?: string } = {}): Promise<SignalsHarness> {
  const h = await startHarness({ policyYaml: options.policyYaml, seed: { members: ['alice', 'bob'], stacks: ['infra/dev', 'web/dev'] } });
  const ssf = await startSsfEmulator();
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const keyPrefix = `${h.queues.prefix}:`;
  const sessions = new SessionIndex(redis, keyPrefix);
  startRevokeLaneWorker(h.queues, createTokensController(h.tokens), {
    sweepEveryMs: 0,
    signal: createSignalActions({ db: h.scim.db, tokens: h.tokens, sessions, logger: h.logger }),
  });

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({
    PUBLIC_URL: url,
    SSF_TRANSMITTER_URL: ssf.issuer,
    SSF_CLIENT_ID: ssf.clientId,
    SSF_CLIENT_SECRET: ssf.clientSecret,
  });
  const build = () =>
    startSignals({
      config,
      db: h.scim.db,
      redis,
      queues: h.queues,
      policy: h.policy,
      logger: h.logger,
      keyPrefix,
      pollIdleMs: 50,
      jwksCooldownMs: 0,
    }) as SignalsRuntime;
  let signals = build();
  // Routes read `signals` per request, so a restart swaps the receiver under the same server.
  const app = createApp({
    logger: h.logger,
    readiness: {},
    mounts: [
      { path: '/ssf', router: (req, res, next) => signals.pushRouter(req, res, next) },
      {
        path: '/api/v1',
        router: (req, res, next) =>
          createAdminApiRouter({ adminToken: ADMIN_TOKEN, db: h.scim.db, logger: h.logger, queues: h.queues, signals, policy: h.policy })(req, res, next),
      },
    ],
  });
  server.on('request', app);

  const harness: SignalsHarness = {
    h,
    ssf,
    redis,
    url,
    keyPrefix,
    get signals() {
      return signals;
    },
    sessions,
    async restartReceiver() {
      await signals.stop();
      signals = build();
    },
    async admin(method, path, body) {
      const res = await fetch(`${url}/api/v1${path}`, {
        method,
        headers: { authorization: `Bearer ${ADMIN_TOKEN}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        ...(body === undefined ? {} : { body: JSON.stringify(body) }),
      });
      return { status: res.status, body: (await res.json()) as Record<string, unknown> };
    },
    async provision(email, oktaId) {
      const res = await h.scim.request('POST', '/Users', {
        schemas: [USER_URN],
        userName: email,
        externalId: oktaId,
        emails: [{ primary: true, value: email, type: 'work' }],
        active: true,
      });
      if (res.status !== 201) throw new Error(`create user ${res.status}: ${res.text}`);
      return res.body.id as string;
    },
    async close() {
      await signals.stop();
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      await ssf.stop();
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await h.close();
    },
  };
  return harness;
}

/** Waits (bounded) until `check` holds. */
export async function eventually(what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`not reached: ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
