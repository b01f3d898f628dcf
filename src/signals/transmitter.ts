import type { Config } from '../config';
import { sameIssuer } from './subjects';

/**
 * The transmitter as a receiver talks to it (SSF 1.0 §7, §8): its configuration document, an
 * OAuth access token from the client-credentials grant (RFC 6749 §4.4), and the stream
 * management endpoints. Okta's paths are those its configuration names (`/api/v1/ssf/stream`,
 * `…/status`, `…/verification`); nothing here assumes them.
 */

export interface TransmitterConfiguration {
  issuer: string;
  jwks_uri: string;
  delivery_methods_supported?: string[];
  configuration_endpoint?: string;
  status_endpoint?: string;
  verification_endpoint?: string;
}

/** A stream as the transmitter describes it (SSF 1.0 §8.1.1). */
export interface StreamConfiguration {
  stream_id: string;
  iss?: string;
  aud?: string | string[];
  events_supported?: string[];
  events_requested?: string[];
  events_delivered?: string[];
  delivery: { method: string; endpoint_url?: string; authorization_header?: string };
  description?: string;
}

/** The transmitter answered something other than what was asked. */
export class TransmitterError extends Error {
  override readonly name = 'TransmitterError';
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const TIMEOUT_MS = 10_000;

/** SSF 1.0 §7.2: the well-known suffix goes between the host and the issuer's path. */
export function wellKnownUrl(issuer: string, suffix: string): string {
  const url = new URL(issuer);
  const path = url.pathname.replace(/\/+$/, '');
  return `${url.origin}/.well-known/${suffix}${path}`;
}

async function getJson(url: string, init: RequestInit = {}): Promise<unknown> {
  const res = await fetch(url, { ...init, signal: AbortSignal.timeout(TIMEOUT_MS) });
  if (!res.ok) throw new TransmitterError(`${init.method ?? 'GET'} ${url} answered ${res.status}`, res.status);
  return res.status === 204 ? undefined : res.json();
}

export async function readTransmitterConfiguration(issuer: string): Promise<TransmitterConfiguration> {
  const doc = (await getJson(wellKnownUrl(issuer, 'ssf-configuration'))) as Partial<TransmitterConfiguration>;
  if (typeof doc?.issuer !== 'string' || typeof doc.jwks_uri !== 'string') throw new TransmitterError('the SSF configuration lacks issuer or jwks_uri');
  // SSF 1.0 §7.2.1: the document must name the issuer it was fetched for.
  if (!sameIssuer(doc.issuer, issuer)) throw new TransmitterError(`the SSF configuration names issuer ${doc.issuer}, not ${issuer}`);
  return doc as TransmitterConfiguration;
}

export interface ClientCredentials {
  clientId: string;
  clientSecret: string;
  scopes: string;
  /** SSF_TOKEN_URL; the issuer's OAuth metadata (RFC 8414) names it when unset. */
  tokenUrl?: string;
}

export class TransmitterClient {
  private config?: Promise<TransmitterConfiguration>;
  private token?: { value: string; until: number };

  constructor(
    readonly issuer: string,
    private readonly credentials: ClientCredentials | undefined,
  ) {}

  configuration(): Promise<TransmitterConfiguration> {
    this.config ??= readTransmitterConfiguration(this.issuer).catch((err) => {
      this.config = undefined;
      throw err;
    });
    return this.config;
  }

