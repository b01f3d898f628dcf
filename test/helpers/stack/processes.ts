import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, createWriteStream, mkdtempSync, readFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Redis } from 'ioredis';
import { entryCommand, repoRoot, type DistEntry } from './paths';

/**
 * Child processes for benchmarks and chaos tests: a private redis-server (never the machine's
 * shared one, which other test files use), and the daemon or a worker as `node dist/...`,
 * each a real process that can be SIGKILLed and whose peak RSS the kernel reports.
 */

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

export async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs: number, everyMs = 50): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      if (await probe()) return;
    } catch {
      // not yet
    }
    if (Date.now() > deadline) throw new Error(`${what}: not ready within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

export interface PrivateRedis {
  url: string;
  port: number;
  /** Stops the server (SIGTERM) and waits for it to exit. */
  stop(): Promise<void>;
  /** Starts it again on the same port (after `stop`). */
  start(): Promise<void>;
}

export async function startPrivateRedis(): Promise<PrivateRedis> {
  const port = await freePort();
  let child: ChildProcess | undefined;
  const url = `redis://127.0.0.1:${port}`;

  async function start(): Promise<void> {
    child = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--maxmemory-policy', 'noeviction', '--loglevel', 'warning'],
      { stdio: 'ignore' },
    );
    const probe = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null, enableOfflineQueue: false });
    probe.on('error', () => undefined);
    try {
      await waitFor(
        'private redis',
        async () => {
          if (probe.status !== 'ready') await probe.connect().catch(() => undefined);
          return (await probe.ping()) === 'PONG';
        },
        10_000,
      );
    } finally {
      probe.disconnect();
    }
  }

  async function stop(): Promise<void> {
    const running = child;
    child = undefined;
    if (!running || running.exitCode !== null) return;
    await new Promise<void>((resolve) => {
      running.once('exit', () => resolve());
      running.kill('SIGTERM');
    });
  }

  await start();
  return { url, port, start, stop };
}

export interface NodeProcess {
  pid: number;
  child: ChildProcess;
  logFile: string;
  /** Peak resident set size so far (kernel VmHWM), bytes; NaN once the process is gone. */
  peakRssBytes(): number;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves with the exit code or signal. */
  stop(graceMs?: number): Promise<number | string>;
  kill(): Promise<number | string>;
  exited: Promise<number | string>;
}

/**
 * Runs a compiled entry (`npm run build` first) with the given environment, output to a log file.
 * BENCH_CHILD_NODE_ARGS are passed to the child's node (e.g. `--cpu-prof --cpu-prof-dir=/tmp/p` to profile it).
 */
export function startNodeProcess(entry: DistEntry, env: Record<string, string>, name: string, mode: 'dist' | 'source' = 'dist'): NodeProcess {
  const logFile = path.join(os.tmpdir(), `pulumi-idp-sync-${name}-${process.pid}-${Date.now()}.log`);
  const log = createWriteStream(logFile);
  const child = spawn(process.execPath, [...(process.env.BENCH_CHILD_NODE_ARGS?.split(' ').filter(Boolean) ?? []), ...entryCommand(entry, mode)], {
    cwd: repoRoot(),
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout?.pipe(log);
  child.stderr?.pipe(log);
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown'));
  });
  const pid = child.pid ?? -1;
  return {
    pid,
    child,
    logFile,
    exited,
    peakRssBytes() {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
        return m ? Number(m[1]) * 1024 : Number.NaN;
      } catch {
        return Number.NaN;
      }
    },
    async stop(graceMs = 15_000) {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
        const result = await exited;
        clearTimeout(timer);
        return result;
      }
      return exited;
    },
    async kill() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      return exited;
    },
  };
}

/** The last lines of a child's log, for error messages. */
export function tailLog(file: string, lines = 30): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Starts a compiled entry that prints one JSON line when ready, and returns that line. */
export async function startAnnouncingProcess<T>(
  entry: DistEntry,
  env: Record<string, string>,
  name: string,
  timeoutMs = 60_000,
  mode: 'dist' | 'source' = 'dist',
): Promise<{ process: NodeProcess; announced: T }> {
  const proc = startNodeProcess(entry, env, name, mode);
  const announced = await new Promise<T>((resolve, reject) => {
    let buffered = '';
    const timer = setTimeout(() => reject(new Error(`${name}: no start-up line within ${timeoutMs} ms:\n${tailLog(proc.logFile)}`)), timeoutMs);
    proc.child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString('utf8');
      const newline = buffered.indexOf('\n');
      if (newline < 0) return;
      clearTimeout(timer);
      try {
        resolve(JSON.parse(buffered.slice(0, newline)) as T);
      } catch {
        reject(new Error(`${name}: bad start-up line: ${buffered.slice(0, newline)}`));
      }
    });
    void proc.exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`${name} exited (${code}) during start-up:\n${tailLog(proc.logFile)}`));
    });
  });
  return { process: proc, announced };
}

export interface PrivatePostgres {
  /** Connection string of the cluster's database. */
  url: string;
  /** Stops the cluster (fast shutdown) and waits for it. */
  stop(): Promise<void>;
  /** Starts it again on the same data directory and port. */
  start(): Promise<void>;
}

/** A private Postgres cluster on a free port in a temp directory, in a child process. */
export async function startPrivatePostgres(mode: 'dist' | 'source' = 'source'): Promise<PrivatePostgres> {
  const port = await freePort();
  const dir = mkdtempSync(path.join(os.tmpdir(), 'pis-private-pg-'));
  // As root, initdb runs as a 'postgres' user that must be able to enter this directory.
  chmodSync(dir, 0o755);
  let current: NodeProcess | undefined;
  let url = '';
  const start = async () => {
    const started = await startAnnouncingProcess<{ url: string }>(
      'test/helpers/stack/private-postgres.js',
      { PRIVATE_PG_DIR: dir, PRIVATE_PG_PORT: String(port) },
      'private-pg',
      120_000,
      mode,
    );
    current = started.process;
    url = started.announced.url;
  };
  await start();
  return {
    get url() {
      return url;
    },
    start,
    async stop() {
      await current?.stop(30_000);
      current = undefined;
    },
  };
}
