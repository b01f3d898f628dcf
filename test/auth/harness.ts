import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { PassThrough } from 'node:stream';
import { Redis } from 'ioredis';
import { createApp } from '../../src/app';
import { loadConfig } from '../../src/config';
import { createLogger } from '../../src/log';
import { startDevSignIn } from '../../src/runtime/dev-sign-in';
import { createWebRouter, type WebDeps } from '../../src/web';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { TEST_REDIS_URL, uniquePrefix } from '../helpers/redis';
import { createIdpKeys, encodeResponse, type IdpKeys, requestIdFromRedirect, type ResponseOptions, signedResponse } from './test-idp';

/**
 * The daemon's real HTTP stack (createApp + createWebRouter) on a free port, with its own
 * database, a unique Redis prefix, a test IdP and a log capture, for SAML and console tests.
 */

export const IDP_ISSUER = 'https://idp.test.example/metadata';
export const IDP_SSO_URL = 'https://idp.test.example/sso';
export const ADMIN_GROUP = 'Pulumi Sync Admins';

export interface Harness {
  url: string;
  acsUrl: string;
  spEntityId: string;
  keys: IdpKeys;
  tdb: TestDatabase;
  redis: Redis;
  keyPrefix: string;
  /** Parsed JSON log lines written so far. */
  logs(): Array<Record<string, unknown>>;
  /**
   * Starts a login as a browser would; returns the AuthnRequest ID now cached in Redis. The
   * browser's session cookie and RelayState are kept for postAcs / complete.
   */
  startLogin(): Promise<string>;
  responseOptions(inResponseTo: string | null, nameId: string): ResponseOptions;
  /** POSTs to the ACS as the IdP page would: cross-site, so without cookies; with the last RelayState. */
  postAcs(samlResponse: string, extraFields?: Record<string, string>): Promise<HttpResult>;
  /** Follows the ACS's redirect to /auth/saml/complete with the browser's cookie (default: the one that started the login). */
  complete(acs: HttpResult, cookie?: string): Promise<HttpResult>;
  /** Signs in through the real SAML flow; returns the session cookie. */
  signInAs(userName: string): Promise<string>;
  close(): Promise<void>;
}

export interface HttpResult {
  status: number;
  text: string;
  /** name=value of a Set-Cookie in the answer. */
  cookie?: string;
  location?: string | null;
}

export type WebParts = Pick<WebDeps, 'policy' | 'reconciler' | 'queues' | 'tokens' | 'sources' | 'rates'>;

export interface HarnessOptions {
  env?: Record<string, string>;
  /** Parts handed to createWebRouter as the runtime does (or explicit console sources), built on the harness's database. */
  parts?: (tdb: TestDatabase) => WebParts | Promise<WebParts>;
  /** Bind host, for the browser test. @defaultValue 127.0.0.1 */
  host?: string;
  /** Sign in through the development IdP the zero-config start runs (admins: its `Console Admins` group) instead of the test IdP. */
  devIdp?: boolean;
}

