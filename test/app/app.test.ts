import type { AddressInfo } from 'node:net';
import { createApp, createHttpServer } from '../../src/app';
import { createLogger } from '../../src/log';

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
