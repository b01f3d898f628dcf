import { randomBytes } from 'node:crypto';
import type http from 'node:http';
import path from 'node:path';
import type { Mount } from '../app';
import type { Config } from '../config';
import { createScimClient, type Db, rotateScimToken, ScimClientError } from '../directory';
import { demoPeople, demoSeed, type Emulator, EmulatorStateFile, startEmulator } from '../emulator';
import type { Logger } from '../log';
import { type Policy, teamsForGroup } from '../policy';
import { enqueueFullReconcile, type QueueFactory } from '../queue';
import { markStatusUnverified } from '../reconcile';

/**
 * The built-in Pulumi emulator in place of the Pulumi Service (no PULUMI_ACCESS_TOKEN), and the
 * demo that goes with it outside production:
 *
 * - The emulator's org lives in DATA_DIR next to the embedded Postgres (EmulatorStateFile), and
 *   every start reconciles all teams, so a lost or re-seeded org is rebuilt within seconds.
 * - Demo mode (not NODE_ENV=production): a SCIM client `demo` with a fresh token (stored hashed,
 *   as any), ADMIN_API_TOKEN generated when unset, the emulator's read-only control API under
 *   `/_emulator/` on the daemon's port, and a banner on stdout naming all of it, the demo people
 *   and a `curl` that provisions one of them.
 *
 * The banner's tokens go to stdout only, never to the log: the JSON log is what gets shipped
 * elsewhere, and these secrets are worth nothing outside this demo (the SCIM token writes the
 * local directory, the admin token acts on the emulator's org). A real token or a production
 * start prints none.
 */

export interface EmulatedPulumi {
  baseUrl: string;
  accessToken: string;
  org: string;
  /** Demo mode only: the configuration with the generated admin token, and the `/_emulator` mount. */
  demo?: { config: Config; mount: Mount };
  /**
   * Once the daemon listens: the start-up reconcile, and in demo mode the banner, after `seed`
   * (development sign-in: the demo people into an empty directory) when given.
   */
  started(at: { url: string; queues: QueueFactory; policy: Policy; seed?: (scimToken: string | undefined) => Promise<string | undefined> }): void;
  stop(): Promise<void>;
}

/** The SCIM client whose token the banner prints; rotated on every start, since only its hash is kept. */
export const DEMO_SCIM_CLIENT = 'demo';
/** The group the banner's curl creates; the shipped policy maps it to team platform. */
const DEMO_GROUP = 'Platform Engineers';

export async function startEmulatedPulumi(options: { config: Config; db: Db; logger: Logger; production: boolean }): Promise<EmulatedPulumi> {
  const { config, db, logger } = options;
  const stateFile = new EmulatorStateFile(path.join(config.DATA_DIR, 'emulator', 'state.json'), { seed: demoSeed, org: config.PULUMI_ORG });
  let emulator: Emulator | undefined;
  emulator = await startEmulator({ seed: demoSeed, org: config.PULUMI_ORG, onChange: () => stateFile.changed(() => (emulator as Emulator).state) });
  const saved = stateFile.read();
  if (saved) emulator.setState(saved);
  else {
    stateFile.write(emulator.state);
    // A fresh org: whatever status said of the old one is unconfirmed until the start-up reconcile.
    await markStatusUnverified(db, 'emulator-start');
  }
  const org = emulator.state.org;
  logger.warn(
    '!!! PULUMI_ACCESS_TOKEN is unset or empty: talking to the BUILT-IN PULUMI EMULATOR with a demo org, NOT the Pulumi Service. Nothing done here reaches a real org. !!!',
    { emulatorUrl: emulator.url, org, stateFile: saved ? 'restored' : 'seeded' },
  );
  const stop = async () => {
    stateFile.flush();
    await (emulator as Emulator).stop();
  };

  const demo = options.production ? undefined : await demoCredentials(config, db);
  const live = emulator;
  return {
    baseUrl: emulator.url,
    accessToken: emulator.accessToken,
    org,
    ...(demo ? { demo: { config: demo.config, mount: { path: '/_emulator', router: readOnly(live) } } } : {}),
    started({ url, queues, policy, seed }) {
      // Whatever the org lost since the last start (a deleted state file, a crash between a
      // change and its write), the first reconcile puts back; Redis down: retried in the background.
      void queues.inBackground('start-up reconcile', () => enqueueFullReconcile(queues, { reason: 'emulator-start' }));
      if (!demo) return;
      logger.info('demo ready: the banner on stdout has the SCIM and admin tokens', {
        scimUrl: `${url}/scim/v2`,
        console: `${url}/console/`,
        emulatorState: `${url}/_emulator/state`,
      });
      const seeded = seed
        ? seed(demo.scimToken).catch((err: unknown) => {
            logger.warn('the demo directory could not be seeded', { err: (err as Error).message });
            return undefined;
          })
        : Promise.resolve(undefined);
      void seeded.then((didSeed) =>
        process.stdout.write(
          demoBanner({ url, org, policy, scimToken: demo.scimToken, adminToken: demo.adminToken, devSignIn: seed !== undefined, seeded: didSeed }),
        ),
      );
    },
    stop,
  };
}

interface DemoCredentials {
  config: Config;
  /** undefined when the `demo` SCIM client was revoked: the banner says how to make one. */
  scimToken: string | undefined;
  /** undefined when ADMIN_API_TOKEN came from the environment: the banner does not repeat it. */
  adminToken: string | undefined;
}

