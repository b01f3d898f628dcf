import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { generate } from 'selfsigned';
import { type Emulator, startEmulator } from '../../src/emulator';
import { createPulumiClient } from '../../src/pulumi';
import { repoRoot } from '../helpers/stack/paths';

/**
 * The Pulumi client goes through the proxy HTTPS_PROXY / HTTP_PROXY names unless NO_PROXY
 * exempts the host, keeping connections alive: a small forward proxy in this file (absolute-URI
 * requests for http, CONNECT tunnels for https) counts what it carries and on how many
 * connections. The variables are read when a client is made. The https case runs the client in
 * a child process that trusts the TLS front's certificate through NODE_EXTRA_CA_CERTS.
 */

const ORG = 'acme';
const PROXY_VARS = ['HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY', 'http_proxy', 'https_proxy', 'no_proxy'];

interface CountingProxy {
  url: string;
  /** Requests forwarded (absolute-URI form). */
  forwarded: number;
  /** CONNECT tunnels opened. */
  tunnels: number;
  /** Connections clients opened to the proxy. */
  connections: number;
  stop(): Promise<void>;
}

async function startCountingProxy(): Promise<CountingProxy> {
  const sockets = new Set<net.Socket>();
  const upstreamAgent = new http.Agent({ keepAlive: true });
  const server = http.createServer((req, res) => {
    counts.forwarded += 1;
    const upstream = http.request(req.url ?? '', { method: req.method, headers: req.headers, agent: upstreamAgent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    upstream.on('error', () => res.writeHead(502).end());
    req.pipe(upstream);
  });
  server.on('connection', (socket: net.Socket) => {
    counts.connections += 1;
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  server.on('connect', (req: http.IncomingMessage, client: net.Socket, head: Buffer) => {
    counts.tunnels += 1;
    const [host, port] = (req.url ?? '').split(':');
    const upstream = net.connect(Number(port), host, () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      upstream.write(head);
      upstream.pipe(client).pipe(upstream);
    });
    sockets.add(upstream);
    upstream.on('close', () => sockets.delete(upstream));
    upstream.on('error', () => client.destroy());
    client.on('error', () => upstream.destroy());
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const counts: CountingProxy = {
    url: `http://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    forwarded: 0,
    tunnels: 0,
    connections: 0,
    stop: () =>
      new Promise<void>((resolve) => {
        upstreamAgent.destroy();
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
  return counts;
}

/** The emulator behind TLS (a self-signed certificate), so https calls make CONNECT tunnels. */
async function startTlsFront(target: string): Promise<{ url: string; cert: string; stop(): Promise<void> }> {
  // For 'localhost' the certificate also names 127.0.0.1.
  const pems = await generate([{ name: 'commonName', value: 'localhost' }], { keySize: 2048, algorithm: 'sha256' });
  const agent = new http.Agent({ keepAlive: true });
  const server = https.createServer({ key: pems.private, cert: pems.cert }, (req, res) => {
    const upstream = http.request(`${target}${req.url}`, { method: req.method, headers: req.headers, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `https://127.0.0.1:${(server.address() as net.AddressInfo).port}`,
    cert: pems.cert,
    stop: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}

let emulator: Emulator;
let proxy: CountingProxy;
const saved = Object.fromEntries(PROXY_VARS.map((name) => [name, process.env[name]]));

beforeAll(async () => {
  emulator = await startEmulator({ seed: { members: ['alice'] }, org: ORG });
});

beforeEach(async () => {
  for (const name of PROXY_VARS) delete process.env[name];
  proxy = await startCountingProxy();
});

afterEach(async () => {
  await proxy.stop();
});

afterAll(async () => {
  for (const [name, value] of Object.entries(saved)) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  await emulator?.stop();
});

const client = (baseUrl: string) => createPulumiClient({ baseUrl, accessToken: emulator.accessToken, timeoutMs: 10_000 });

async function callSequentially(baseUrl: string, times: number): Promise<void> {
  const pulumi = client(baseUrl);
  for (let i = 0; i < times; i++) await pulumi.listTeams(ORG);
}

it('sends http calls through HTTP_PROXY, five calls on one kept-alive connection', async () => {
  process.env.HTTP_PROXY = proxy.url;
  await callSequentially(emulator.url, 5);
  expect(proxy.forwarded).toBe(5);
  expect(proxy.connections).toBe(1);
});

it('tunnels https calls through HTTPS_PROXY with CONNECT, one tunnel kept alive for five calls', async () => {
  const front = await startTlsFront(emulator.url);
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pis-proxy-'));
  try {
    // A child process, so that Node trusts the front's self-signed certificate the way an
    // operator makes it trust a corporate CA: NODE_EXTRA_CA_CERTS, read at start-up.
    writeFileSync(path.join(dir, 'ca.pem'), front.cert);
    const script = `
      const { createPulumiClient } = require(${JSON.stringify(path.join(repoRoot(), 'src', 'pulumi', 'index.ts'))});
      const pulumi = createPulumiClient({ baseUrl: ${JSON.stringify(front.url)}, accessToken: ${JSON.stringify(emulator.accessToken)}, timeoutMs: 10000 });
      (async () => { for (let i = 0; i < 5; i++) await pulumi.listTeams(${JSON.stringify(ORG)}); })()
        .then(() => process.exit(0), (err) => { console.error(err.message); process.exit(1); });`;
    const child = spawn(process.execPath, ['-r', path.join(repoRoot(), 'test', 'helpers', 'stack', 'register-ts.cjs'), '-e', script], {
      cwd: repoRoot(),
      env: { PATH: process.env.PATH ?? '', HTTPS_PROXY: proxy.url, NODE_EXTRA_CA_CERTS: path.join(dir, 'ca.pem') },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect({ code, stderr }).toEqual({ code: 0, stderr: '' });
    expect(proxy.tunnels).toBe(1);
    expect(proxy.forwarded).toBe(0);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    await front.stop();
  }
}, 60_000);

it('goes direct to a host NO_PROXY names, and when no proxy variable is set', async () => {
  process.env.HTTP_PROXY = proxy.url;
  process.env.NO_PROXY = 'localhost,127.0.0.1';
  await callSequentially(emulator.url, 2);
  delete process.env.HTTP_PROXY;
  delete process.env.NO_PROXY;
  await callSequentially(emulator.url, 2);
  expect(proxy.connections).toBe(0);
});
