import { randomBytes, randomUUID, timingSafeEqual } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import express, { type NextFunction, type Request, type Response } from 'express';
import { exportJWK, generateKeyPair, type JWK, type KeyLike, SignJWT } from 'jose';

/**
 * A Shared Signals transmitter for the tests and the demo, built from SSF 1.0, RFC 8935/8936 and
 * Okta's SSF Transmitter API (docs/shared-signals.md): its configuration document, OAuth
 * metadata and a client-credentials token endpoint, a JWKS, Okta's stream endpoints (one stream
 * per client, 409 on a second), status and verification, push delivery to the stream's endpoint
 * with its authorization header, and an RFC 8936 poll endpoint. SETs are signed RS256 and shaped
 * as Okta's published examples (the subject inside the event, `event_timestamp` in ms).
 */

export const SSF_EVENT = {
  sessionRevoked: 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  credentialChange: 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
  credentialCompromise: 'https://schemas.openid.net/secevent/risc/event-type/credential-compromise',
  accountDisabled: 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
  accountPurged: 'https://schemas.openid.net/secevent/risc/event-type/account-purged',
  verification: 'https://schemas.openid.net/secevent/ssf/event-type/verification',
} as const;

const PUSH = 'urn:ietf:rfc:8935';
const POLL = 'urn:ietf:rfc:8936';

export interface EmulatedStream {
  stream_id: string;
  iss: string;
  aud: string;
  events_supported: string[];
  events_requested: string[];
  events_delivered: string[];
  delivery: { method: string; endpoint_url?: string; authorization_header?: string };
  description?: string;
}

export interface SigningKey {
  kid: string;
  privateKey: KeyLike;
  publicJwk: JWK;
}

export interface SignOptions {
  /** @defaultValue the emulator's current key */
  key?: SigningKey;
  /** @defaultValue RS256 */
  alg?: string;
  /** Header typ; null leaves it out. @defaultValue secevent+jwt */
  typ?: string | null;
}

export interface Delivery {
  /** Push: the receiver's status; poll: undefined (queued). */
  status?: number;
  body?: string;
  jti: string;
}

export interface SsfEmulator {
  /** The transmitter's issuer (SSF_TRANSMITTER_URL). */
  issuer: string;
  clientId: string;
  clientSecret: string;
  stream(): EmulatedStream | undefined;
  /** Signs any payload as this transmitter would (tests forge bad SETs with their own options). */
  sign(payload: Record<string, unknown>, options?: SignOptions): Promise<string>;
  /** An Okta-shaped SET for one event about `subject` (a simple or complex RFC 9493 subject). */
  buildSet(eventType: string, subject: Record<string, unknown>, extra?: Record<string, unknown>): Record<string, unknown>;
  /** Builds, signs and delivers one event on the stream (push now, or queued for poll). */
  emit(eventType: string, subject: Record<string, unknown>, extra?: Record<string, unknown>): Promise<Delivery>;
  /** Delivers an already signed SET on the stream as the transmitter would. */
  deliver(token: string, jti: string): Promise<Delivery>;
  /** A new current signing key (kid); the old one stays in the JWKS unless `retireOld`. */
  rotateKey(retireOld?: boolean): Promise<SigningKey>;
  /** Poll bookkeeping: jtis acknowledged, and errors reported, so far. */
  acknowledged(): string[];
  reportedErrors(): Record<string, { err: string; description: string }>;
  /** SETs queued for poll and not yet acknowledged. */
  outstanding(): string[];
  stop(): Promise<void>;
}

export interface SsfEmulatorOptions {
  port?: number;
  host?: string;
  clientId?: string;
  clientSecret?: string;
}

async function newKey(): Promise<SigningKey> {
  const { privateKey, publicKey } = await generateKeyPair('RS256', { extractable: true });
  const kid = randomBytes(8).toString('hex');
  return { kid, privateKey, publicJwk: { ...(await exportJWK(publicKey)), kid, alg: 'RS256', use: 'sig' } };
}

const sameSecret = (a: string, b: string) => a.length === b.length && timingSafeEqual(Buffer.from(a), Buffer.from(b));

