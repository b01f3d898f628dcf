import { parsePolicy, type OrgStack, type Policy } from '../../src/policy';
import { computeDesiredTeams } from '../../src/reconcile';
import { POLICY_YAML } from '../reconcile/harness';
import { startScimServer, type ScimResponse, type TestScimServer } from './server';

/**
 * docs/robustness.md, "Okta and Entra equivalence": Okta- and Entra-shaped traffic yields the same desired state.
 *
 * Two fresh directories (each its own database and HTTP server) go through one logical
 * life-cycle, one with Okta's request bodies (docs/idp-behaviour.md, "Okta"), one with Entra's ("Microsoft Entra ID").
 * After every step both directories must render the same SCIM resources (ids, meta and the
 * fields only one IdP sends aside) and give the reconciler the same desired teams, and both
 * must equal what the step was meant to do: a shared mistake in both paths fails too.
 */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const MS_GROUP_URN = 'http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';

type Resource = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const STACKS: OrgStack[] = [
  { projectName: 'infra', stackName: 'dev' },
  { projectName: 'infra', stackName: 'prod' },
  { projectName: 'web', stackName: 'dev' },
  { projectName: 'data', stackName: 'prod' },
];

/**
 * The reconcile tests' policy ("Platform Engineers" → platform, `pulumi-<team>`), under two
 * login sources: one from userName, one from the work email (which a step changes).
 */
const POLICIES: Array<{ login: 'userNameLocalPart' | 'email'; policy: Policy }> = (['userNameLocalPart', 'email'] as const).map((login) => ({
  login,
  policy: parsePolicy(POLICY_YAML.replace(/login: \w+/, `login: ${login}`), 'sync.yaml'),
}));

const GRANTS = {
  platform: { 'infra/dev': 103, 'infra/prod': 103, 'web/dev': 101 },
  pattern: { 'infra/dev': 102, 'web/dev': 102 },
} as const;

// ---------------------------------------------------------------------------------------------
// The logical model: what the directory should hold after each step, IdP-independent.

type PersonKey = 'alice' | 'bob' | 'carol' | 'dave';
type GroupKey = 'platform' | 'data' | 'observers';

interface Person {
  userName: string;
  givenName: string;
  familyName: string;
  displayName: string;
  email: string;
  active: boolean;
}

const person = (given: string, family: string): Person => {
  const userName = `${given.toLowerCase()}@example.com`;
  return { userName, givenName: given, familyName: family, displayName: `${given} ${family}`, email: userName, active: true };
};

const model = {
  users: {
    alice: person('Alice', 'Anders'),
    bob: person('Bob', 'Berg'),
    carol: person('Carol', 'Chen'),
    dave: person('Dave', 'Dietrich'),
  } as Record<PersonKey, Person>,
  groups: {} as Partial<Record<GroupKey, { displayName: string; members: PersonKey[] }>>,
};
const PEOPLE = Object.keys(model.users) as PersonKey[];

// ---------------------------------------------------------------------------------------------
// One driver per IdP: each logical action as that IdP sends it.

interface Driver {
  name: 'okta' | 'entra';
  scim: TestScimServer;
  userIds: Partial<Record<PersonKey, string>>;
  groupIds: Partial<Record<GroupKey, string>>;
  createUser(key: PersonKey): Promise<void>;
  /** New family name and work email. */
  changeSurnameAndEmail(key: PersonKey, familyName: string, email: string): Promise<void>;
  /** New given name and display name. */
  changeGivenAndDisplayName(key: PersonKey, givenName: string, displayName: string): Promise<void>;
  createGroup(key: GroupKey, displayName: string): Promise<void>;
  addMembers(key: GroupKey, members: PersonKey[]): Promise<void>;
  removeMember(key: GroupKey, member: PersonKey): Promise<void>;
  /** The IdP's second way of removing a member. */
  removeMemberOtherForm(key: GroupKey, member: PersonKey): Promise<void>;
  renameGroup(key: GroupKey, displayName: string): Promise<void>;
  setActive(key: PersonKey, active: boolean): Promise<void>;
  /** The IdP's second way of deactivating. */
  deactivateOtherForm(key: PersonKey): Promise<void>;
}

function expectStatus(res: ScimResponse, allowed: number[], what: string): void {
  if (!allowed.includes(res.status)) throw new Error(`${what}: ${res.status} ${res.text}`);
}

const idOf = (ids: Partial<Record<string, string>>, key: string): string => {
  const id = ids[key];
  if (!id) throw new Error(`no id for ${key}`);
  return id;
};

