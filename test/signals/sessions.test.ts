import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createApp } from '../../src/app';
import { SessionIndex } from '../../src/auth';
import { loadConfig } from '../../src/config';
import { demoSeed, startEmulator, type Emulator } from '../../src/emulator';
import { createLogger } from '../../src/log';
import { parsePolicy, PolicyStore } from '../../src/policy';
import { createPulumiClient } from '../../src/pulumi';
import { createQueueFactory, type QueueFactory } from '../../src/queue';
import { Reconciler } from '../../src/reconcile';
import { createSignalActions, createTokenDeps, type SignalsRuntime, startSignals } from '../../src/runtime';
import { SSF_EVENT, type SsfEmulator, startSsfEmulator } from '../../src/ssf-emulator';
import { createTokensController, startRevokeLaneWorker } from '../../src/tokens';
import { type Harness, provisionUser, startHarness } from '../auth/harness';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';
import { eventually } from './harness';

/**
 * A CAEP session-revoked SET for a signed-in person ends their console session: the receiver as
 * the daemon wires it, the revoke lane running the signal job, the console's real SAML sign-in and
 * session store. Someone else's session stays.
 */

let h: Harness;
let ssf: SsfEmulator;
let emu: Emulator;
let queues: QueueFactory;
let signals: SignalsRuntime;
let server: http.Server;
let receiverUrl: string;

beforeAll(async () => {
  h = await startHarness();
  await provisionUser(h.tdb, 'alice@example.com', { externalId: '00u-alice' });
  await provisionUser(h.tdb, 'bob@example.com', { externalId: '00u-bob' });
  ssf = await startSsfEmulator();
  emu = await startEmulator({ seed: demoSeed });
  const logger = createLogger({ silent: true });
  const policy = new PolicyStore('sync.yaml', {}, parsePolicy('organization: acme\n', 'sync.yaml'));
  const pulumi = createPulumiClient({ baseUrl: emu.url, accessToken: emu.accessToken });
  const reconciler = new Reconciler({ db: h.tdb.db, lockDb: h.tdb.db, client: pulumi, policy, logger });
  const tokens = createTokenDeps({ db: h.tdb.db, pulumi, policy, reconciler, logger });
  queues = createQueueFactory({ redisUrl: TEST_REDIS_URL, prefix: uniquePrefix(), logger });
  startRevokeLaneWorker(queues, createTokensController(tokens), {
    sweepEveryMs: 0,
    // The console's sessions live under the harness's prefix.
    signal: createSignalActions({ db: h.tdb.db, tokens, sessions: new SessionIndex(h.redis, h.keyPrefix), logger }),
  });

  server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const config = loadConfig({ PUBLIC_URL: receiverUrl, SSF_TRANSMITTER_URL: ssf.issuer, SSF_CLIENT_ID: ssf.clientId, SSF_CLIENT_SECRET: ssf.clientSecret });
  signals = startSignals({ config, db: h.tdb.db, redis: h.redis, queues, policy, logger, keyPrefix: `${queues.prefix}:` }) as SignalsRuntime;
  server.on('request', createApp({ logger, readiness: {}, mounts: [{ path: '/ssf', router: signals.pushRouter }] }));
  await signals.manager.create({ delivery: 'push' });
}, 60_000);

afterAll(async () => {
  await signals?.stop();
  await new Promise<void>((resolve) => {
    server?.close(() => resolve());
    server?.closeAllConnections();
  });
  const keys = await h.redis.keys(`${queues.prefix}:*`);
  if (keys.length > 0) await h.redis.del(...keys);
  await queues?.close(2000);
  await ssf?.stop();
  await emu?.stop();
  await h?.close();
});

async function consoleStatus(cookie: string): Promise<{ status: number; location: string | null }> {
  const res = await fetch(`${h.url}/console/`, { headers: { cookie }, redirect: 'manual' });
  await res.text();
  return { status: res.status, location: res.headers.get('location') };
}

it('a signed session-revoked SET ends the person’s console sessions; their next request goes to sign-in', async () => {
  const [alice, aliceElsewhere, bob] = [await h.signInAs('alice@example.com'), await h.signInAs('alice@example.com'), await h.signInAs('bob@example.com')];
  expect((await consoleStatus(alice)).status).toBe(200);

  // Okta's published shape: a complex subject inside the event.
  const delivery = await ssf.emit(SSF_EVENT.sessionRevoked, { user: { format: 'iss_sub', iss: ssf.issuer, sub: '00u-alice' } });
  expect(delivery.status).toBe(202);

  await eventually('alice signed out', async () => (await consoleStatus(alice)).status === 303);
  expect(await consoleStatus(alice)).toEqual({ status: 303, location: '/console/login' });
  expect(await consoleStatus(aliceElsewhere)).toEqual({ status: 303, location: '/console/login' });
  expect((await consoleStatus(bob)).status).toBe(200);

  const [entry] = await h.tdb.db('audit_log').where({ category: 'signals', request_id: delivery.jti });
  expect(entry).toMatchObject({ op: 'signal.end-sessions' });
  expect(entry.detail).toMatchObject({ jti: delivery.jti, issuer: ssf.issuer, eventType: SSF_EVENT.sessionRevoked, sessionsEnded: 2 });
});