export async function startHarness(options: HarnessOptions = {}): Promise<Harness> {
  const keys = await createIdpKeys();
  const tdb = await createTestDatabase();
  const redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  const keyPrefix = `${uniquePrefix()}:`;
  const logStream = new PassThrough();
  let logText = '';
  logStream.on('data', (chunk: Buffer) => (logText += chunk.toString('utf8')));
  const logger = createLogger({ level: 'info', stream: logStream });

  const server = http.createServer();
  await new Promise<void>((resolve) => server.listen(0, options.host ?? '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;
  const config = loadConfig({
    PUBLIC_URL: url,
    SESSION_SECRET: 'test-session-secret-0123456789abcdef',
    SAML_IDP_SSO_URL: IDP_SSO_URL,
    SAML_IDP_ISSUER: IDP_ISSUER,
    SAML_IDP_CERT: keys.cert.replace(/\n/g, '\\n'),
    SAML_ADMIN_GROUP: ADMIN_GROUP,
    // The test IdP names people by an email NameID unless a test says otherwise.
    SAML_ALLOW_EMAIL_NAMEID: 'true',
    ...options.env,
  });
  const parts = options.parts ? await options.parts(tdb) : {};
  const devSignIn = options.devIdp ? await startDevSignIn({ config, db: tdb.db, logger }) : undefined;
  const app = createApp({
    logger,
    readiness: {},
    mounts: [
      ...(devSignIn ? [devSignIn.mount] : []),
      { path: '/', router: createWebRouter({ config: devSignIn?.config ?? config, db: tdb.db, redis, logger, keyPrefix, ...parts }) },
    ],
  });
  server.on('request', app);
  const acsUrl = `${url}/auth/saml/acs`;
  /** The simulated browser's state between starting a login and completing it. */
  let browser: { cookie?: string; relayState: string } = { relayState: '' };

  async function beginLogin(): Promise<{ requestId: string; cookie?: string; relayState: string }> {
    const res = await fetch(`${url}/auth/saml/login`, { redirect: 'manual' });
    if (res.status !== 302) throw new Error(`login start answered ${res.status}`);
    const location = res.headers.get('location')!;
    if (!location.startsWith(config.SAML_IDP_SSO_URL!)) throw new Error(`login redirected to ${location}`);
    return {
      requestId: requestIdFromRedirect(location),
      cookie: res.headers.get('set-cookie')?.split(';')[0],
      relayState: new URL(location).searchParams.get('RelayState') ?? '',
    };
  }

  async function answer(res: Response): Promise<HttpResult> {
    return { status: res.status, text: await res.text(), cookie: res.headers.get('set-cookie')?.split(';')[0], location: res.headers.get('location') };
  }

  async function postAcsAs(relayState: string, samlResponse: string, extraFields: Record<string, string> = {}): Promise<HttpResult> {
    const res = await fetch(acsUrl, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({ SAMLResponse: samlResponse, RelayState: relayState, ...extraFields }).toString(),
    });
    return answer(res);
  }

  async function completeAs(cookie: string | undefined, acs: HttpResult): Promise<HttpResult> {
    if (acs.status !== 303 || !acs.location?.startsWith('/auth/saml/complete?')) {
      throw new Error(`the ACS did not accept the response: ${acs.status} ${acs.text.slice(0, 300)}`);
    }
    return answer(await fetch(`${url}${acs.location}`, { headers: cookie ? { cookie } : {}, redirect: 'manual' }));
  }

  const spEntityId = config.SAML_SP_ENTITY_ID ?? `${url}/auth/saml/metadata`;

  const harness: Harness = {
    url,
    acsUrl,
    spEntityId,
    keys,
    tdb,
    redis,
    keyPrefix,
    logs: () =>
      logText
        .split('\n')
        .filter((l) => l.trim() !== '')
        .map((l) => JSON.parse(l) as Record<string, unknown>),
    async startLogin() {
      const begun = await beginLogin();
      browser = begun;
      return begun.requestId;
    },
    responseOptions(inResponseTo, nameId) {
      return { acsUrl, spEntityId, idpIssuer: IDP_ISSUER, inResponseTo, nameId };
    },
    postAcs: (samlResponse, extraFields = {}) => postAcsAs(browser.relayState, samlResponse, extraFields),
    complete: (acs, cookie = browser.cookie) => completeAs(cookie, acs),
    async signInAs(userName) {
      // A browser of its own, so parallel sign-ins do not share RelayState or cookies.
      const begun = await beginLogin();
      const acs = await postAcsAs(begun.relayState, encodeResponse(signedResponse(harness.responseOptions(begun.requestId, userName), keys)));
      const done = await completeAs(begun.cookie, acs);
      if (done.status !== 303 || done.location !== '/console/' || !done.cookie)
        throw new Error(`sign-in as ${userName} answered ${done.status}: ${done.text.slice(0, 300)}`);
      return done.cookie;
    },
    async close() {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      });
      const keys = await redis.keys(`${keyPrefix}*`);
      if (keys.length > 0) await redis.del(...keys);
      redis.disconnect();
      await tdb.drop();
    },
  };
  return harness;
}

/** The reason code a refusal page shows. */
export function reasonOf(page: string): string | undefined {
  return /<code id="reason">([^<]*)<\/code>/.exec(page)?.[1];
}

/** A group by displayName, or with the IdP's id as its SCIM externalId. */
export type GroupSpec = string | { displayName: string; externalId: string };

export async function provisionUser(
  tdb: TestDatabase,
  userName: string,
  options: { active?: boolean; externalId?: string; groups?: GroupSpec[] } = {},
): Promise<string> {
  const [user] = await tdb
    .db('users')
    .insert({ user_name: userName, external_id: options.externalId ?? null, active: options.active ?? true })
    .returning('id');
  for (const spec of options.groups ?? []) {
    const { displayName, externalId } = typeof spec === 'string' ? { displayName: spec, externalId: undefined } : spec;
    let group = externalId
      ? await tdb.db('groups').where({ external_id: externalId }).first('id')
      : await tdb.db('groups').whereRaw('lower(display_name) = lower(?)', [displayName]).whereNull('external_id').first('id');
    if (!group)
      [group] = await tdb
        .db('groups')
        .insert({ display_name: displayName, external_id: externalId ?? null })
        .returning('id');
    await tdb.db('group_members').insert({ group_id: group.id, user_id: user.id });
  }
  return user.id as string;
}