function oktaDriver(scim: TestScimServer): Driver {
  const userIds: Driver['userIds'] = {};
  const groupIds: Driver['groupIds'] = {};
  const patch = (path: string, operations: unknown[]) => scim.request('PATCH', path, { schemas: [PATCH_URN], Operations: operations });
  /** Okta repeats the group's id and name in a replace op on every membership change (§1.3). */
  const nameOp = (key: GroupKey) => ({ op: 'replace', value: { id: idOf(groupIds, key), displayName: model.groups[key]!.displayName } });
  const memberRef = (key: PersonKey) => ({ value: idOf(userIds, key), display: model.users[key].userName });
  /** Profile updates are GET, then PUT of the whole object with id, meta and groups (§1.2). */
  async function put(key: PersonKey, change: (user: Resource) => Resource): Promise<void> {
    const id = idOf(userIds, key);
    const current = await scim.request('GET', `/Users/${id}`);
    expectStatus(current, [200], 'okta GET user');
    expect(current.body).toHaveProperty('meta');
    expect(current.body).toHaveProperty('groups');
    expectStatus(await scim.request('PUT', `/Users/${id}`, change(current.body)), [200], 'okta PUT user');
  }
  return {
    name: 'okta',
    scim,
    userIds,
    groupIds,
    async createUser(key) {
      const p = model.users[key];
      const lookup = await scim.request('GET', `/Users?filter=userName%20eq%20%22${encodeURIComponent(p.userName)}%22&startIndex=1&count=100`);
      expect(lookup.body.totalResults).toBe(0);
      const res = await scim.request('POST', '/Users', {
        schemas: [USER_URN],
        userName: p.userName,
        name: { givenName: p.givenName, familyName: p.familyName },
        emails: [{ primary: true, value: p.email, type: 'work' }],
        displayName: p.displayName,
        locale: 'en-US',
        externalId: `00u${key}Okta`,
        groups: [],
        password: 'Okta-pw-1',
        active: true,
      });
      expectStatus(res, [201], 'okta create user');
      userIds[key] = res.body.id;
    },
    async changeSurnameAndEmail(key, familyName, email) {
      await put(key, (u) => ({ ...u, name: { ...u.name, familyName }, emails: [{ primary: true, value: email, type: 'work' }] }));
    },
    async changeGivenAndDisplayName(key, givenName, displayName) {
      await put(key, (u) => ({ ...u, name: { ...u.name, givenName }, displayName }));
    },
    async createGroup(key, displayName) {
      const res = await scim.request('POST', '/Groups', { schemas: [GROUP_URN], displayName, members: [] });
      expectStatus(res, [201], 'okta create group');
      groupIds[key] = res.body.id;
    },
    async addMembers(key, members) {
      const res = await patch(`/Groups/${idOf(groupIds, key)}`, [nameOp(key), { op: 'add', path: 'members', value: members.map(memberRef) }]);
      expectStatus(res, [200, 204], 'okta add members');
    },
    async removeMember(key, member) {
      const res = await patch(`/Groups/${idOf(groupIds, key)}`, [nameOp(key), { op: 'remove', path: `members[value eq "${idOf(userIds, member)}"]` }]);
      expectStatus(res, [200, 204], 'okta remove member');
    },
    async removeMemberOtherForm(key, member) {
      // Full membership push: every member the group keeps, and only those.
      const keep = model.groups[key]!.members.filter((m) => m !== member);
      expect(keep.length).toBeGreaterThan(0);
      const res = await patch(`/Groups/${idOf(groupIds, key)}`, [{ op: 'replace', path: 'members', value: keep.map(memberRef) }]);
      expectStatus(res, [200, 204], 'okta push members');
    },
    async renameGroup(key, displayName) {
      const res = await patch(`/Groups/${idOf(groupIds, key)}`, [{ op: 'replace', value: { id: idOf(groupIds, key), displayName } }]);
      expectStatus(res, [200, 204], 'okta rename group');
    },
    async setActive(key, active) {
      const res = await patch(`/Users/${idOf(userIds, key)}`, [{ op: 'replace', value: { active } }]);
      expectStatus(res, [200, 204], 'okta set active');
    },
    async deactivateOtherForm(key) {
      // App Integration Wizard integrations deactivate by PUT (§1.2).
      await put(key, (u) => ({ ...u, active: false }));
    },
  };
}

