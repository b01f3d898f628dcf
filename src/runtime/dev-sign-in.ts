import type { Mount } from '../app';
import type { Config } from '../config';
import { createDevIdp, DEV_ADMIN_GROUP, DEV_IDP_PATH, type DevIdpPerson } from '../dev-idp';
import { type Db, pageUsers } from '../directory';
import type { Logger } from '../log';
import { demoPeople } from '../emulator';

/**
 * Development sign-in for the zero-config start (docs/console.md, "Development sign-in"): with
 * the built-in emulator in demo mode (never in production, never with a real Pulumi token) and
 * SAML not configured, the daemon runs its own SAML IdP and trusts it, and an empty directory
 * gets the demo people and groups, so `npm start` reaches a signed-in console in two clicks.
 */

export interface DevSignIn {
  /** The configuration with SAML settings that trust the development IdP. */
  config: Config;
  mount: Mount;
  /** Once the daemon listens: provisions DEMO_GROUPS by SCIM when the directory is empty; says whom, in words, when it did. */
  seed(at: { url: string; scimToken: string | undefined }): Promise<string | undefined>;
}

/**
 * The groups the demo directory starts with, and so the people it provisions. Alice is left out:
 * the banner's curl provisions her into Platform Engineers, a newcomer's first SCIM call.
 */
export const DEMO_GROUPS: ReadonlyArray<{ displayName: string; members: readonly string[] }> = [
  { displayName: 'Web Developers', members: ['carol.wu@example.com', 'dave.kim@example.com'] },
  { displayName: DEV_ADMIN_GROUP, members: ['bob.jones@example.com'] },
];

export async function startDevSignIn(options: { config: Config; db: Db; logger: Logger }): Promise<DevSignIn> {
  const { config, db, logger } = options;
  const baseUrl = config.PUBLIC_URL ?? `http://127.0.0.1:${config.PORT}`;
  const idp = await createDevIdp({ baseUrl, clockSkewMs: config.SAML_CLOCK_SKEW_MS, people: (limit) => activePeople(db, limit) });
  logger.warn(
    '!!! SAML is not configured: the BUILT-IN DEVELOPMENT IdP is ON. Anyone who reaches this port can sign in to the console as any provisioned person. It runs only with the built-in Pulumi emulator, outside production. !!!',
    { idp: `${baseUrl}${DEV_IDP_PATH}/sso`, console: `${baseUrl}/console/`, adminGroup: DEV_ADMIN_GROUP },
  );
  return {
    config: { ...config, saml: idp.settings },
    mount: { path: DEV_IDP_PATH, router: idp.router },
    async seed({ url, scimToken }) {
      if (!scimToken) return undefined;
      const { total } = await pageUsers(db, { sql: 'true', bindings: [] }, { sql: 'u.id', bindings: [] }, 0, 0, false);
      if (total > 0) return undefined;
      await seedDirectory(`${url}/scim/v2`, scimToken);
      const seeded = DEMO_GROUPS.map((g) => `${g.members.join(' and ')} in ${g.displayName}`).join('; ');
      logger.info('demo directory seeded by SCIM', { seeded });
      return seeded;
    },
  };
}

async function activePeople(db: Db, limit: number): Promise<DevIdpPerson[]> {
  const page = await pageUsers(db, { sql: 'u.active', bindings: [] }, { sql: 'lower(u.user_name)', bindings: [] }, 0, limit, true);
  return page.rows.map((row) => {
    const name = (row.resource.name ?? {}) as { formatted?: string; givenName?: string; familyName?: string };
    const displayName = name.formatted ?? ([name.givenName, name.familyName].filter(Boolean).join(' ') || row.user_name);
    const groups = page.groups?.get(row.id) ?? [];
    return { userName: row.user_name, displayName, admin: groups.some((g) => g.displayName.toLowerCase() === DEV_ADMIN_GROUP.toLowerCase()) };
  });
}

/** Through the daemon's own SCIM endpoint, as an IdP would: outbox rows, reconciles and all. */
async function seedDirectory(scimUrl: string, token: string): Promise<void> {
  const post = async (resource: string, body: unknown): Promise<{ id: string }> => {
    const res = await fetch(`${scimUrl}/${resource}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${token}`, 'content-type': 'application/scim+json' },
      body: JSON.stringify(body),
    });
    if (!res.ok) throw new Error(`seeding the demo directory: POST /${resource} answered ${res.status}`);
    return (await res.json()) as { id: string };
  };
  const ids = new Map<string, string>();
  const seeded = new Set(DEMO_GROUPS.flatMap((g) => g.members));
  for (const p of demoPeople.filter((person) => seeded.has(person.userName))) {
    const created = await post('Users', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:User'],
      userName: p.userName,
      name: { givenName: p.givenName, familyName: p.familyName, formatted: `${p.givenName} ${p.familyName}` },
      emails: [{ value: p.userName, primary: true }],
      active: true,
    });
    ids.set(p.userName, created.id);
  }
  for (const group of DEMO_GROUPS) {
    await post('Groups', {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:Group'],
      displayName: group.displayName,
      members: group.members.map((userName) => ({ value: ids.get(userName) })),
    });
  }
}
