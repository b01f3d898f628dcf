import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { entryCommand, repoRoot } from '../helpers/stack/paths';
import { freePort, startNodeProcess, startPrivateRedis, tailLog, waitFor, type NodeProcess, type PrivateRedis } from '../helpers/stack/processes';
import { SCIM_GROUP, ScimClient } from '../helpers/stack/scim-client';

/**
 * `npm start` with no DATABASE_URL (the embedded Postgres), stopped the ways a person stops it:
 * Ctrl-C in the terminal (SIGINT to the whole foreground process group, npm included, which
 * forwards its own copy), `kill <npm's pid>`, SIGTERM from an orchestrator, and a second Ctrl-C
 * when the first is taking its time. The embedded Postgres runs in its own process group, so
 * it is stopped by the daemon, last, and never by the terminal.
 *
 * One data directory serves every case (initdb runs once). Waits are on conditions; the bounds
 * are generous because `npm start` compiles first when dist/ is missing or stale.
 */

const START_TIMEOUT_MS = 400_000;
const STOP_TIMEOUT_MS = 90_000;

let redis: PrivateRedis;
let workDir: string;
let dataDir: string;
const leftover: Array<{ kill(): void }> = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-embedded-signals-'));
  dataDir = path.join(workDir, 'data');
  // As root, the embedded Postgres runs as a 'postgres' user that must enter this directory.
  fs.chmodSync(workDir, 0o755);
});

afterAll(async () => {
  for (const process of leftover) process.kill();
  const postmaster = postmasterPid();
  if (postmaster !== undefined && alive(postmaster)) {
    process.kill(postmaster, 'SIGINT');
    await waitFor('leftover postgres to stop', async () => !alive(postmaster), STOP_TIMEOUT_MS);
  }
  await redis.stop();
  fs.rmSync(workDir, { recursive: true, force: true });
}, STOP_TIMEOUT_MS * 2);