function entraDriver(scim: TestScimServer): Driver {
  const userIds: Driver['userIds'] = {};
  const groupIds: Driver['groupIds'] = {};
  const patch = (path: string, operations: unknown[]) => scim.request('PATCH', path, { schemas: [PATCH_URN], Operations: operations });
  const user = (key: PersonKey) => `/Users/${idOf(userIds, key)}`;
  const group = (key: GroupKey) => `/Groups/${idOf(groupIds, key)}`;
  return {
    name: 'entra',
    scim,
    userIds,
    groupIds,
    async createUser(key) {
      const p = model.users[key];
      const lookup = await scim.request('GET', `/Users?filter=userName+eq+%22${encodeURIComponent(p.userName)}%22`);
      expect(lookup.body.totalResults).toBe(0);
      const res = await scim.request('POST', '/Users', {
        schemas: [USER_URN, ENTERPRISE_URN],
        externalId: `${key}-mailNickname`,
        userName: p.userName,
        active: true,
        displayName: p.displayName,
        emails: [{ primary: true, type: 'work', value: p.email }],
        meta: { resourceType: 'User' },
        name: { formatted: p.displayName, familyName: p.familyName, givenName: p.givenName },
        roles: [],
      });
      expectStatus(res, [201], 'entra create user');
      userIds[key] = res.body.id;
    },
    async changeSurnameAndEmail(key, familyName, email) {
      const res = await patch(user(key), [
        { op: 'Replace', path: 'emails[type eq "work"].value', value: email },
        { op: 'Replace', path: 'name.familyName', value: familyName },
      ]);
      expectStatus(res, [200, 204], 'entra replace by path');
    },
    async changeGivenAndDisplayName(key, givenName, displayName) {
      // With the aadOptscim062020 flag: path-less, keys are attribute paths (§2.3).
      const res = await patch(user(key), [{ op: 'replace', value: { displayName, 'name.givenName': givenName } }]);
      expectStatus(res, [200, 204], 'entra dotted replace');
    },
    async createGroup(key, displayName) {
      const lookup = await scim.request('GET', `/Groups?excludedAttributes=members&filter=displayName+eq+%22${encodeURIComponent(displayName)}%22`);
      expect(lookup.body.totalResults).toBe(0);
      const res = await scim.request('POST', '/Groups', {
        schemas: [GROUP_URN, MS_GROUP_URN],
        externalId: `${key}-objectId`,
        displayName,
        meta: { resourceType: 'Group' },
      });
      expectStatus(res, [201], 'entra create group');
      groupIds[key] = res.body.id;
    },
    async addMembers(key, members) {
      const res = await patch(group(key), [{ op: 'Add', path: 'members', value: members.map((m) => ({ $ref: null, value: idOf(userIds, m) })) }]);
      expectStatus(res, [204], 'entra add members');
    },
    async removeMember(key, member) {
      // The default job's form, which must remove only the listed member (§2.3).
      const res = await patch(group(key), [{ op: 'Remove', path: 'members', value: [{ $ref: null, value: idOf(userIds, member) }] }]);
      expectStatus(res, [204], 'entra remove member');
    },
    async removeMemberOtherForm(key, member) {
      const res = await patch(group(key), [{ op: 'remove', path: `members[value eq "${idOf(userIds, member)}"]` }]);
      expectStatus(res, [204], 'entra flagged remove');
    },
    async renameGroup(key, displayName) {
      const res = await patch(group(key), [{ op: 'Replace', path: 'displayName', value: displayName }]);
      expectStatus(res, [204], 'entra rename group');
    },
    async setActive(key, active) {
      // The default job sends string booleans.
      const res = await patch(user(key), [{ op: 'Replace', path: 'active', value: active ? 'True' : 'False' }]);
      expectStatus(res, [200, 204], 'entra set active');
    },
    async deactivateOtherForm(key) {
      // With the flag: lower-case op and a real boolean.
      const res = await patch(user(key), [{ op: 'replace', path: 'active', value: false }]);
      expectStatus(res, [200, 204], 'entra replace active false');
    },
  };
}

// ---------------------------------------------------------------------------------------------
// Views: what each directory holds, ids replaced by userName/displayName.

/** Attributes only one IdP sends, or whose value is the IdP's own: not compared. */
function withoutIdpFields(resource: Resource): Resource {
  const { id: _id, meta: _meta, externalId: _externalId, locale: _locale, roles: _roles, ...rest } = resource;
  if (rest.name) {
    const { formatted: _formatted, ...name } = rest.name;
    rest.name = name;
  }
  return rest;
}

