import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startPrivateRedis } from './lib/processes';
import { repoRoot } from './lib/paths';
import { check, printTable, writeResult } from './lib/report';
import { summarize } from './lib/stats';

/**
 * Start-up on a built checkout, as a person runs it: `npm start` (zero-config: embedded
 * Postgres, built-in emulator) from the spawn of npm to the first 200 from /healthz, over
 * BENCH_STARTS restarts of one data directory (the first start, which runs initdb, is reported
 * on its own); then the CLI's `--help` through `npm run cli` and through the bin's file alone,
 * and the staleness check that both run first. Goals: /healthz < 5 s, CLI --help < 2 s. A bare
 * `node -e 0` is timed too, as the reference for how busy the machine was.
 *
 * Wall time moves with the machine's load (recorded with the figures); the CPU time the daemon
 * had used when /healthz answered (from /proc) and the CLI's CPU time (bash `times`) move much
 * less, and say what the start costs on an idle machine.
 *
 * Env: BENCH_STARTS (default 5), BENCH_CLI_RUNS (default 5). Uses a private redis-server.
 */

const STARTS = Number(process.env.BENCH_STARTS ?? 5);
const CLI_RUNS = Number(process.env.BENCH_CLI_RUNS ?? 5);
const READY_TIMEOUT_MS = 180_000;
const root = repoRoot();
const CLOCK_TICKS_PER_SECOND = 100;

function cpuSecondsOf(pid: number): number {
  try {
    const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1].split(' ');
    // utime and stime are fields 14 and 15 of stat(5); index 11 and 12 after the command name.
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_SECOND;
  } catch {
    return Number.NaN;
  }
}

async function untilHealthy(url: string, exited: () => boolean): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (exited()) throw new Error('npm start exited before /healthz answered');
    const ok = await fetch(`${url}/healthz`).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    if (Date.now() > deadline) throw new Error(`/healthz did not answer within ${READY_TIMEOUT_MS} ms`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** One `npm start`: ms to /healthz and the daemon's CPU seconds by then; stopped with SIGTERM to npm. */
async function timeStart(env: Record<string, string>, logFile: string): Promise<{ ms: number; daemonCpuS: number }> {
  const url = `http://127.0.0.1:${env.PORT}`;
  const log = fs.openSync(logFile, 'a');
  const started = performance.now();
  const npm = spawn('npm', ['start'], { cwd: root, stdio: ['ignore', log, log], env });
  fs.closeSync(log);
  const exited = new Promise<void>((resolve) => npm.once('exit', () => resolve()));
  await untilHealthy(url, () => npm.exitCode !== null);
  const ms = performance.now() - started;
  const daemon = Number(execFileSync('ps', ['-o', 'pid=', '--ppid', String(npm.pid)], { encoding: 'utf8' }).trim());
  const daemonCpuS = cpuSecondsOf(daemon);
  npm.kill('SIGTERM');
  await exited;
  return { ms, daemonCpuS };
}

/** Wall ms and CPU seconds (the children's user + sys, from bash `times`) of one command. */
function timeCommand(command: string, env: Record<string, string>): { ms: number; cpuS: number } {
  const started = performance.now();
  const result = spawnSync('bash', ['-c', `${command} >/dev/null 2>&1 || exit 1; times`], { cwd: root, env, encoding: 'utf8' });
  const ms = performance.now() - started;
  if (result.status !== 0) throw new Error(`${command} failed: ${result.stderr}`);
  // `times` prints the shell's own line, then its children's: "0m0.812s 0m0.200s".
  const children = result.stdout.trim().split('\n').at(-1) ?? '';
  const seconds = [...children.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0);
  return { ms, cpuS: seconds };
}

async function main(): Promise<void> {
  const loadBefore = os.loadavg().map((l) => Math.round(l * 100) / 100);
  const work = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-bench-startup-'));
  fs.chmodSync(work, 0o755); // as root, the embedded Postgres's user must enter it
  const redis = await startPrivateRedis();
  const logFile = path.join(work, 'npm-start.log');
  const env = async () => ({
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? os.tmpdir(),
    PORT: String(await freePort()),
    HOST: '127.0.0.1',
    DATA_DIR: path.join(work, 'data'),
    EMBEDDED_PG_PORT: String(await freePort()),
    REDIS_URL: redis.url,
  });
  try {
    const first = await timeStart(await env(), logFile);
    const restarts: Array<{ ms: number; daemonCpuS: number }> = [];
    for (let i = 0; i < STARTS; i++) restarts.push(await timeStart(await env(), logFile));

    const plainEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() };
    const runs = (command: string) => Array.from({ length: CLI_RUNS }, () => timeCommand(command, plainEnv));
    const npmCli = runs('npm run cli -- --help');
    const bin = runs('node dist/src/cli/main.js --help');
    const staleCheck = runs('node scripts/build-if-stale.js');
    const bareNode = runs('node -e 0');

    const startMs = summarize(restarts.map((r) => r.ms));
    const rows = [
      { what: 'npm start → /healthz, first start (initdb)', n: 1, p50_ms: first.ms, max_ms: first.ms, cpu_s: first.daemonCpuS },
      { what: 'npm start → /healthz, restart', n: STARTS, p50_ms: startMs.p50, max_ms: startMs.max, cpu_s: summarize(restarts.map((r) => r.daemonCpuS)).p50 },
      ...(
        [
          ['npm run cli -- --help', npmCli],
          ['bin: node dist/src/cli/main.js --help', bin],
          ['node scripts/build-if-stale.js (built)', staleCheck],
          ['node -e 0 (reference: what the machine makes of a bare node start)', bareNode],
        ] as const
      ).map(([what, samples]) => {
        const wall = summarize(samples.map((s) => s.ms));
        return { what, n: samples.length, p50_ms: wall.p50, max_ms: wall.max, cpu_s: summarize(samples.map((s) => s.cpuS)).p50 };
      }),
    ];
    printTable('start-up on a built checkout (cpu_s: the daemon when /healthz answered; the command and its children for the others)', rows);
    const goals = [
      check('npm start → /healthz p50 < 5 s (built checkout)', startMs.p50, (v) => v < 5_000),
      check('npm run cli -- --help p50 < 2 s', summarize(npmCli.map((s) => s.ms)).p50, (v) => v < 2_000),
    ];
    printTable(
      'goals',
      goals.map((g) => ({ ...g })),
    );
    writeResult('startup', { settings: { STARTS, CLI_RUNS }, loadAverageBefore: loadBefore, rows, goals });
  } finally {
    await redis.stop();
    fs.rmSync(work, { recursive: true, force: true });
  }
}

main().catch((err: Error) => {
  process.stderr.write(`startup benchmark failed: ${err.message}\n`);
  process.exit(1);
});
