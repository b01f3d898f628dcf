import http from 'node:http';
import { randomUUID, timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { ZodError } from 'zod';
import { ApiFailure, matchRoute, type Principal, ROUTES } from './api';
import { ROLE_ROUTES } from './roles';
import { CallLog, type CallRecord } from './calls';
import { DEFAULT_EMULATOR_CONFIG, type EmulatorConfig, type EmulatorConfigInput, resolveConfig } from './config';
import { type Fault, FaultSet } from './faults';
import { type EmulatorSeed, type EmulatorState, hashToken, isEmulatorState, newTokenValue, SeedError, stateFromSeed } from './state';

/**
 * A local Pulumi Service: the REST endpoints the daemon uses (docs/pulumi-api.md), with fault
 * injection, a call log, and a control API under `/_emulator/` that the client never sees:
 *
 * - `GET|PUT /_emulator/state`, `POST /_emulator/seed` (body: a seed; resets the state)
 * - `GET|PATCH /_emulator/config`
 * - `GET|POST|DELETE /_emulator/faults`, `DELETE /_emulator/faults/{id}`
 * - `GET /_emulator/calls`, `POST /_emulator/reset-calls`
 * - `/_emulator/hand/api/...`: the same REST API acting as the admin (or as the login in the
 *   `X-Emulator-Acting-As` header), without auth, faults or call logging: "hand edits" for drift
 *   tests. A client pointed at `${url}/_emulator/hand` works unchanged.
 */

export type { EmulatorSeed, EmulatorState } from './state';
export type { EmulatorConfig, EmulatorConfigInput } from './config';
export type { FaultSpec, Fault } from './faults';
export type { CallRecord, CallCounters } from './calls';
export { SeedError } from './state';
export { DEFAULT_EMULATOR_CONFIG } from './config';
export { demoSeed, demoPeople } from './demo-seed';
export type { DemoPerson } from './demo-seed';
export { EmulatorStateFile } from './persist';

export interface EmulatorOptions {
  /** 0 (default) picks a free port. */
  port?: number;
  /** @defaultValue 127.0.0.1 */
  host?: string;
  seed?: EmulatorSeed;
  /** The admin access token; random when absent. */
  accessToken?: string;
  /** Org name when the seed names none. @defaultValue acme */
  org?: string;
  config?: EmulatorConfigInput;
  /** Called after each request that changed the state (REST writes, hand edits, `PUT /_emulator/state`, `POST /_emulator/seed`). */
  onChange?: () => void;
}

export interface Emulator {
  url: string;
  accessToken: string;
  /** Base URL for hand edits (`createPulumiClient({ baseUrl: emu.handEditUrl, ... })`). */
  handEditUrl: string;
  /** The live state; mutations are visible to the next request. */
  readonly state: EmulatorState;
  config: EmulatorConfig;
  faults: FaultSet;
  calls: CallLog;
  /** Replaces the state with one built from a seed. */
  seed(seed: EmulatorSeed): void;
  setState(state: EmulatorState): void;
  /** The emulator's request handler, for another HTTP server to pass requests on to (paths as the emulator's own). */
  handle(req: http.IncomingMessage, res: http.ServerResponse): void;
  stop(): Promise<void>;
}

const MAX_BODY_BYTES = 1024 * 1024;
/** A whole benchmark-sized state can pass through PUT /_emulator/state. */
const MAX_CONTROL_BODY_BYTES = 64 * 1024 * 1024;
const HAND_PREFIX = '/_emulator/hand';
const ALL_ROUTES = [...ROUTES, ...ROLE_ROUTES];

export async function startEmulator(options: EmulatorOptions = {}): Promise<Emulator> {
  const accessToken = options.accessToken ?? newTokenValue();
  const accessTokenHash = Buffer.from(hashToken(accessToken), 'hex');
  const defaultOrg = options.org ?? 'acme';
  let state = stateFromSeed({ ...options.seed, org: options.org ?? options.seed?.org }, { org: defaultOrg });
  const config = resolveConfig(DEFAULT_EMULATOR_CONFIG, options.config);
  const faults = new FaultSet();
  const calls = new CallLog(() => config.callLogLimit);
  let baseUrl = '';

  function authenticate(header: string | undefined): Principal | undefined {
    const match = /^token (\S+)$/.exec(header ?? '');
    if (!match) return undefined;
    const presented = Buffer.from(hashToken(match[1]), 'hex');
    if (timingSafeEqual(presented, accessTokenHash)) return { login: state.adminLogin, canWrite: true };
    const hash = presented.toString('hex');
    const token = state.tokens.find((t) => t.valueHash === hash);
    if (!token || token.deleted || (token.expires !== 0 && token.expires <= Date.now() / 1000)) return undefined;
    if (token.type === 'team' && !state.teams.some((t) => t.name === token.team)) return undefined;
    token.lastUsed = Math.floor(Date.now() / 1000);
    return { login: token.createdBy, canWrite: token.type === 'organization' && token.admin };
  }

  async function handleApi(req: http.IncomingMessage, res: http.ServerResponse, path: string, query: URLSearchParams, hand: boolean) {
    const started = performance.now();
    const method = req.method ?? 'GET';
    const segments = decodeSegments(path);
    const match = segments ? matchRoute(method, segments, ALL_ROUTES) : ({ kind: 'none' } as const);
    const route = match.kind === 'found' ? match.route.template : path;
    const record = hand ? undefined : calls.begin();
    const finish = (status: number, fault?: CallRecord['fault']) =>
      record?.({
        method,
        path,
        route,
        status,
        write: method !== 'GET',
        ...(fault ? { fault } : {}),
        authScheme: req.headers.authorization?.split(' ')[0],
        accept: req.headers.accept,
        contentType: req.headers['content-type'],
        traceparent: req.headers.traceparent as string | undefined,
        ms: performance.now() - started,
      });
    res.setHeader('X-Pulumi-Request-ID', randomUUID());

    // The body is read before any injected delay, so a client that gives up mid-delay cannot
    // leave the read hanging; the change is still applied afterwards, as a real server would.
    let body: unknown;
    let bodyError: BodyError | undefined;
    try {
      body = await readJsonBody(req, MAX_BODY_BYTES);
    } catch (err) {
      bodyError = err instanceof BodyError ? err : new BodyError((err as Error).message);
    }

    if (!hand) {
      const fired = faults.draw(method, path);
      const latency = fired.filter((f) => f.kind === 'latency').reduce((sum, f) => sum + f.latencyMs, 0);
      if (latency > 0) await new Promise((r) => setTimeout(r, latency));
      const terminal = fired.find((f) => f.kind !== 'latency');
      if (terminal) {
        applyFault(req, res, terminal);
        return finish(terminal.kind === 'drop' ? 0 : res.statusCode, terminal.kind);
      }
    }

    if (match.kind === 'none') {
      sendText(res, 404, '404 page not found\n');
      return finish(404);
    }
    if (match.kind === 'wrong-method') {
      sendText(res, 405, 'Method Not Allowed\n');
      return finish(405);
    }
    let principal: Principal | undefined;
    if (hand) {
      const actingAs = req.headers['x-emulator-acting-as'];
      principal = { login: typeof actingAs === 'string' && actingAs ? actingAs : state.adminLogin, canWrite: true };
    } else {
      principal = authenticate(req.headers.authorization);
      if (!principal) {
        sendJsonError(res, 401, 'Unauthorized: No credentials provided or are invalid.');
        return finish(401);
      }
      if (config.requireAcceptHeader && !/application\/vnd\.pulumi\+[89]/.test(req.headers.accept ?? '')) {
        sendJsonError(res, 400, 'Missing or unsupported Accept header');
        return finish(400);
      }
    }
    if (bodyError) {
      const status = bodyError instanceof BodyTooLarge ? 413 : 400;
      sendJsonError(res, status, bodyError.message);
      return finish(status);
    }
    try {
      const result = match.route.handler({ state, config, principal, params: match.params, query, body, baseUrl });
      if (result.json === undefined) res.writeHead(result.status).end();
      else sendJson(res, result.status, result.json);
      if (method !== 'GET' && result.status < 300) options.onChange?.();
      return finish(result.status);
    } catch (err) {
      const failure = err instanceof ApiFailure ? err : new ApiFailure(500, 'emulator internal error');
      sendJsonError(res, failure.status, failure.message, failure.errors);
      return finish(failure.status);
    }
  }

  function applyFault(req: http.IncomingMessage, res: http.ServerResponse, fault: Fault): void {
    if (fault.kind === 'drop') {
      req.socket.destroy();
      return;
    }
    if (fault.kind === 'rate-limit') {
      if (fault.retryAfterSeconds !== undefined) {
        res.setHeader(
          'Retry-After',
          fault.retryAfterFormat === 'http-date' ? new Date(Date.now() + fault.retryAfterSeconds * 1000).toUTCString() : String(fault.retryAfterSeconds),
        );
      }
      sendJsonError(res, 429, 'Too Many Requests');
      return;
    }
    if (fault.body === 'text') sendText(res, fault.status, `${fault.status} ${http.STATUS_CODES[fault.status] ?? 'error'}\n`);
    else sendJsonError(res, fault.status, `injected fault: ${http.STATUS_CODES[fault.status] ?? 'error'}`);
  }

  async function handleControl(req: http.IncomingMessage, res: http.ServerResponse, path: string) {
    const method = req.method ?? 'GET';
    const body = await readJsonBody(req, MAX_CONTROL_BODY_BYTES);
    const key = `${method} ${path}`;
    if (key === 'GET /_emulator/state') return sendJson(res, 200, state);
    if (key === 'PUT /_emulator/state') {
      if (!isEmulatorState(body)) return sendJsonError(res, 400, 'not an emulator state');
      state = body;
      options.onChange?.();
      return sendJson(res, 200, { ok: true });
    }
    if (key === 'POST /_emulator/seed') {
      state = stateFromSeed((body ?? {}) as EmulatorSeed, { org: defaultOrg });
      options.onChange?.();
      return sendJson(res, 200, { ok: true, org: state.org });
    }
    if (key === 'GET /_emulator/config') return sendJson(res, 200, config);
    if (key === 'PATCH /_emulator/config') {
      Object.assign(config, resolveConfig(config, (body ?? {}) as EmulatorConfigInput));
      return sendJson(res, 200, config);
    }
    if (key === 'GET /_emulator/faults') return sendJson(res, 200, { faults: faults.list() });
    if (key === 'POST /_emulator/faults') return sendJson(res, 201, { id: faults.add(body as never) });
    if (key === 'DELETE /_emulator/faults') {
      faults.clear();
      return res.writeHead(204).end();
    }
    const faultId = /^\/_emulator\/faults\/([^/]+)$/.exec(path);
    if (method === 'DELETE' && faultId) {
      return faults.remove(decodeURIComponent(faultId[1])) ? res.writeHead(204).end() : sendJsonError(res, 404, 'no such fault');
    }
    if (key === 'GET /_emulator/calls') return sendJson(res, 200, { counters: calls.snapshot(), calls: calls.entries });
    if (key === 'POST /_emulator/reset-calls') {
      calls.reset();
      return res.writeHead(204).end();
    }
    return sendText(res, 404, '404 page not found\n');
  }

  function handle(req: http.IncomingMessage, res: http.ServerResponse): void {
    const url = new URL(req.url ?? '/', 'http://emulator.invalid');
    const path = url.pathname;
    let work: Promise<unknown>;
    if (path.startsWith(`${HAND_PREFIX}/api/`)) {
      work = handleApi(req, res, path.slice(HAND_PREFIX.length), url.searchParams, true);
    } else if (path.startsWith('/_emulator/')) {
      work = handleControl(req, res, path);
    } else {
      work = handleApi(req, res, path, url.searchParams, false);
    }
    work.catch((err: unknown) => {
      if (res.headersSent || res.destroyed) return;
      if (err instanceof SeedError || err instanceof ZodError || err instanceof BodyError) {
        return sendJsonError(res, 400, err instanceof ZodError ? err.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ') : err.message);
      }
      sendJsonError(res, 500, 'emulator internal error');
    });
  }
  const server = http.createServer(handle);
  server.keepAliveTimeout = 5000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  const host = options.host && options.host !== '0.0.0.0' && options.host !== '::' ? options.host : '127.0.0.1';
  baseUrl = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  return {
    url: baseUrl,
    accessToken,
    handEditUrl: `${baseUrl}${HAND_PREFIX}`,
    get state() {
      return state;
    },
    config,
    faults,
    calls,
    seed(seed) {
      state = stateFromSeed(seed, { org: defaultOrg });
    },
    setState(next) {
      if (!isEmulatorState(next)) throw new TypeError('not an emulator state');
      state = next;
    },
    handle,
    stop: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

class BodyError extends Error {}
class BodyTooLarge extends BodyError {}

function readJsonBody(req: http.IncomingMessage, maxBytes: number): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > maxBytes) {
        reject(new BodyTooLarge(`Request body exceeds ${maxBytes} bytes`));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.on('error', reject);
    req.on('close', () => {
      if (!req.complete) reject(new BodyError('connection closed before the body was complete'));
    });
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8').trim();
      if (text === '') return resolve(undefined);
      try {
        resolve(JSON.parse(text));
      } catch {
        reject(new BodyError('Request body is not valid JSON'));
      }
    });
  });
}

function decodeSegments(path: string): string[] | undefined {
  try {
    return path
      .split('/')
      .slice(1)
      .map((s) => decodeURIComponent(s));
  } catch {
    return undefined;
  }
}

function sendJson(res: http.ServerResponse, status: number, json: unknown): void {
  const text = JSON.stringify(json);
  res.writeHead(status, { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(text) }).end(text);
}

function sendJsonError(res: http.ServerResponse, status: number, message: string, errors?: ApiFailure['errors']): void {
  sendJson(res, status, { code: status, message, ...(errors ? { errors } : {}) });
}

function sendText(res: http.ServerResponse, status: number, text: string): void {
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': Buffer.byteLength(text) }).end(text);
}