async function listAll(scim: TestScimServer, type: 'Users' | 'Groups'): Promise<Resource[]> {
  const res = await scim.request('GET', `/${type}?startIndex=1&count=100`);
  expectStatus(res, [200], `list ${type}`);
  expect(res.body.totalResults).toBe(res.body.Resources.length);
  return res.body.Resources;
}

const byKey = (key: string) => (a: Resource, b: Resource) => String(a[key]).localeCompare(String(b[key]));

/**
 * Each resource without IdP fields, its references (`attr`: a user's groups, a group's
 * members) named by `names` instead of by id, sorted by `sortKey`.
 */
function relabel(resources: Resource[], attr: string, names: Map<string, string>, refBase: string, sortKey: string): Resource[] {
  return resources
    .map((r) => ({
      ...withoutIdpFields(r),
      [attr]: (r[attr] as Resource[])
        .map((ref) => ({ ...ref, value: names.get(ref.value), $ref: ref.$ref === `${refBase}/${ref.value}` ? 'self' : ref.$ref }))
        .sort(byKey('value')),
    }))
    .sort(byKey(sortKey));
}

async function scimView(d: Driver) {
  const users = await listAll(d.scim, 'Users');
  const groups = await listAll(d.scim, 'Groups');
  const userName = new Map(users.map((u) => [u.id as string, u.userName as string]));
  const groupName = new Map(groups.map((g) => [g.id as string, g.displayName as string]));
  return {
    users: relabel(users, 'groups', groupName, `${d.scim.base}/Groups`, 'userName'),
    groups: relabel(groups, 'members', userName, `${d.scim.base}/Users`, 'displayName'),
  };
}

/** The view the model says both directories must render. */
function expectedScimView() {
  const groups = Object.values(model.groups).sort((a, b) => a.displayName.localeCompare(b.displayName));
  const users = PEOPLE.map((k) => model.users[k]).sort((a, b) => a.userName.localeCompare(b.userName));
  const keyOf = (p: Person) => PEOPLE.find((k) => model.users[k] === p)!;
  return {
    users: users.map((p) => ({
      schemas: [USER_URN],
      userName: p.userName,
      name: { givenName: p.givenName, familyName: p.familyName },
      displayName: p.displayName,
      emails: [{ primary: true, type: 'work', value: p.email }],
      active: p.active,
      groups: groups.filter((g) => g.members.includes(keyOf(p))).map((g) => ({ value: g.displayName, display: g.displayName, $ref: 'self', type: 'direct' })),
    })),
    groups: groups.map((g) => ({
      schemas: [GROUP_URN],
      displayName: g.displayName,
      members: g.members
        .map((k) => model.users[k])
        .sort((a, b) => a.userName.localeCompare(b.userName))
        .map((p) => ({ value: p.userName, display: p.displayName, $ref: 'self', type: 'User' })),
    })),
  };
}

async function desiredView(d: Driver, policy: Policy) {
  const teams = await computeDesiredTeams(d.scim.db, policy, STACKS);
  const userName = new Map((await d.scim.db('users').select('id', 'user_name')).map((r: { id: string; user_name: string }) => [r.id, r.user_name]));
  return [...teams.values()]
    .sort((a, b) => a.name.localeCompare(b.name))
    .map((t) => ({
      name: t.name,
      displayName: t.displayName,
      description: t.description,
      groups: t.groups.map((g) => g.displayName),
      members: [...t.members].map(([key, m]) => ({ key, login: m.login, user: userName.get(m.userId) })).sort((a, b) => a.key.localeCompare(b.key)),
      grants: Object.fromEntries([...t.grants].map(([key, g]) => [key, g.permission])),
      unmappedUsers: t.unmappedUsers,
    }));
}

const loginOf = (login: 'userNameLocalPart' | 'email', p: Person) => (login === 'email' ? p.email : p.userName.slice(0, p.userName.indexOf('@')));

/** Expected desired teams: team → the group it comes from; members are its active model members. */
function expectedDesired(login: 'userNameLocalPart' | 'email', teams: Record<string, GroupKey>) {
  return Object.entries(teams)
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([name, groupKey]) => {
      const g = model.groups[groupKey]!;
      return {
        name,
        displayName: g.displayName,
        description: `Synced by pulumi-idp-sync from SCIM group "${g.displayName}"`,
        groups: [g.displayName],
        members: g.members
          .map((k) => model.users[k])
          .filter((p) => p.active)
          .map((p) => ({ key: loginOf(login, p).toLowerCase(), login: loginOf(login, p), user: p.userName }))
          .sort((a, b) => a.key.localeCompare(b.key)),
        grants: name === 'platform' ? GRANTS.platform : GRANTS.pattern,
        unmappedUsers: 0,
      };
    });
}

