import http from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { AddressInfo } from 'node:net';
import { repoRoot } from './paths';

/**
 * The peer: Ory Polis directory sync (npm `@boxyhq/saml-jackson`, installed only in bench/'s
 * own package.json), embedded as its docs describe — `controllers(opts)` then
 * `directorySyncController.requests.handle(request)` — behind a plain node:http server that
 * turns each SCIM HTTP request into that call, the way its Next.js API route does. It stores
 * in Postgres through TypeORM on the same server as the daemon. Run as a child process:
 * env PEER_DATABASE_URL, PORT; prints one JSON line `{port, base, token}` when ready.
 */

interface JacksonDirectorySync {
  directories: {
    create(params: { name: string; tenant: string; product: string; type: string }): Promise<{
      data: { id: string; scim: { secret: string } } | null;
      error: { message: string } | null;
    }>;
  };
  requests: {
    handle(request: {
      method: string;
      body: unknown;
      directoryId: string;
      resourceType: string;
      resourceId: string | undefined;
      apiSecret: string | null;
      query: { count?: number; startIndex?: number; filter?: string };
    }): Promise<{ status: number; data: unknown }>;
  };
}

type JacksonFactory = (opts: Record<string, unknown>) => Promise<{ directorySyncController: JacksonDirectorySync; close(): Promise<void> }>;

export function loadJackson(): JacksonFactory {
  const requireFromBench = createRequire(path.join(repoRoot(), 'bench', 'package.json'));
  try {
    const mod = requireFromBench('@boxyhq/saml-jackson') as { default: JacksonFactory };
    return mod.default;
  } catch {
    throw new Error('the peer is not installed: run `npm install --prefix bench`');
  }
}

async function main(): Promise<void> {
  const databaseUrl = process.env.PEER_DATABASE_URL;
  if (!databaseUrl) throw new Error('PEER_DATABASE_URL is unset');
  const quiet = () => undefined;
  const jackson = await loadJackson()({
    externalUrl: 'http://127.0.0.1',
    samlPath: '/sso/acs',
    db: { engine: 'sql', type: 'postgres', url: databaseUrl },
    noAnalytics: true,
    // Its per-write "webhook not configured" warning would otherwise cost it console I/O.
    logger: { info: quiet, warn: quiet, error: (msg: string) => process.stderr.write(`${msg}\n`) },
  });
  const dsync = jackson.directorySyncController;
  const created = await dsync.directories.create({ name: 'bench', tenant: 'acme', product: 'pulumi', type: 'okta-scim-v2' });
  if (!created.data) throw new Error(`peer directory: ${created.error?.message}`);
  const { id: directoryId, scim } = created.data;

  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const url = new URL(req.url ?? '/', 'http://peer.invalid');
      const match = /^\/scim\/v2\/(Users|Groups)(?:\/([^/]+))?$/.exec(url.pathname);
      if (!match) {
        res.writeHead(404).end();
        return;
      }
      let body: unknown;
      try {
        body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString('utf8')) : undefined;
      } catch {
        res.writeHead(400, { 'content-type': 'application/scim+json' }).end('{"detail":"bad json"}');
        return;
      }
      const count = url.searchParams.get('count');
      const startIndex = url.searchParams.get('startIndex');
      const bearer = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      dsync.requests
        .handle({
          method: req.method ?? 'GET',
          body,
          directoryId,
          resourceType: match[1].toLowerCase(),
          resourceId: match[2],
          apiSecret: bearer ? bearer[1] : null,
          query: {
            filter: url.searchParams.get('filter') ?? undefined,
            count: count ? Number(count) : undefined,
            startIndex: startIndex ? Number(startIndex) : undefined,
          },
        })
        .then(
          ({ status, data }) => {
            const text = JSON.stringify(data ?? {});
            res.writeHead(status, { 'content-type': 'application/scim+json', 'content-length': Buffer.byteLength(text) }).end(text);
          },
          () => res.writeHead(500).end(),
        );
    });
  });
  server.keepAliveTimeout = 30_000;
  const port = Number(process.env.PORT ?? 0);
  await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
  const actual = (server.address() as AddressInfo).port;
  process.stdout.write(`${JSON.stringify({ port: actual, base: `http://127.0.0.1:${actual}/scim/v2`, token: scim.secret })}\n`);
  process.on('SIGTERM', () => {
    server.close();
    server.closeAllConnections();
    void jackson.close().finally(() => process.exit(0));
  });
}

if (require.main === module) {
  main().catch((err: unknown) => {
    process.stderr.write(`peer failed: ${(err as Error).message}\n`);
    process.exit(1);
  });
}
