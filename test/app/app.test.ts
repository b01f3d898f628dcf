import type http from 'node:http';
import type { AddressInfo } from 'node:net';
import express from 'express';
import { z } from 'zod';
import { createApp, createHttpServer } from '../../src/app';
import { createLogger } from '../../src/log';
import { QueueUnavailableError } from '../../src/queue';
import { TokenError } from '../../src/tokens';

/**
 * createHttpServer builds requests and responses that already have the app's prototypes, so
 * Express's per-request `setPrototypeOf` changes nothing (the cause of the SCIM PATCH tail in
 * BENCHMARKS.md) — and Express's request and response API still works on them.
 */
describe('createHttpServer', () => {
  it('serves Express requests whose prototypes already are the app request and response', async () => {
    const seen: { header?: string; query?: unknown }[] = [];
    const app = createApp({
      logger: createLogger({ silent: true }),
      readiness: {},
      mounts: [
        {
          path: '/probe',
          router: (req, res) => {
            seen.push({ header: req.get('x-probe'), query: req.query.q });
            res.set('ETag', 'W/"7"').status(201).json({ ok: true });
          },
        },
      ],
    });
    const server = createHttpServer(app);
    // As the request arrives, before Express sees it.
    const arrived: boolean[] = [];
    server.prependListener('request', (req, res) => {
      arrived.push(Object.getPrototypeOf(req) === app.request && Object.getPrototypeOf(res) === app.response);
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      for (let i = 0; i < 2; i++) {
        const res = await fetch(`http://127.0.0.1:${port}/probe?q=${i}`, { headers: { 'x-probe': `p${i}` } });
        expect(res.status).toBe(201);
        expect(res.headers.get('etag')).toBe('W/"7"');
        expect(await res.json()).toEqual({ ok: true });
      }
      expect((await fetch(`http://127.0.0.1:${port}/healthz`)).status).toBe(200);
      expect(arrived).toEqual([true, true, true]);
      expect(seen).toEqual([
        { header: 'p0', query: '0' },
        { header: 'p1', query: '1' },
      ]);
    } finally {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});

/** The outer edge answers every error a router leaves to it from the one table, as JSON. */
describe('createApp error edge', () => {
  let server: http.Server;
  let base: string;
  beforeAll(async () => {
    const router = express.Router();
    router.get('/token', () => {
      throw new TokenError('unknown_team', 'team "nope" is not managed by this daemon');
    });
    router.get('/query', (req) => void z.strictObject({ limit: z.coerce.number().int().min(1) }).parse(req.query));
    router.post('/json', express.json({ limit: '1kb' }), (_req, res) => void res.status(204).end());
    router.get('/queue', () => {
      throw new QueueUnavailableError('cannot enqueue: Redis did not answer within 2000 ms');
    });
    router.get('/bug', () => {
      throw new Error('secret internals at /srv/app.ts:12');
    });
    server = createHttpServer(createApp({ logger: createLogger({ silent: true }), readiness: {}, mounts: [{ path: '/t', router }] }));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  });

  const call = async (path: string, init?: RequestInit) => {
    const res = await fetch(`${base}${path}`, init);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };
  const postJson = (body: string) => call('/t/json', { method: 'POST', headers: { 'content-type': 'application/json' }, body });

  it.each([
    ['a domain error', '/t/token', 404, 'unknown_team'],
    ['a zod error', '/t/query?limit=0', 400, 'invalid_request'],
    ['an unavailable queue', '/t/queue', 503, 'queue_unavailable'],
    ['an unknown route', '/nowhere', 404, 'not_found'],
  ])('answers %s with its status and code', async (_name, path, status, error) => {
    expect(await call(path)).toMatchObject({ status, body: { error, message: expect.any(String) } });
  });

  it('names the fields of a bad request', async () => {
    expect((await call('/t/query?limit=0&colour=blue')).body.details).toEqual([expect.stringMatching(/^limit: /), expect.stringMatching(/colour/)]);
  });

  it('answers unreadable and oversized bodies as bad requests', async () => {
    expect(await postJson('{"team":')).toEqual({ status: 400, body: { error: 'invalid_request', message: 'request body is not valid JSON' } });
    expect(await postJson(JSON.stringify({ pad: 'x'.repeat(2048) }))).toEqual({
      status: 413,
      body: { error: 'invalid_request', message: 'request body is too large' },
    });
  });

  it('answers a fault of its own with 500 and nothing from inside the process', async () => {
    expect(await call('/t/bug')).toEqual({ status: 500, body: { error: 'internal_error', message: 'internal error' } });
  });
});