function postmasterPid(): number | undefined {
  try {
    return Number(fs.readFileSync(path.join(dataDir, 'postgres', 'postmaster.pid'), 'utf8').split('\n')[0]);
  } catch {
    return undefined;
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function daemonEnv(): Promise<{ env: Record<string, string>; url: string; scimToken: string }> {
  const port = await freePort();
  const scimToken = `scim-${port}-signals`;
  return {
    url: `http://127.0.0.1:${port}`,
    scimToken,
    env: {
      PORT: String(port),
      HOST: '127.0.0.1',
      DATA_DIR: dataDir,
      EMBEDDED_PG_PORT: String(await freePort()),
      REDIS_URL: redis.url,
      SCIM_BEARER_TOKEN: scimToken,
      LOG_LEVEL: 'info',
    },
  };
}

async function readyAt(url: string, exited: () => boolean, logFile: string): Promise<void> {
  await waitFor(
    'daemon /readyz',
    async () => {
      if (exited()) throw new Error(`daemon exited during start-up:\n${tailLog(logFile)}`);
      return (await fetch(`${url}/readyz`)).ok;
    },
    START_TIMEOUT_MS,
    250,
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n${tailLog(logFile)}`);
  });
}

/** `npm start` as a person runs it, in a process group of its own as a terminal would make it. */
function npmStart(env: Record<string, string>): { npm: ChildProcess; exited: Promise<number | string>; logFile: string } {
  const logFile = path.join(workDir, `npm-start-${Date.now()}.log`);
  const log = fs.openSync(logFile, 'a');
  const npm = spawn('npm', ['start'], {
    cwd: repoRoot(),
    detached: true,
    stdio: ['ignore', log, log],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
  });
  fs.closeSync(log);
  const exited = new Promise<number | string>((resolve) => npm.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  leftover.push({ kill: () => npm.exitCode === null && alive(-(npm.pid ?? 0)) && process.kill(-(npm.pid ?? 0), 'SIGKILL') });
  return { npm, exited, logFile };
}

function childrenOf(pid: number): number[] {
  try {
    return execFileSync('ps', ['-o', 'pid=', '--ppid', String(pid)], { encoding: 'utf8' })
      .split('\n')
      .filter(Boolean)
      .map(Number);
  } catch {
    return [];
  }
}

/** The Postgres server log lines that say it was asked to stop. */
function shutdownRequests(): number {
  const log = fs.readFileSync(path.join(dataDir, 'postgres.log'), 'utf8');
  return (log.match(/received fast shutdown request/g) ?? []).length;
}

const STACK_TRACE = /\n\s+at /;

it(
  'keeps serving after SIGHUP and stops Postgres last on SIGTERM, exiting 0',
  async () => {
    const { env, url } = await daemonEnv();
    const daemon: NodeProcess = startNodeProcess('src/main.js', env, 'embedded-signals', 'source');
    leftover.push({ kill: () => void daemon.kill() });
    await readyAt(url, () => daemon.child.exitCode !== null, daemon.logFile);

    daemon.child.kill('SIGHUP');
    await waitFor('the reload to be logged', async () => fs.readFileSync(daemon.logFile, 'utf8').includes('SIGHUP: reloading the policy'), STOP_TIMEOUT_MS);
    expect(daemon.child.exitCode).toBeNull();
    expect((await fetch(`${url}/readyz`)).status).toBe(200);

    daemon.child.kill('SIGTERM');
    expect(await daemon.exited).toBe(0);
    const log = fs.readFileSync(daemon.logFile, 'utf8');
    // The relay's connection ended with the pool, not by Postgres shutting down under it.
    expect(log).not.toContain('LISTEN connection lost');
    // A cleanly stopped cluster removes its lock file.
    expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
    fs.rmSync(daemon.logFile, { force: true });
  },
  START_TIMEOUT_MS,
);

it(
  'Ctrl-C on `npm start` (SIGINT to the whole group) while a SCIM change reconciles: exit 0, Postgres stopped last, no stack trace',
  async () => {
    const { env, url, scimToken } = await daemonEnv();
    const { npm, exited, logFile } = npmStart(env);
    await readyAt(url, () => npm.exitCode !== null, logFile);
    const postmaster = postmasterPid();
    expect(postmaster).toBeDefined();
    const requestsBefore = shutdownRequests();

    // A team the demo org can fill (the policy maps 'Platform Engineers'; alice is a demo login).
    const scim = new ScimClient(`${url}/scim/v2`, scimToken);
    const alice = await scim.request<{ id: string }>('POST', '/Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: 'alice',
      active: true,
    });
    expect(alice.status).toBe(201);
    const group = await scim.request('POST', '/Groups', { schemas: [SCIM_GROUP], displayName: 'Platform Engineers', members: [{ value: alice.body.id }] });
    expect(group.status).toBe(201);

    process.kill(-(npm.pid ?? 0), 'SIGINT');
    expect(await exited).toBe(0);
    await waitFor('the embedded postgres to stop', async () => postmaster !== undefined && !alive(postmaster), STOP_TIMEOUT_MS);
    const log = fs.readFileSync(logFile, 'utf8');
    // One Ctrl-C, delivered twice (the terminal's and npm's copy), is one ordered shutdown.
    expect(log.match(/"message":"shutting down"/g)).toHaveLength(1);
    expect(log).not.toContain('second Ctrl-C');
    expect(log).not.toMatch(STACK_TRACE);
    expect(log).not.toContain('LISTEN connection lost');
    expect(log).not.toMatch(/terminating connection due to administrator command|Connection terminated unexpectedly/);
    // Postgres was asked to stop once, by the daemon (not by the terminal's SIGINT, which it never got).
    expect(shutdownRequests()).toBe(requestsBefore + 1);
  },
  START_TIMEOUT_MS,
);

it(
  "`kill <npm's pid>` stops the daemon and its Postgres",
  async () => {
    const { env, url } = await daemonEnv();
    const { npm, exited, logFile } = npmStart(env);
    await readyAt(url, () => npm.exitCode !== null, logFile);
    const postmaster = postmasterPid();
    // npm runs `exec node …`: its one child is the daemon itself.
    const daemons = childrenOf(npm.pid ?? 0);
    expect(daemons).toHaveLength(1);

    process.kill(npm.pid ?? 0, 'SIGTERM');
    expect(await exited).toBe(0);
    await waitFor('the daemon and its postgres to stop', async () => !alive(daemons[0]) && postmaster !== undefined && !alive(postmaster), STOP_TIMEOUT_MS);
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
    expect(fs.readFileSync(logFile, 'utf8')).toContain('"signal":"SIGTERM"');
  },
  START_TIMEOUT_MS,
);

it(
  'a second Ctrl-C exits at once, and Postgres still gets its fast shutdown',
  async () => {
    const { env, url } = await daemonEnv();
    const logFile = path.join(workDir, 'second-ctrl-c.log');
    const log = fs.openSync(logFile, 'a');
    const daemon = spawn(process.execPath, entryCommand('src/main.js', 'source'), {
      cwd: repoRoot(),
      detached: true,
      stdio: ['ignore', log, log],
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    });
    fs.closeSync(log);
    leftover.push({ kill: () => daemon.exitCode === null && daemon.kill('SIGKILL') });
    const exited = new Promise<number | string>((resolve) => daemon.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
    await readyAt(url, () => daemon.exitCode !== null, logFile);
    const postmaster = postmasterPid();

    // A request that never finishes arriving holds the HTTP drain, the first step of the ordered
    // shutdown, for its full 5 s deadline.
    const pending = net.connect(Number(env.PORT), '127.0.0.1');
    pending.on('error', () => undefined);
    await new Promise<void>((resolve) => pending.once('connect', () => resolve()));
    pending.write('GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n');

    process.kill(-(daemon.pid ?? 0), 'SIGINT');
    await waitFor('the shutdown to start', async () => fs.readFileSync(logFile, 'utf8').includes('"message":"shutting down"'), STOP_TIMEOUT_MS);
    // Past the window in which a second SIGINT is npm's copy of the first (src/main.ts).
    await new Promise((r) => setTimeout(r, 1_500));
    process.kill(-(daemon.pid ?? 0), 'SIGINT');
    expect(await exited).toBe(130);
    pending.destroy();
    await waitFor('the embedded postgres to stop', async () => postmaster !== undefined && !alive(postmaster), STOP_TIMEOUT_MS);
    expect(fs.readFileSync(logFile, 'utf8')).toContain('second Ctrl-C');
  },
  START_TIMEOUT_MS,
);