// ---------------------------------------------------------------------------------------------

let drivers: Driver[];
beforeAll(async () => {
  // One after the other: both databases are cloned from the same template.
  const okta = await startScimServer();
  const entra = await startScimServer();
  drivers = [oktaDriver(okta), entraDriver(entra)];
});
afterAll(async () => {
  for (const d of drivers ?? []) await d.scim.close();
});

/**
 * Runs the step on both directories, then checks each against the model (and so against the
 * other): its SCIM resources, and its desired teams under each policy.
 */
async function step(action: (d: Driver) => Promise<void>, teams: Record<string, GroupKey>): Promise<void> {
  for (const d of drivers) await action(d);
  const expected = expectedScimView();
  for (const d of drivers) {
    expect({ idp: d.name, ...(await scimView(d)) }).toEqual({ idp: d.name, ...expected });
    for (const { login, policy } of POLICIES) {
      expect({ idp: d.name, login, teams: await desiredView(d, policy) }).toEqual({ idp: d.name, login, teams: expectedDesired(login, teams) });
    }
  }
}

describe('Okta and Entra traffic for one life-cycle give the same directory and desired state', () => {
  it('creates users', async () => {
    await step(async (d) => {
      for (const k of PEOPLE) await d.createUser(k);
    }, {});
  });

  it('updates profiles: Okta by full PUT, Entra by path and by dotted-key PATCH', async () => {
    Object.assign(model.users.bob, { familyName: 'Brandt', email: 'bob.brandt@example.com' });
    Object.assign(model.users.carol, { givenName: 'Caroline', displayName: 'Caroline Chen' });
    await step(async (d) => {
      await d.changeSurnameAndEmail('bob', 'Brandt', 'bob.brandt@example.com');
      await d.changeGivenAndDisplayName('carol', 'Caroline', 'Caroline Chen');
    }, {});
  });

  it('creates groups, mapped and unmapped, without members', async () => {
    model.groups.platform = { displayName: 'Platform Engineers', members: [] };
    model.groups.data = { displayName: 'pulumi-data', members: [] };
    model.groups.observers = { displayName: 'Observers', members: [] };
    await step(
      async (d) => {
        await d.createGroup('platform', 'Platform Engineers');
        await d.createGroup('data', 'pulumi-data');
        await d.createGroup('observers', 'Observers');
      },
      { platform: 'platform', data: 'data' },
    );
  });

  it('adds several members per PATCH', async () => {
    model.groups.platform!.members = ['alice', 'bob', 'carol'];
    model.groups.data!.members = ['carol', 'dave'];
    model.groups.observers!.members = ['dave'];
    await step(
      async (d) => {
        await d.addMembers('platform', ['alice', 'bob', 'carol']);
        await d.addMembers('data', ['carol', 'dave']);
        await d.addMembers('observers', ['dave']);
      },
      { platform: 'platform', data: 'data' },
    );
  });

  it('removes one member: Okta by members[value eq], Entra by path "members" with a value array', async () => {
    model.groups.platform!.members = ['alice', 'carol'];
    await step((d) => d.removeMember('platform', 'bob'), { platform: 'platform', data: 'data' });
  });

  it('renames a group, which moves it to another team', async () => {
    model.groups.data!.displayName = 'pulumi-analytics';
    await step((d) => d.renameGroup('data', 'pulumi-analytics'), { platform: 'platform', analytics: 'data' });
  });

  it('deactivates a user: Okta path-less active:false, Entra Replace active "False"', async () => {
    model.users.carol.active = false;
    await step((d) => d.setActive('carol', false), { platform: 'platform', analytics: 'data' });
  });

  it('reactivates the user: Okta path-less active:true, Entra Replace active "True"', async () => {
    model.users.carol.active = true;
    await step((d) => d.setActive('carol', true), { platform: 'platform', analytics: 'data' });
  });

  it('removes a member by the other form: Okta full push, Entra members[value eq]', async () => {
    model.groups.data!.members = ['carol'];
    await step((d) => d.removeMemberOtherForm('data', 'dave'), { platform: 'platform', analytics: 'data' });
  });

  it('deactivates by the other form: Okta PUT active:false, Entra replace active false', async () => {
    model.users.alice.active = false;
    await step((d) => d.deactivateOtherForm('alice'), { platform: 'platform', analytics: 'data' });
  });
});