export async function startSsfEmulator(options: SsfEmulatorOptions = {}): Promise<SsfEmulator> {
  const clientId = options.clientId ?? `0oa${randomBytes(6).toString('hex')}`;
  const clientSecret = options.clientSecret ?? randomBytes(24).toString('base64url');
  let current = await newKey();
  const keys: SigningKey[] = [current];
  const accessTokens = new Set<string>();
  let stream: EmulatedStream | undefined;
  const pollQueue = new Map<string, string>();
  const acked: string[] = [];
  const errs: Record<string, { err: string; description: string }> = {};

  const app = express();
  app.disable('x-powered-by');
  const server = http.createServer(app);
  await new Promise<void>((resolve) => server.listen(options.port ?? 0, options.host ?? '127.0.0.1', resolve));
  const issuer = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const streamPath = '/api/v1/ssf/stream';

  app.get('/.well-known/ssf-configuration', (_req, res) => {
    res.json({
      spec_version: '1_0',
      issuer,
      jwks_uri: `${issuer}/oauth2/v1/keys`,
      delivery_methods_supported: [PUSH, POLL],
      configuration_endpoint: `${issuer}${streamPath}`,
      status_endpoint: `${issuer}${streamPath}/status`,
      verification_endpoint: `${issuer}${streamPath}/verification`,
      authorization_schemes: [{ spec_urn: 'urn:ietf:rfc:6749' }],
      default_subjects: 'ALL',
    });
  });
  app.get('/.well-known/oauth-authorization-server', (_req, res) => res.json({ issuer, token_endpoint: `${issuer}/oauth2/v1/token` }));
  app.get('/oauth2/v1/keys', (_req, res) => res.json({ keys: keys.map((k) => k.publicJwk) }));

  app.post('/oauth2/v1/token', express.urlencoded({ extended: false }), (req, res) => {
    const basic = /^Basic (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    const [id, secret] = basic ? Buffer.from(basic, 'base64').toString('utf8').split(':').map(decodeURIComponent) : [];
    if (id !== clientId || !secret || !sameSecret(secret, clientSecret)) return res.status(401).json({ error: 'invalid_client' });
    if (req.body?.grant_type !== 'client_credentials') return res.status(400).json({ error: 'unsupported_grant_type' });
    const token = randomBytes(24).toString('base64url');
    accessTokens.add(token);
    res.json({ access_token: token, token_type: 'Bearer', expires_in: 3600, scope: req.body.scope ?? '' });
  });

  const authorized = (req: Request, res: Response, next: NextFunction) => {
    const token = /^Bearer (.+)$/.exec(req.get('authorization') ?? '')?.[1];
    if (!token || !accessTokens.has(token)) return res.status(401).json({ errorCode: 'E0000011', errorSummary: 'Invalid token provided' });
    next();
  };
  const json = express.json();
  const notFound = (res: Response) => res.status(404).json({ errorCode: 'E0000007', errorSummary: 'Not found: stream' });
  const matches = (req: Request) => stream && (req.query.stream_id === undefined || req.query.stream_id === stream.stream_id);

  app.post(streamPath, authorized, json, (req, res) => {
    if (stream) return res.status(409).json({ errorCode: 'E0000165', errorSummary: 'A stream already exists for this client' });
    const body = req.body as Partial<EmulatedStream>;
    const method = body.delivery?.method;
    if (method !== PUSH && method !== POLL) return res.status(400).json({ errorCode: 'E0000001', errorSummary: 'delivery.method is not supported' });
    if (method === PUSH && typeof body.delivery?.endpoint_url !== 'string')
      return res.status(400).json({ errorCode: 'E0000001', errorSummary: 'endpoint_url is required' });
    const supported = Object.values(SSF_EVENT).filter((e) => e !== SSF_EVENT.verification);
    const requested = Array.isArray(body.events_requested) ? body.events_requested : [];
    stream = {
      stream_id: `esc${randomBytes(8).toString('hex')}`,
      iss: issuer,
      aud: method === PUSH ? new URL(body.delivery?.endpoint_url as string).origin : clientId,
      events_supported: supported,
      events_requested: requested,
      events_delivered: supported.filter((e) => requested.includes(e)),
      delivery: method === PUSH ? { ...body.delivery, method } : { method, endpoint_url: `${issuer}${streamPath}/poll` },
      description: body.description,
    };
    const { authorization_header: _hidden, ...delivery } = stream.delivery;
    res.status(201).json({ ...stream, delivery });
  });
  app.get(streamPath, authorized, (req, res) => {
    if (!matches(req) || !stream) return notFound(res);
    const { authorization_header: _hidden, ...delivery } = stream.delivery;
    res.json({ ...stream, delivery });
  });
  app.delete(streamPath, authorized, (req, res) => {
    if (!matches(req)) return notFound(res);
    stream = undefined;
    pollQueue.clear();
    res.status(204).end();
  });
  app.get(`${streamPath}/status`, authorized, (req, res) => {
    if (!matches(req) || !stream) return notFound(res);
    res.json({ stream_id: stream.stream_id, status: 'enabled' });
  });
  app.post(`${streamPath}/verification`, authorized, json, async (req, res) => {
    if (!stream || req.body?.stream_id !== stream.stream_id) return notFound(res);
    res.status(204).end();
    const payload = {
      iss: issuer,
      jti: randomUUID().replace(/-/g, ''),
      iat: Math.floor(Date.now() / 1000),
      aud: stream.aud,
      sub_id: { format: 'opaque', id: stream.stream_id },
      events: { [SSF_EVENT.verification]: typeof req.body.state === 'string' ? { state: req.body.state } : {} },
    };
    await deliver(await sign(payload), payload.jti).catch(() => undefined);
  });
  app.post(`${streamPath}/poll`, authorized, json, (req, res) => {
    if (!stream || stream.delivery.method !== POLL) return notFound(res);
    const body = req.body as { ack?: unknown; setErrs?: unknown; maxEvents?: unknown };
    for (const jti of Array.isArray(body.ack) ? body.ack : []) {
      if (typeof jti === 'string' && pollQueue.delete(jti)) acked.push(jti);
    }
    if (body.setErrs && typeof body.setErrs === 'object') {
      for (const [jti, e] of Object.entries(body.setErrs as Record<string, { err: string; description: string }>)) {
        pollQueue.delete(jti);
        errs[jti] = e;
      }
    }
    const max = typeof body.maxEvents === 'number' ? body.maxEvents : 100;
    // Unacknowledged SETs are delivered again (RFC 8936 §2.4): the receiver must ack or report them.
    const sets = Object.fromEntries([...pollQueue.entries()].slice(0, max));
    res.json({ sets, moreAvailable: pollQueue.size > max });
  });

  async function sign(payload: Record<string, unknown>, signOptions: SignOptions = {}): Promise<string> {
    const key = signOptions.key ?? current;
    const typ = signOptions.typ === undefined ? 'secevent+jwt' : signOptions.typ;
    return new SignJWT(payload).setProtectedHeader({ alg: signOptions.alg ?? 'RS256', kid: key.kid, ...(typ === null ? {} : { typ }) }).sign(key.privateKey);
  }

  function buildSet(eventType: string, subject: Record<string, unknown>, extra: Record<string, unknown> = {}): Record<string, unknown> {
    if (!stream) throw new Error('no stream: the receiver must create one first');
    return {
      iss: issuer,
      jti: randomBytes(16).toString('hex'),
      iat: Math.floor(Date.now() / 1000),
      aud: stream.aud,
      events: { [eventType]: { subject, event_timestamp: Date.now(), initiating_entity: 'admin', reason_admin: { en: 'emulated' }, ...extra } },
    };
  }

  async function deliver(token: string, jti: string): Promise<Delivery> {
    if (!stream) throw new Error('no stream');
    if (stream.delivery.method === POLL) {
      pollQueue.set(jti, token);
      return { jti };
    }
    const res = await fetch(stream.delivery.endpoint_url as string, {
      method: 'POST',
      headers: {
        'content-type': 'application/secevent+jwt',
        accept: 'application/json',
        ...(stream.delivery.authorization_header ? { authorization: stream.delivery.authorization_header } : {}),
      },
      body: token,
    });
    return { status: res.status, body: await res.text(), jti };
  }

  return {
    issuer,
    clientId,
    clientSecret,
    stream: () => stream,
    sign,
    buildSet,
    async emit(eventType, subject, extra) {
      const payload = buildSet(eventType, subject, extra);
      return deliver(await sign(payload), payload.jti as string);
    },
    deliver,
    async rotateKey(retireOld = false) {
      const next = await newKey();
      if (retireOld) keys.splice(0, keys.length);
      keys.push(next);
      current = next;
      return next;
    },
    acknowledged: () => [...acked],
    reportedErrors: () => ({ ...errs }),
    outstanding: () => [...pollQueue.keys()],
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

/** A key the transmitter never published, for tests of an unknown `kid`. */
export const unpublishedKey = newKey;