  private async accessToken(): Promise<string> {
    if (this.token && this.token.until > Date.now()) return this.token.value;
    const credentials = this.credentials;
    if (!credentials) throw new TransmitterError('stream management needs SSF_CLIENT_ID and SSF_CLIENT_SECRET');
    const tokenUrl = credentials.tokenUrl ?? (await this.discoverTokenUrl());
    const basic = Buffer.from(`${encodeURIComponent(credentials.clientId)}:${encodeURIComponent(credentials.clientSecret)}`).toString('base64');
    const body = (await getJson(tokenUrl, {
      method: 'POST',
      headers: { authorization: `Basic ${basic}`, 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' },
      body: new URLSearchParams({ grant_type: 'client_credentials', scope: credentials.scopes }).toString(),
    })) as { access_token?: unknown; expires_in?: unknown };
    if (typeof body?.access_token !== 'string') throw new TransmitterError('the token endpoint answered no access_token');
    const lifetimeS = typeof body.expires_in === 'number' ? body.expires_in : 300;
    this.token = { value: body.access_token, until: Date.now() + Math.max(0, lifetimeS - 30) * 1000 };
    return this.token.value;
  }

  private async discoverTokenUrl(): Promise<string> {
    const meta = (await getJson(wellKnownUrl(this.issuer, 'oauth-authorization-server'))) as { token_endpoint?: unknown };
    if (typeof meta?.token_endpoint !== 'string') throw new TransmitterError('the OAuth metadata names no token_endpoint: set SSF_TOKEN_URL');
    return meta.token_endpoint;
  }

  private async call(endpoint: keyof TransmitterConfiguration, method: string, query?: Record<string, string>, body?: unknown): Promise<unknown> {
    const config = await this.configuration();
    const base = config[endpoint];
    if (typeof base !== 'string') throw new TransmitterError(`the transmitter offers no ${endpoint}`);
    const url = new URL(base);
    for (const [k, v] of Object.entries(query ?? {})) url.searchParams.set(k, v);
    return getJson(url.toString(), {
      method,
      headers: {
        authorization: `Bearer ${await this.accessToken()}`,
        accept: 'application/json',
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  }

  createStream(request: Omit<StreamConfiguration, 'stream_id'>): Promise<StreamConfiguration> {
    return this.call('configuration_endpoint', 'POST', undefined, request) as Promise<StreamConfiguration>;
  }

  /** The streams this client may see: SSF answers one object for a stream_id, a list (or Okta's one object) without. */
  async readStreams(streamId?: string): Promise<StreamConfiguration[]> {
    const answer = await this.call('configuration_endpoint', 'GET', streamId ? { stream_id: streamId } : undefined);
    return Array.isArray(answer) ? (answer as StreamConfiguration[]) : answer ? [answer as StreamConfiguration] : [];
  }

  async deleteStream(streamId: string): Promise<void> {
    await this.call('configuration_endpoint', 'DELETE', { stream_id: streamId });
  }

  async status(streamId: string): Promise<{ status?: string; reason?: string }> {
    return (await this.call('status_endpoint', 'GET', { stream_id: streamId })) as { status?: string; reason?: string };
  }

  async requestVerification(streamId: string, state: string): Promise<void> {
    await this.call('verification_endpoint', 'POST', undefined, { stream_id: streamId, state });
  }

  /** One poll request (RFC 8936 §2.2) with the token of the stream's endpoint. */
  async poll(endpointUrl: string, request: PollRequest): Promise<PollResponse> {
    const body = (await getJson(endpointUrl, {
      method: 'POST',
      headers: { authorization: `Bearer ${await this.accessToken()}`, 'content-type': 'application/json', accept: 'application/json' },
      body: JSON.stringify(request),
    })) as Partial<PollResponse>;
    return { sets: body?.sets && typeof body.sets === 'object' ? body.sets : {}, moreAvailable: body?.moreAvailable === true };
  }
}

export interface PollRequest {
  ack: string[];
  setErrs?: Record<string, { err: string; description: string }>;
  maxEvents: number;
  returnImmediately: boolean;
}

export interface PollResponse {
  sets: Record<string, string>;
  moreAvailable: boolean;
}

type SsfConfig = Pick<Config, 'SSF_TRANSMITTER_URL' | 'SSF_CLIENT_ID' | 'SSF_CLIENT_SECRET' | 'SSF_TOKEN_URL' | 'SSF_SCOPES'>;

/** The transmitter the SSF_* variables name; undefined while SSF_TRANSMITTER_URL is unset. */
export function transmitterClientFor(config: SsfConfig): TransmitterClient | undefined {
  if (!config.SSF_TRANSMITTER_URL) return undefined;
  const credentials =
    config.SSF_CLIENT_ID && config.SSF_CLIENT_SECRET
      ? { clientId: config.SSF_CLIENT_ID, clientSecret: config.SSF_CLIENT_SECRET, scopes: config.SSF_SCOPES, tokenUrl: config.SSF_TOKEN_URL }
      : undefined;
  return new TransmitterClient(config.SSF_TRANSMITTER_URL, credentials);
}

/** Where pushes go: `${PUBLIC_URL}/ssf/events`. */
export function receiverUrlOf(config: Pick<Config, 'PUBLIC_URL'>): string | undefined {
  return config.PUBLIC_URL ? `${config.PUBLIC_URL.replace(/\/+$/, '')}/ssf/events` : undefined;
}
