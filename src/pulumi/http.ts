import http from 'node:http';
import https from 'node:https';
import { HttpProxyAgent } from 'http-proxy-agent';
import { HttpsProxyAgent } from 'https-proxy-agent';
import { getProxyForUrl } from 'proxy-from-env';
import type { Logger } from '../log';
import { currentTraceparent } from '../tracing';
import { errorForStatus, InvalidResponseError, NetworkError, type RateLimitedError, ServerError } from './errors';
import type { PulumiBudget } from './limiter';
import { backoffDelayMs, parseRetryAfterMs, type RetryPolicy, sleep } from './retry';
import type { CallClass } from './scheduler';

/**
 * The transport under every client method: headers, URL escaping, per-org limits, a timeout on
 * every attempt, retries, and the `onCall` hook. It knows routes and statuses, not resources.
 */

export type HttpMethod = 'GET' | 'POST' | 'PATCH' | 'DELETE';

/**
 * Which failures a call may retry.
 * - `idempotent`: 5xx, network errors, timeouts and 429. Repeating the call cannot change the
 *   outcome (GET, DELETE, and PATCHes whose repeat answers 409/404 that the caller maps to done).
 * - `rate-limit-only`: only 429, which the service sends before doing any work. For calls whose
 *   repeat is not harmless: creating a token (its name is single-use) or a team.
 * - `none`: a single attempt (readiness probes).
 */
export type RetryMode = 'idempotent' | 'rate-limit-only' | 'none';

/** One HTTP attempt as reported to `onCall`; `route` is the template, never the filled-in path. */
export interface PulumiCall {
  method: HttpMethod;
  route: string;
  /** HTTP status; 0 when no answer arrived. */
  status: number;
  ms: number;
  /** 1 for the first attempt. */
  attempt: number;
  outcome: 'ok' | 'http-error' | 'network-error' | 'timeout';
}

export interface TransportOptions {
  baseUrl: string;
  accessToken: string;
  timeoutMs: number;
  /** The per-org limits every call waits on, possibly shared with other clients. */
  budget: PulumiBudget;
  retry: RetryPolicy;
  onCall?: (call: PulumiCall) => void;
  logger?: Logger;
  userAgent: string;
}

export interface CallSpec {
  method: HttpMethod;
  /** Route template such as `/api/orgs/{org}/teams/{team}`. */
  route: string;
  /** Values for the template's `{placeholders}`; each is URL-path-escaped. */
  params: Record<string, string>;
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Whose limiter the call waits on. */
  org: string;
  /** The budget's class the call waits in. */
  callClass: CallClass;
  retry: RetryMode;
}

export interface Transport {
  call(spec: CallSpec): Promise<unknown>;
}

