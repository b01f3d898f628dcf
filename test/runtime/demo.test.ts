import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { freePort, startNodeProcess, startPrivateRedis, tailLog, type NodeProcess, type PrivateRedis } from '../helpers/stack/processes';

/**
 * The zero-config start as a new user meets it: `node src/main` with no DATABASE_URL and no
 * PULUMI_ACCESS_TOKEN (embedded Postgres, built-in emulator). It prints a banner; the printed
 * curl, run here with fetch, provisions a demo person into a mapped group, and the team shows at
 * the printed `/_emulator/` URL. Restarts on the same DATA_DIR keep the emulator's org and the
 * daemon's status in agreement.
 */

let redis: PrivateRedis;
let dataDir: string;
const started: NodeProcess[] = [];

beforeAll(async () => {
  redis = await startPrivateRedis();
  dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'pis-demo-'));
  // As root, the embedded Postgres runs as a 'postgres' user that must enter this directory.
  fs.chmodSync(dataDir, 0o755);
});

afterAll(async () => {
  for (const daemon of started) {
    await daemon.stop();
    fs.rmSync(daemon.logFile, { force: true });
  }
  await redis.stop();
  fs.rmSync(dataDir, { recursive: true, force: true });
});

interface Banner {
  text: string;
  scimToken: string;
  adminToken: string;
  emulatorStateUrl: string;
  statusUrl: string;
  /** The copy-paste commands, in order. */
  commands: string[];
}

interface EmulatedTeam {
  name: string;
  members: Array<{ login: string }>;
  environments?: Array<{ projectName: string; envName: string; permission: string; maxOpenDuration?: string }>;
}

async function startDaemon(env: Record<string, string> = {}): Promise<{ daemon: NodeProcess; url: string }> {
  const port = await freePort();
  const daemon = startNodeProcess(
    'src/main.js',
    { PORT: String(port), HOST: '127.0.0.1', DATA_DIR: dataDir, EMBEDDED_PG_PORT: String(await freePort()), REDIS_URL: redis.url, LOG_LEVEL: 'info', ...env },
    'demo',
    'source',
  );
  started.push(daemon);
  return { daemon, url: `http://127.0.0.1:${port}` };
}

