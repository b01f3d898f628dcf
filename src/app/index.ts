import http from 'node:http';
import express, { type Express, type Router } from 'express';
import type { Logger } from '../log';
import { HttpError, jsonErrorEdge } from './http-errors';
import { DependencyProbe, probeRoutes, type ReadinessCheck } from './probes';

/**
 * The HTTP surface: the probes (./probes.ts) plus the routers each part contributes (SCIM,
 * admin API, console, SAML, metrics). Parts hand over ready routers; this file only mounts them.
 * The error table every surface but SCIM answers from is ./http-errors.ts.
 */

export { HttpError, httpErrorAnswer, jsonErrorEdge, logHttpError } from './http-errors';
export { clientIp, limitRequests, RateLimitedError } from './rate-limits';
export { DependencyProbe, type DependencyReport, type ReadinessCheck } from './probes';

export interface Mount {
  path: string;
  router: Router | express.RequestHandler;
}

/**
 * The routes one listener answers, by path prefix; every other path answers 404 as if it did
 * not exist. With INTERNAL_PORT the daemon has two listeners, each with its scope.
 */
export interface ListenerScope {
  serves: readonly string[];
  /** Prefixes inside `serves` that this listener still does not answer. */
  except?: readonly string[];
}

export interface AppDeps {
  logger: Logger;
  /**
   * What `GET /readyz` checks: a DependencyProbe, or named checks every one of which must pass.
   * `GET /healthz` always answers while the process runs.
   */
  readiness: DependencyProbe | Record<string, ReadinessCheck>;
  mounts: Mount[];
  /** Answer only these paths. @defaultValue every path */
  scope?: ListenerScope;
}

const underPrefix = (path: string, prefix: string) => path === prefix || path.startsWith(prefix.endsWith('/') ? prefix : `${prefix}/`);

export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('trust proxy', 'loopback');
  // Entra and Okta send spaces in filters as '+' or '%20'; the simple parser decodes both.
  app.set('query parser', 'simple');

  const { scope } = deps;
  if (scope) {
    app.use((req, _res, next) => {
      const inScope = scope.serves.some((p) => underPrefix(req.path, p)) && !(scope.except ?? []).some((p) => underPrefix(req.path, p));
      next(inScope ? undefined : new HttpError(404, 'not_found', 'no such route'));
    });
  }

  const probe = deps.readiness instanceof DependencyProbe ? deps.readiness : new DependencyProbe({ required: deps.readiness });
  app.use(probeRoutes(probe));

  for (const mount of deps.mounts) app.use(mount.path, mount.router);

  app.use((_req, _res, next) => next(new HttpError(404, 'not_found', 'no such route')));

  // Last resort: errors of a router that mounts no edge of its own. Never a stack on the wire.
  app.use(jsonErrorEdge(deps.logger, 'unhandled request error'));
  return app;
}

/**
 * The HTTP server for an app made by createApp. Express gives every request and response its
 * prototypes with `Object.setPrototypeOf` as it enters the app; on V8 that made each request's
 * objects outlive the young generation (long scavenge pauses, which set the SCIM PATCH tail in
 * BENCHMARKS.md). Here the server builds them from classes
 * whose prototypes already are the app's `request`/`response`, so Express's swap changes
 * nothing and little survives a scavenge. `app.request`/`app.response` remain the objects
 * to extend, as Express documents.
 */
export function createHttpServer(app: Express): http.Server {
  class AppRequest extends http.IncomingMessage {}
  class AppResponse extends http.ServerResponse {}
  Object.setPrototypeOf(AppRequest.prototype, app.request);
  Object.setPrototypeOf(AppResponse.prototype, app.response);
  app.request = AppRequest.prototype as typeof app.request;
  app.response = AppResponse.prototype as typeof app.response;
  // An idle keep-alive socket is closed by the client, never by us: a server that closes first
  // races a client reusing the socket (ECONNRESET on a busy machine), and load balancers keep
  // idle connections up to 60 s by default, so the server waits longer than they do.
  return http.createServer(
    { IncomingMessage: AppRequest, ServerResponse: AppResponse, keepAliveTimeout: IDLE_KEEP_ALIVE_MS, headersTimeout: IDLE_KEEP_ALIVE_MS + 1000 },
    app,
  );
}

const IDLE_KEEP_ALIVE_MS = 65_000;