async function demoCredentials(config: Config, db: Db): Promise<DemoCredentials> {
  let scimToken: string | undefined;
  try {
    scimToken = (await createScimClient(db, DEMO_SCIM_CLIENT)).token;
  } catch (err) {
    if (!(err instanceof ScimClientError)) throw err;
    // It exists (a previous start): a new token, the previous one ends now.
    scimToken = await rotateScimToken(db, DEMO_SCIM_CLIENT, 0).then(
      (issued) => issued.token,
      (rotateErr: unknown) => {
        if (rotateErr instanceof ScimClientError) return undefined;
        throw rotateErr;
      },
    );
  }
  const adminToken = config.ADMIN_API_TOKEN ? undefined : randomBytes(24).toString('base64url');
  return { config: adminToken ? { ...config, ADMIN_API_TOKEN: adminToken } : config, scimToken, adminToken };
}

/** The emulator's control API on the daemon's port, reads only: nobody on the network may reset or fault the demo org. */
function readOnly(emulator: Emulator): Mount['router'] {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res
        .status(405)
        .set('Allow', 'GET')
        .json({ error: 'method_not_allowed', message: 'the emulator is read-only here; `npm run emulator` serves its whole control API' });
      return;
    }
    // The emulator routes on its own paths: /_emulator/… as the client sent it.
    req.url = req.originalUrl;
    emulator.handle(req as http.IncomingMessage, res as http.ServerResponse);
  };
}

/** What the zero-config start prints once: where everything is, the tokens, the people, and a first step. */
export function demoBanner(at: {
  url: string;
  org: string;
  policy: Policy;
  scimToken: string | undefined;
  adminToken: string | undefined;
  /** The development IdP is on: the console signs in with a click. */
  devSignIn?: boolean;
  /** Who the development sign-in just provisioned, in words. */
  seeded?: string;
}): string {
  const { url, org, policy, scimToken } = at;
  const team = teamsForGroup(policy, { displayName: DEMO_GROUP })[0]?.team;
  const alice = demoPeople[0];
  const auth = `-H 'Authorization: Bearer ${scimToken}' -H 'Content-Type: application/scim+json'`;
  const user = JSON.stringify({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
    userName: alice.userName,
    name: { givenName: alice.givenName, familyName: alice.familyName },
    emails: [{ value: alice.userName, primary: true }],
    active: true,
  });
  const group = JSON.stringify({
    schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
    displayName: DEMO_GROUP,
    members: [{ value: '__USER_ID__' }],
  }).replace('__USER_ID__', `'"$USER_ID"'`);
  const standing = {
    member: `member of ${org}`,
    account: `Pulumi account, not in ${org} yet: the daemon adds them`,
    none: 'no Pulumi account: waits as no-pulumi-account',
  };
  const width = Math.max(...demoPeople.map((p) => p.userName.length));
  const lines = [
    '',
    `=== pulumi-idp-sync demo: built-in Pulumi emulator, org "${org}"; nothing here reaches the Pulumi Service ===`,
    `  SCIM base URL     ${url}/scim/v2`,
    scimToken
      ? `  SCIM token        ${scimToken}   (client "${DEMO_SCIM_CLIENT}", stored hashed; a new one on every start)`
      : `  SCIM token        none: the "${DEMO_SCIM_CLIENT}" client is revoked; npm run cli -- scim-token create --name <name>`,
    at.adminToken
      ? `  admin API token   ${at.adminToken}   (ADMIN_API_TOKEN, generated for this run)`
      : '  admin API token   ADMIN_API_TOKEN from the environment',
    at.devSignIn
      ? `  console           ${url}/console/   (development IdP: click "Sign in", then a person; bob is an admin)`
      : `  console           ${url}/console/`,
    `  Pulumi org state  ${url}/_emulator/state`,
    `  pending people    ${url}/api/v1/status   (pendingUsers; bearer the admin API token)`,
    `  dry-run plan      ADMIN_API_TOKEN=${at.adminToken ?? '…'} npm run cli -- plan`,
    '',
    `  People the demo org knows (identity.login: userName makes their userName their Pulumi login):`,
    ...demoPeople.map((p) => `    ${p.userName.padEnd(width)}  ${`${p.givenName} ${p.familyName}`.padEnd(12)}  ${standing[p.pulumi]}`),
    ...(policy.login === 'userName' ? [] : [`  Note: ${policy.file} sets identity.login to another source: these logins may not match.`]),
    '',
    ...(at.seeded ? [`  Seeded by SCIM for the console: ${at.seeded}.`, ''] : []),
    ...(scimToken && team
      ? [
          `  Provision ${alice.givenName} into "${DEMO_GROUP}" (team ${team} in ${policy.file}); the team appears in the org state within seconds:`,
          `    USER_ID=$(curl -sS -X POST ${url}/scim/v2/Users ${auth} -d '${user}' | node -pe 'JSON.parse(require("fs").readFileSync(0, "utf8")).id')`,
          `    curl -sS -X POST ${url}/scim/v2/Groups ${auth} -d '${group}'`,
          `    curl -sS ${url}/_emulator/state | node -pe 'JSON.stringify(JSON.parse(require("fs").readFileSync(0, "utf8")).teams.find((t) => t.name === "${team}"))'`,
        ]
      : []),
    '===',
    '',
  ];
  return `${lines.join('\n')}\n`;
}