async function until<T>(what: string, daemon: NodeProcess, probe: () => Promise<T | undefined>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (daemon.child.exitCode !== null) throw new Error(`daemon exited while waiting for ${what}:\n${tailLog(daemon.logFile)}`);
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms:\n${tailLog(daemon.logFile)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function readBanner(daemon: NodeProcess): Promise<Banner> {
  const text = await until('the banner', daemon, async () => {
    const log = fs.readFileSync(daemon.logFile, 'utf8');
    return /^=== pulumi-idp-sync demo[\s\S]*?^===$/m.exec(log)?.[0];
  });
  const field = (label: string) => {
    const value = new RegExp(`^ {2}${label} +(\\S+)`, 'm').exec(text)?.[1];
    if (!value) throw new Error(`the banner has no ${label}:\n${text}`);
    return value;
  };
  return {
    text,
    scimToken: field('SCIM token'),
    adminToken: field('admin API token'),
    emulatorStateUrl: field('Pulumi org state'),
    statusUrl: field('pending people'),
    commands: text
      .split('\n')
      .map((l) => l.trim())
      .filter((l) => /^(USER_ID=\$\()?curl /.test(l)),
  };
}

/** Runs one printed curl with fetch: its method, URL, headers and body as the shell would pass them. */
async function runCurl(command: string, vars: Record<string, string> = {}): Promise<Response> {
  const curl = command.replace(/^USER_ID=\$\(/, '').replace(/ \| node -pe .*$/, '');
  const shellVars = curl.replace(/'"\$(\w+)"'/g, (_m, name: string) => vars[name] ?? '');
  const method = / -X (\w+)/.exec(shellVars)?.[1] ?? 'GET';
  const url = /curl -sS (?:-X \w+ )?(\S+)/.exec(shellVars)?.[1] as string;
  const headers = Object.fromEntries([...shellVars.matchAll(/ -H '([^:']+): ([^']*)'/g)].map((m) => [m[1], m[2]]));
  const body = / -d '([^']*)'/.exec(shellVars)?.[1];
  return fetch(url, { method, headers, body });
}

const teamIn = async (banner: Banner, name: string): Promise<EmulatedTeam | undefined> => {
  const state = (await (await fetch(banner.emulatorStateUrl)).json()) as { teams: EmulatedTeam[] };
  return state.teams.find((t) => t.name === name);
};

const teamWithMembers = async (banner: Banner, name: string): Promise<EmulatedTeam | undefined> => {
  const team = await teamIn(banner, name);
  return team && team.members.length > 0 ? team : undefined;
};

const statusOf = async (banner: Banner) =>
  (await (await fetch(banner.statusUrl, { headers: { authorization: `Bearer ${banner.adminToken}` } })).json()) as {
    teams: Array<{ team: string; owned: boolean; lastOutcome: string; lastReason: string }>;
    pendingUsers: unknown[];
  };

/** Every owned team that status says reconciled fine exists in the emulator's org. */
async function statusClaimsOnlyRealTeams(banner: Banner): Promise<void> {
  const state = (await (await fetch(banner.emulatorStateUrl)).json()) as { teams: EmulatedTeam[] };
  const claimed = (await statusOf(banner)).teams.filter((t) => t.owned && t.lastOutcome === 'success').map((t) => t.team);
  expect(claimed.filter((team) => !state.teams.some((t) => t.name === team))).toEqual([]);
}

it('prints a banner whose curl makes a team appear at the printed emulator URL', async () => {
  const { daemon, url } = await startDaemon();
  const banner = await readBanner(daemon);
  expect(banner.emulatorStateUrl).toBe(`${url}/_emulator/state`);
  expect(banner.text).toContain('alice.smith@example.com');
  expect(banner.text).toMatch(/dave\.kim@example\.com +Dave Kim +no Pulumi account/);
  expect(banner.commands).toHaveLength(3);

  const created = await runCurl(banner.commands[0]);
  expect(created.status).toBe(201);
  const userId = ((await created.json()) as { id: string }).id;
  expect((await runCurl(banner.commands[1], { USER_ID: userId })).status).toBe(201);

  // The team is created, then its members added: wait for both, not for the team alone.
  const platform = await until('team platform with a member in the emulator', daemon, () => teamWithMembers(banner, 'platform'), 150_000);
  expect(platform.members.map((m) => m.login)).toEqual(['alice.smith@example.com']);
  // The shipped policy grants open on the demo org's infra/* ESC environments, after the members.
  const withEnvironments = await until('team platform with its environments', daemon, async () => {
    const team = await teamIn(banner, 'platform');
    return (team?.environments?.length ?? 0) === 2 ? team : undefined;
  });
  expect(withEnvironments.environments?.map((e) => `${e.projectName}/${e.envName} ${e.permission} ${e.maxOpenDuration}`).sort()).toEqual([
    'infra/dev open 1h',
    'infra/prod open 1h',
  ]);
  // The third command reads the same org state the daemon's own port serves.
  expect((await (await runCurl(banner.commands[2])).json()) as { teams: unknown[] }).toMatchObject({ teams: expect.any(Array) });
  await until('status of platform', daemon, async () => ((await statusOf(banner)).teams.some((t) => t.team === 'platform') ? true : undefined));
  await statusClaimsOnlyRealTeams(banner);

  // Read-only on the daemon's port; the tokens are on stdout only, never in the JSON log.
  expect((await fetch(banner.emulatorStateUrl, { method: 'PUT', body: '{}' })).status).toBe(405);
  const jsonLines = fs
    .readFileSync(daemon.logFile, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('{'));
  expect(jsonLines.filter((l) => l.includes(banner.scimToken) || l.includes(banner.adminToken))).toEqual([]);

  daemon.child.kill('SIGTERM');
  expect(await daemon.exited).toBe(0);
}, 300_000);

it('keeps the org across a restart on the same data dir, and rebuilds a lost one at start', async () => {
  const second = await startDaemon();
  const banner = await readBanner(second.daemon);
  // Restored from DATA_DIR, not re-seeded: the team is there before any reconcile ran.
  expect((await teamIn(banner, 'platform'))?.members.map((m) => m.login)).toEqual(['alice.smith@example.com']);
  await statusClaimsOnlyRealTeams(banner);
  second.daemon.child.kill('SIGTERM');
  expect(await second.daemon.exited).toBe(0);

  // An org lost between starts (the state file gone): the start-up reconcile rebuilds it.
  fs.rmSync(path.join(dataDir, 'emulator'), { recursive: true, force: true });
  const third = await startDaemon();
  const rebuilt = await readBanner(third.daemon);
  const platform = await until('team platform rebuilt with a member', third.daemon, () => teamWithMembers(rebuilt, 'platform'), 150_000);
  expect(platform.members.map((m) => m.login)).toEqual(['alice.smith@example.com']);
  await until('status after the start-up reconcile', third.daemon, async () =>
    (await statusOf(rebuilt)).teams.find((t) => t.team === 'platform')?.lastReason === 'emulator-start' ? true : undefined,
  );
  await statusClaimsOnlyRealTeams(rebuilt);
  third.daemon.child.kill('SIGTERM');
  expect(await third.daemon.exited).toBe(0);
}, 300_000);

it('in production (PULUMI_EMULATOR=1) prints no banner and serves no /_emulator/ and no development IdP', async () => {
  const { daemon, url } = await startDaemon({ NODE_ENV: 'production', PULUMI_EMULATOR: '1' });
  await until('ready', daemon, async () => ((await fetch(`${url}/readyz`)).ok ? true : undefined));
  expect((await fetch(`${url}/_emulator/state`)).status).toBe(404);
  expect((await fetch(`${url}/_dev-idp/sso`)).status).toBe(404);
  const log = fs.readFileSync(daemon.logFile, 'utf8');
  expect(log).not.toContain('=== pulumi-idp-sync demo');
  expect(log).not.toContain('DEVELOPMENT IdP');
  daemon.child.kill('SIGTERM');
  expect(await daemon.exited).toBe(0);
}, 300_000);
