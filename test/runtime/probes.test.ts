import net from 'node:net';
import { parsePrometheusText, sampleValue } from '../metrics/prometheus-text';
import { createTestDatabase, type TestDatabase } from '../helpers/db';
import { seedFor } from '../helpers/stack/directory';
import { freePort, waitFor } from '../helpers/stack/processes';
import { AdminClient, benchPolicy, startStack, type Stack } from '../helpers/stack/stack';

/**
 * The daemon's probes and listeners (docs/operations.md, "Probes" and "What to expose"), on a
 * real daemon process started with INTERNAL_PORT:
 *
 * - the public port serves only /scim/v2, /auth, /console and /healthz; /metrics, /readyz and
 *   /api/v1 answer on the internal port;
 * - with Pulumi unreachable (the emulator stopped) /readyz stays 200 and SCIM writes succeed;
 * - with Postgres unreachable /readyz answers 503, naming postgres, with no error text.
 *
 * The daemon reaches its own database through a TCP proxy the test closes: the machine's shared
 * Postgres, which other test files use, is never stopped.
 */

const WAIT_MS = 120_000;

interface TcpProxy {
  port: number;
  /** Refuses new connections and cuts the open ones. */
  close(): Promise<void>;
}

async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    const upstream = net.connect(target.port, target.host);
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('close', () => sockets.delete(socket));
      socket.on('error', () => undefined);
    }
    client.pipe(upstream).pipe(client);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const socket of sockets) socket.destroy();
      }),
  };
}

type Readyz = { status: string; checks: Record<string, { ok: boolean; required: boolean }> };

let database: TestDatabase;
let proxy: TcpProxy;
let stack: Stack;
let internal: string;

beforeAll(
  async () => {
    database = await createTestDatabase();
    const direct = new URL(database.url);
    proxy = await startTcpProxy({ host: direct.hostname, port: Number(direct.port || 5432) });
    const proxied = new URL(database.url);
    proxied.hostname = '127.0.0.1';
    proxied.port = String(proxy.port);
    const internalPort = await freePort();
    internal = `http://127.0.0.1:${internalPort}`;
    stack = await startStack({
      label: 'probes',
      seed: seedFor({ users: 2, groups: 1, memberships: 2 }),
      policy: benchPolicy(),
      pulumiLatencyMs: 0,
      mode: 'source',
      databaseUrl: proxied.toString(),
      env: { INTERNAL_PORT: String(internalPort) },
    });
    await waitFor('internal /readyz', async () => (await fetch(`${internal}/readyz`)).ok, WAIT_MS, 200);
  },
  180_000 + WAIT_MS + 60_000,
);

afterAll(async () => {
  await stack?.stop();
  await proxy?.close();
  await database?.drop();
});

const status = async (url: string, init?: RequestInit) => (await fetch(url, init)).status;
const readyz = async () => {
  const res = await fetch(`${internal}/readyz`);
  return { status: res.status, text: await res.text() };
};

it(
  'serves SCIM, sign-in, console and /healthz on the public port, and metrics, readiness and the admin API on the internal one',
  async () => {
    const scim = { headers: { authorization: `Bearer ${stack.env.SCIM_BEARER_TOKEN}` } };
    expect(await status(`${stack.daemonUrl}/healthz`)).toBe(200);
    expect(await status(`${stack.daemonUrl}/scim/v2/ServiceProviderConfig`, scim)).toBe(200);
    expect(await status(`${stack.daemonUrl}/console/login`)).not.toBe(404);
    expect(await status(`${stack.daemonUrl}/metrics`)).toBe(404);
    expect((await stack.admin.status()).status).toBe(404);
    expect(await status(`${stack.daemonUrl}/readyz`)).toBe(404);
    expect(await status(`${stack.daemonUrl}/console/admin/queues`)).toBe(404);

    const metrics = await fetch(`${internal}/metrics`);
    expect(metrics.status).toBe(200);
    expect(sampleValue(parsePrometheusText(await metrics.text()), 'idp_sync_build_info', { node_version: process.version })).toBe(1);
    expect((await new AdminClient(internal, stack.env.ADMIN_API_TOKEN).status()).status).toBe(200);
    expect(await status(`${internal}/healthz`)).toBe(200);
    expect(await status(`${internal}/scim/v2/ServiceProviderConfig`, scim)).toBe(404);
    expect(await status(`${internal}/console/login`)).toBe(404);
  },
  WAIT_MS,
);

it(
  "samples the daemon's figures into the charts' history in Postgres",
  async () => {
    // Levels are written at every sample (every 30 s), counts only when they grew.
    await waitFor(
      'a metrics_history sample',
      async () => Boolean(await database.db('metrics_history').where({ series: 'outbox_depth', merge: 'max' }).first()),
      WAIT_MS,
      500,
    );
    const levels: string[] = await database.db('metrics_history').where({ merge: 'max' }).distinct().pluck('series');
    expect(levels).toEqual(expect.arrayContaining(['outbox_depth', 'outbox_age_seconds', 'queue_waiting']));
  },
  WAIT_MS + 10_000,
);

it(
  'stays ready and takes SCIM writes while Pulumi is unreachable',
  async () => {
    await stack.emulator.stop();
    await waitFor('/readyz reports Pulumi down', async () => !(JSON.parse((await readyz()).text) as Readyz).checks.pulumi.ok, WAIT_MS, 200);
    const answer = await readyz();
    expect(answer.status).toBe(200);
    expect(JSON.parse(answer.text)).toEqual({
      status: 'ready',
      checks: { postgres: { ok: true, required: true }, redis: { ok: true, required: false }, pulumi: { ok: false, required: false } },
    });

    const created = await stack.scim.request('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'while-pulumi-down@example.com',
      active: true,
    });
    expect(created.status).toBe(201);
    const families = parsePrometheusText(await (await fetch(`${internal}/metrics`)).text());
    expect(sampleValue(families, 'idp_sync_dependency_up', { dependency: 'pulumi' })).toBe(0);
    expect(sampleValue(families, 'idp_sync_dependency_up', { dependency: 'postgres' })).toBe(1);
  },
  WAIT_MS,
);

it(
  'is not ready while Postgres does not answer, and names it without error text or hosts',
  async () => {
    await proxy.close();
    await waitFor('/readyz 503', async () => (await readyz()).status === 503, WAIT_MS, 200);
    const answer = await readyz();
    const body = JSON.parse(answer.text) as Readyz;
    expect(body.status).toBe('not ready');
    expect(body.checks.postgres).toEqual({ ok: false, required: true });
    expect(answer.text).not.toMatch(/127\.0\.0\.1|ECONN|connect|timeout|error/i);
    expect(await status(`${stack.daemonUrl}/healthz`)).toBe(200);
  },
  WAIT_MS,
);
