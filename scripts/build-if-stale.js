#!/usr/bin/env node
/*
 * `npm start`, `npm run worker|cli|emulator` run this first: it compiles (`tsc`, incremental) only
 * when dist/ is missing or older than what it is built from, so a built checkout starts without
 * waiting for the compiler on every call.
 *
 * "Older" compares modification times: the newest file or directory under src/, workers/ and
 * migrations/ (a directory's time changes when a file is added or removed), and tsconfig.json,
 * package.json and package-lock.json, against dist/.build-stamp, written after a successful
 * build. Git gives files it checks out the checkout time, so a pull or a branch switch counts
 * as newer.
 *
 * `npm run build` passes --always: it compiles whatever the stamp says (bench/ and test/ are
 * compiled too, but do not make a start stale).
 *
 * Concurrent calls build once: the first takes .build-lock/, the others wait for it.
 *
 * Without TypeScript (an install with --omit=dev, as in the image) an existing dist/ is used as
 * it is; with neither, it says what to run.
 */

const { spawnSync } = require('node:child_process');
const fs = require('node:fs');
const path = require('node:path');

const root = path.resolve(__dirname, '..');
const stamp = path.join(root, 'dist', '.build-stamp');
const SOURCE_DIRS = ['src', 'workers', 'migrations'];
const SOURCE_FILES = ['tsconfig.json', 'package.json', 'package-lock.json'];

function newestUnder(dir) {
  let newest = 0;
  let entries;
  try {
    newest = fs.statSync(dir).mtimeMs;
    entries = fs.readdirSync(dir, { withFileTypes: true });
  } catch {
    return newest;
  }
  for (const entry of entries) {
    const full = path.join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestUnder(full) : fs.statSync(full).mtimeMs);
  }
  return newest;
}

function mtimeOf(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch {
    return 0;
  }
}

function newestSource() {
  return Math.max(...SOURCE_DIRS.map((dir) => newestUnder(path.join(root, dir))), ...SOURCE_FILES.map((file) => mtimeOf(path.join(root, file))));
}

function typescriptCompiler() {
  try {
    return require.resolve('typescript/bin/tsc', { paths: [root] });
  } catch {
    return undefined;
  }
}

const lock = path.join(root, '.build-lock');

function holderAlive() {
  try {
    process.kill(Number(fs.readFileSync(path.join(lock, 'pid'), 'utf8')), 0);
    return true;
  } catch (err) {
    // EPERM: alive, another user's. No pid file yet: the holder is between mkdir and write.
    return err.code === 'EPERM' || (err.code === 'ENOENT' && Date.now() - mtimeOf(lock) < 10_000);
  }
}

/**
 * One build at a time: concurrent starts (two test files spawning `npm start`, a worker and a
 * daemon started together) would otherwise compile over each other and run half-written files.
 * Whoever waited re-checks the stamp afterwards, and usually finds the build done. A lock whose
 * process is gone (killed mid-build) is taken over.
 */
function withBuildLock(build) {
  for (;;) {
    try {
      fs.mkdirSync(lock);
      fs.writeFileSync(path.join(lock, 'pid'), String(process.pid));
      break;
    } catch (err) {
      if (err.code !== 'EEXIST') throw err;
      if (!holderAlive()) fs.rmSync(lock, { recursive: true, force: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 250);
    }
  }
  try {
    return build();
  } finally {
    fs.rmSync(lock, { recursive: true, force: true });
  }
}

function upToDate() {
  const built = mtimeOf(stamp);
  return built > 0 && built >= newestSource();
}

function main() {
  const always = process.argv.includes('--always');
  if (!always && upToDate()) return 0;
  const tsc = typescriptCompiler();
  if (!tsc) {
    if (fs.existsSync(path.join(root, 'dist', 'src', 'main.js'))) return 0;
    process.stderr.write('pulumi-idp-sync: dist/ is missing and TypeScript is not installed: run `npm install` (with dev dependencies), then try again\n');
    return 1;
  }
  // Ctrl-C stops the compiler (same process group); this process then removes its lock and exits.
  process.on('SIGINT', () => {
    process.exitCode = 130;
  });
  return withBuildLock(() => (!always && upToDate() ? 0 : build(tsc, always)));
}

function build(tsc, always) {
  const built = mtimeOf(stamp);
  if (!always) process.stderr.write(`pulumi-idp-sync: ${built > 0 ? 'sources changed since the last build' : 'no build yet'}, compiling…\n`);
  // The stamp's time is taken before compiling: a file saved during the build counts as newer.
  const startedAt = new Date();
  const result = spawnSync(process.execPath, [tsc, '-p', 'tsconfig.json', '--incremental', '--tsBuildInfoFile', path.join('dist', '.tsbuildinfo')], {
    cwd: root,
    stdio: 'inherit',
  });
  if (result.status !== 0) return result.status ?? 1;
  fs.writeFileSync(stamp, `${startedAt.toISOString()}\n`);
  fs.utimesSync(stamp, startedAt, startedAt);
  return 0;
}

process.exitCode = main();