export function createTransport(options: TransportOptions): Transport {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const limiterFor = (org: string) => options.budget.forOrg(org);
  // Connections are not capped here: the per-org limiters bound what is in flight.
  const agent = agentFor(baseUrl);
  const headers = {
    Authorization: `token ${options.accessToken}`,
    Accept: 'application/vnd.pulumi+8',
    'Content-Type': 'application/json',
    'User-Agent': options.userAgent,
  };

  const report = (call: PulumiCall): void => {
    if (!options.onCall) return;
    try {
      options.onCall(call);
    } catch (err) {
      options.logger?.warn('pulumi onCall hook threw', { err: (err as Error).message });
    }
  };

  async function attemptOnce(spec: CallSpec, url: string, routeLabel: string, attempt: number) {
    const limiter = limiterFor(spec.org);
    const release = await limiter.acquire(spec.callClass);
    const started = performance.now();
    try {
      const answer = await send(url, spec.method, spec.body === undefined ? undefined : JSON.stringify(spec.body));
      const ms = performance.now() - started;
      const ok = answer.status >= 200 && answer.status < 300;
      report({ method: spec.method, route: spec.route, status: answer.status, ms, attempt, outcome: ok ? 'ok' : 'http-error' });
      return { kind: 'answer' as const, ok, ...answer };
    } catch (err) {
      const ms = performance.now() - started;
      const timedOut = err instanceof AttemptTimeout;
      report({ method: spec.method, route: spec.route, status: 0, ms, attempt, outcome: timedOut ? 'timeout' : 'network-error' });
      const reason = timedOut ? `timed out after ${options.timeoutMs} ms` : `network error: ${describeCause(err)}`;
      return { kind: 'failure' as const, error: new NetworkError(`${routeLabel}: ${reason}`, routeLabel, timedOut, err) };
    } finally {
      release();
    }
  }

  /**
   * One request on a keep-alive connection, its whole answer read, within `timeoutMs`. Plain
   * node:http rather than fetch: at a large push, fetch's streams and abort signals were a
   * large share of the daemon's CPU per call. Redirects are answers, never followed.
   */
  function send(url: string, method: HttpMethod, body: string | undefined): Promise<{ status: number; headers: http.IncomingHttpHeaders; text: string }> {
    // The trace of the change this call serves (docs/architecture.md, "Tracing"); the HTTP
    // instrumentation, when loaded, replaces it with its own client span's, in the same trace.
    const traceparent = currentTraceparent();
    const traced = traceparent ? { ...headers, traceparent } : headers;
    return new Promise((resolve, reject) => {
      const secure = url.startsWith('https:');
      const req = (secure ? https : http).request(
        url,
        {
          method,
          agent,
          headers: body === undefined ? traced : { ...traced, 'Content-Length': Buffer.byteLength(body) },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (chunk: Buffer) => chunks.push(chunk));
          res.on('end', () => {
            clearTimeout(timer);
            resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', fail);
        },
      );
      const timer = setTimeout(() => req.destroy(new AttemptTimeout()), options.timeoutMs);
      function fail(err: Error): void {
        clearTimeout(timer);
        reject(err);
      }
      req.on('error', fail);
      req.end(body);
    });
  }

  return {
    async call(spec) {
      const url = buildUrl(baseUrl, spec.route, spec.params, spec.query);
      const routeLabel = `${spec.method} ${spec.route}`;
      const maxAttempts = spec.retry === 'none' ? 1 : Math.max(1, options.retry.maxAttempts);
      for (let attempt = 1; ; attempt += 1) {
        const result = await attemptOnce(spec, url, routeLabel, attempt);
        const last = attempt >= maxAttempts;
        if (result.kind === 'failure') {
          if (last || spec.retry !== 'idempotent') throw result.error;
          await backoff(routeLabel, attempt, result.error.message);
          continue;
        }
        const { ok, status, text } = result;
        if (ok) return parseSuccess(text, status, routeLabel);
        const requestId = headerOf(result.headers, 'x-pulumi-request-id');
        if (status === 429) {
          const retryAfterMs = parseRetryAfterMs(headerOf(result.headers, 'retry-after')) ?? backoffDelayMs(options.retry, attempt);
          limiterFor(spec.org).pauseUntil(Date.now() + retryAfterMs);
          if (last || retryAfterMs > options.retry.maxRetryAfterMs) {
            throw errorForStatus(429, text, routeLabel, requestId, retryAfterMs) as RateLimitedError;
          }
          options.logger?.warn('pulumi rate limited; waiting for Retry-After', { route: routeLabel, attempt, delayMs: retryAfterMs });
          await sleep(retryAfterMs);
          continue;
        }
        const error = errorForStatus(status, text, routeLabel, requestId, 0);
        if (error instanceof ServerError && spec.retry === 'idempotent' && !last) {
          await backoff(routeLabel, attempt, `HTTP ${status}`);
          continue;
        }
        throw error;
      }
    },
  };

  async function backoff(routeLabel: string, attempt: number, why: string): Promise<void> {
    const delayMs = backoffDelayMs(options.retry, attempt);
    options.logger?.warn('pulumi call failed; retrying', { route: routeLabel, attempt, delayMs, reason: why });
    await sleep(delayMs);
  }
}

function parseSuccess(text: string, status: number, routeLabel: string): unknown {
  if (text.trim() === '') return undefined;
  try {
    return JSON.parse(text);
  } catch {
    throw new InvalidResponseError(`${routeLabel} → ${status}: answer is not JSON`, status, text.slice(0, 300), routeLabel);
  }
}

export function buildUrl(
  baseUrl: string,
  route: string,
  params: Record<string, string>,
  query: Record<string, string | number | undefined> | undefined,
): string {
  const path = route.replace(/\{(\w+)\}/g, (_, name: string) => {
    const value = params[name];
    if (value === undefined || value === '') throw new TypeError(`missing path parameter ${name} for ${route}`);
    return encodeURIComponent(value);
  });
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(query ?? {})) {
    if (value !== undefined && value !== '') search.set(key, String(value));
  }
  const qs = search.toString();
  return `${baseUrl}${path}${qs ? `?${qs}` : ''}`;
}

/**
 * The keep-alive agent for calls to `baseUrl`: through the proxy that HTTPS_PROXY (for https)
 * or HTTP_PROXY names, unless NO_PROXY exempts the host (upper- or lower-case variables, as
 * proxy-from-env reads them); direct otherwise. Through a proxy, https goes in a CONNECT tunnel
 * and both the tunnel and the connection to the proxy are kept alive. Connections are not capped
 * here: the per-org limiters bound what is in flight.
 */
function agentFor(baseUrl: string): http.Agent {
  const secure = baseUrl.startsWith('https:');
  const proxy = getProxyForUrl(baseUrl);
  if (!proxy) return secure ? new https.Agent({ keepAlive: true }) : new http.Agent({ keepAlive: true });
  return secure ? new HttpsProxyAgent(proxy, { keepAlive: true }) : new HttpProxyAgent(proxy, { keepAlive: true });
}

/** An attempt that outlived `timeoutMs`. */
class AttemptTimeout extends Error {}

function headerOf(headers: http.IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value[0] : value;
}

function describeCause(err: unknown): string {
  const e = err as { code?: string; message?: string; cause?: { code?: string; message?: string } };
  return e?.code ?? e?.cause?.code ?? e?.cause?.message ?? e?.message ?? String(err);
}
