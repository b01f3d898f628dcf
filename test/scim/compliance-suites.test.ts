import { randomUUID } from 'node:crypto';
import { startScimServer, type ScimResponse, type TestScimServer } from './server';

/**
 * The public SCIM compliance suites of docs/idp-behaviour.md, "Compliance suites", replayed against the real server:
 * their requests (bodies, query strings, headers, the order of calls) and the checks their
 * code makes on the answers. Each block names the suite file it follows. Where a suite
 * disagrees with RFC 7643/7644 the RFC wins, and the block says so.
 *
 * Not repeated here: what protocol.test.ts, filters.test.ts, entra.test.ts and okta.test.ts
 * already cover (error bodies, auth, user ETags, the filter grammar, the IdP request shapes).
 */

const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
const ENTERPRISE = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
const ERROR_URN = 'urn:ietf:params:scim:api:messages:2.0:Error';
const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
const SEARCH_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';
const SCHEMA_URN = 'urn:ietf:params:scim:schemas:core:2.0:Schema';
const RESOURCE_TYPE_URN = 'urn:ietf:params:scim:schemas:core:2.0:ResourceType';
const SPC_URN = 'urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig';

type Doc = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** An attribute as `/Schemas` describes it (RFC 7643 §7). */
interface SchemaAttribute {
  name: string;
  type: string;
  multiValued: boolean;
  description?: string;
  required: boolean;
  caseExact?: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: string;
  canonicalValues?: string[];
  referenceTypes?: string[];
  subAttributes?: SchemaAttribute[];
}

interface SchemaDocument {
  id: string;
  attributes: SchemaAttribute[];
  meta: { location: string };
}

let scim: TestScimServer;
let schemas: Map<string, SchemaDocument>;

beforeAll(async () => {
  scim = await startScimServer();
  const res = await scim.request('GET', '/Schemas');
  schemas = new Map((res.body.Resources as SchemaDocument[]).map((s) => [s.id, s]));
});
afterAll(async () => {
  await scim.close();
});

const patchBody = (...operations: Doc[]) => ({ schemas: [PATCH_URN], Operations: operations });
const patch = (path: string, ...operations: Doc[]) => scim.request('PATCH', path, patchBody(...operations));

function expectScimError(res: ScimResponse, status: number): void {
  expect(res.status).toBe(status);
  expect(res.headers.get('content-type')).toMatch(/^application\/scim\+json/);
  expect(res.body).toMatchObject({ schemas: [ERROR_URN], status: String(status), detail: expect.any(String) });
}

let seq = 0;
const unique = (prefix: string) => `${prefix}${++seq}${randomUUID().slice(0, 8)}`;

/**
 * Attribute values made from the server's own `/Schemas`, the way scim2-tester's
 * `filling.py` makes them from the models it builds out of `/Schemas`: every sub-attribute
 * of an allowed mutability; a reference to a User is a real user's `meta.location` and the
 * element's `value` is that user's id (`fix_reference_values`); external references are URLs;
 * binaries base64; the canonical values where the schema lists some.
 */
class Filler {
  constructor(private readonly referenced: { id: string; location: string }) {}

  value(attr: SchemaAttribute, mutabilities: string[], parent?: SchemaAttribute): unknown {
    const one = (): unknown => {
      seq++;
      switch (attr.type) {
        case 'boolean':
          return seq % 2 === 0;
        case 'integer':
          return seq;
        case 'decimal':
          return seq + 0.5;
        case 'dateTime':
          return new Date(Date.UTC(2024, 0, 1, 0, 0, seq % 60)).toISOString();
        case 'binary':
          return Buffer.from(`certificate ${seq}`).toString('base64');
        case 'reference':
          return attr.referenceTypes?.includes('User') ? this.referenced.location : `https://${randomUUID()}.test`;
        case 'complex': {
          const element: Doc = {};
          for (const sub of attr.subAttributes ?? []) {
            if (mutabilities.includes(sub.mutability)) element[sub.name] = this.value(sub, mutabilities, attr);
          }
          if (typeof element.$ref === 'string' && 'value' in element) element.value = element.$ref.split('/').pop();
          if ('primary' in element) element.primary = true;
          return element;
        }
        default:
          if (attr.canonicalValues?.length) return attr.canonicalValues[seq % attr.canonicalValues.length];
          if (attr.name === 'value' && parent?.name === 'emails') return `${randomUUID()}@${randomUUID()}.com`;
          if (attr.name === 'value' && parent?.name === 'phoneNumbers') return String(2015550000 + seq);
          return randomUUID();
      }
    };
    return attr.multiValued ? [one()] : one();
  }
}

const ALL_MUTABLE = ['readWrite', 'writeOnly', 'immutable'];

/** Every attribute of a resource type, core ones then extension ones with their URN prefix. */
function attributesOf(type: 'User' | 'Group'): { path: string; ext?: string; attr: SchemaAttribute }[] {
  const core = schemas.get(type === 'User' ? USER_URN : GROUP_URN)!;
  const out: { path: string; ext?: string; attr: SchemaAttribute }[] = [{ path: 'externalId', attr: externalIdAttribute }];
  out.push(...core.attributes.map((attr) => ({ path: attr.name, attr })));
  if (type === 'User') {
    out.push(...schemas.get(ENTERPRISE)!.attributes.map((attr) => ({ path: `${ENTERPRISE}:${attr.name}`, ext: ENTERPRISE, attr })));
  }
  return out;
}

/** RFC 7643 §3.1: `externalId` is common to every resource, outside the schemas. */
const externalIdAttribute: SchemaAttribute = {
  name: 'externalId',
  type: 'string',
  multiValued: false,
  required: false,
  caseExact: true,
  mutability: 'readWrite',
  returned: 'default',
};

const valueAt = (resource: Doc, entry: { ext?: string; attr: SchemaAttribute }) =>
  entry.ext ? resource[entry.ext]?.[entry.attr.name] : resource[entry.attr.name];

/** A resource with every attribute the schema lets a client write (scim2-tester `fill_all`). */
function filledResource(type: 'User' | 'Group', filler: Filler): Doc {
  const body: Doc = { schemas: type === 'User' ? [USER_URN, ENTERPRISE] : [GROUP_URN] };
  for (const entry of attributesOf(type)) {
    if (!ALL_MUTABLE.includes(entry.attr.mutability)) continue;
    const value = filler.value(entry.attr, ALL_MUTABLE);
    if (entry.ext) body[entry.ext] = { ...body[entry.ext], [entry.attr.name]: value };
    else body[entry.attr.name] = value;
  }
  return body;
}

async function createUser(extra: Doc = {}): Promise<Doc> {
  const res = await scim.request('POST', '/Users', { schemas: [USER_URN], userName: unique('user'), ...extra });
  expect(res.status).toBe(201);
  return res.body;
}

/** The user every generated reference points at (one per file, made on first use). */
let referenced: { id: string; location: string } | undefined;
async function referencedUser(): Promise<{ id: string; location: string }> {
  if (!referenced) {
    const user = await createUser();
    referenced = { id: user.id, location: user.meta.location };
  }
  return referenced;
}

/**
 * JSON Schema (draft 04) for a resource, built from `/Schemas` exactly as suvera's
 * `utils/JsonSchemaBuilder.java` builds it: each attribute typed, `canonicalValues` become an
 * `enum`, required attributes required, extensions as objects under their URN.
 */
function suveraJsonSchema(schemaId: string, extensionIds: string[]): Doc {
  const attribute = (attr: SchemaAttribute): Doc => {
    const node: Doc = {};
    const subs = attr.subAttributes ?? [];
    const properties = Object.fromEntries(subs.map((s) => [s.name, attribute(s)]));
    const required = subs.filter((s) => s.required).map((s) => s.name);
    if (attr.type === 'complex' && attr.multiValued) {
      Object.assign(node, { type: 'array', items: { type: 'object', properties, ...(required.length ? { required } : {}) } });
    } else if (attr.type === 'complex') {
      Object.assign(node, { type: 'object', properties, ...(required.length ? { required } : {}) });
    } else {
      node.type = { boolean: 'boolean', decimal: 'number', integer: 'integer' }[attr.type] ?? 'string';
    }
    if (attr.canonicalValues) node.enum = attr.canonicalValues;
    return node;
  };
  const schema = schemas.get(schemaId)!;
  const properties: Doc = { schemas: { type: 'array', items: { type: 'string' } }, id: { type: 'string' }, externalId: { type: 'string' } };
  for (const attr of schema.attributes) properties[attr.name] = attribute(attr);
  for (const id of extensionIds) {
    properties[id] = { type: 'object', properties: Object.fromEntries(schemas.get(id)!.attributes.map((a) => [a.name, attribute(a)])) };
  }
  return { type: 'object', properties, required: schema.attributes.filter((a) => a.required).map((a) => a.name) };
}

/** Its `buildList()` form: a ListResponse whose Resources are the resource schema. */
const suveraListSchema = (resource: Doc): Doc => ({
  type: 'object',
  properties: {
    schemas: { type: 'array', items: { type: 'string' } },
    totalResults: { type: 'integer' },
    startIndex: { type: 'integer' },
    itemsPerPage: { type: 'integer' },
    Resources: { type: 'array', items: resource },
  },
});

/** The draft-04 keywords those schemas use; an empty `enum` admits no value (draft 04 §5.5.1). */
function jsonSchemaErrors(schema: Doc, value: unknown, at = '$'): string[] {
  const errors: string[] = [];
  if (schema.enum && !schema.enum.includes(value)) errors.push(`${at}: ${JSON.stringify(value)} is not one of ${JSON.stringify(schema.enum)}`);
  switch (schema.type) {
    case 'object':
      if (typeof value !== 'object' || value === null || Array.isArray(value)) return [...errors, `${at}: not an object`];
      for (const key of schema.required ?? []) if (!(key in (value as Doc))) errors.push(`${at}: '${key}' is required`);
      for (const [key, sub] of Object.entries<Doc>(schema.properties ?? {})) {
        if ((value as Doc)[key] !== undefined) errors.push(...jsonSchemaErrors(sub, (value as Doc)[key], `${at}.${key}`));
      }
      return errors;
    case 'array':
      if (!Array.isArray(value)) return [...errors, `${at}: not an array`];
      for (const [i, item] of value.entries()) errors.push(...jsonSchemaErrors(schema.items ?? {}, item, `${at}[${i}]`));
      return errors;
    case 'string':
      return typeof value === 'string' ? errors : [...errors, `${at}: not a string`];
    case 'boolean':
      return typeof value === 'boolean' ? errors : [...errors, `${at}: not a boolean`];
    case 'integer':
      return Number.isInteger(value) ? errors : [...errors, `${at}: not an integer`];
    case 'number':
      return typeof value === 'number' ? errors : [...errors, `${at}: not a number`];
    default:
      return errors;
  }
}

// ---------------------------------------------------------------------------------------
// python-scim/scim2-tester
// ---------------------------------------------------------------------------------------

describe('scim2-tester: discovery (checkers/service_provider_config.py, resource_types.py, schemas.py, _discovery_utils.py, misc.py)', () => {
  it('serves ServiceProviderConfig, every ResourceType and Schema by id, and the schema each type names', async () => {
    expect((await scim.request('GET', '/ServiceProviderConfig')).body.schemas).toEqual([SPC_URN]);

    const types = await scim.request('GET', '/ResourceTypes');
    expect(types.body.Resources.length).toBeGreaterThan(0);
    for (const type of types.body.Resources) {
      // query_resource_type_by_id, resource_types_schema_validation
      const byId = await scim.request('GET', `/ResourceTypes/${type.id}`);
      expect(byId.status).toBe(200);
      expect(byId.body).toEqual(type);
      const schema = await scim.request('GET', `/Schemas/${type.schema}`);
      expect(schema.status).toBe(200);
      expect(schema.body.id).toBe(type.schema);
      for (const extension of type.schemaExtensions ?? []) expect((await scim.request('GET', `/Schemas/${extension.schema}`)).status).toBe(200);
    }

    // query_all_schemas, access_schema_by_id
    expect(schemas.size).toBeGreaterThan(0);
    for (const schema of schemas.values()) {
      const byId = await scim.request('GET', `/Schemas/${schema.id}`);
      expect(byId.status).toBe(200);
      expect(byId.body).toEqual(schema);
    }
  });

  it('answers an unknown schema id, an unknown resource type id and a random URL with a 404 Error', async () => {
    // access_invalid_schema, access_invalid_resource_type, misc.random_url
    for (const path of [`/Schemas/${randomUUID()}`, `/ResourceTypes/${randomUUID()}`, `/${randomUUID()}`]) {
      expectScimError(await scim.request('GET', path), 404);
    }
  });

  it.each(['/ServiceProviderConfig', '/Schemas', '/ResourceTypes'])('answers POST, PUT, PATCH and DELETE on %s with 405', async (endpoint) => {
    // _test_discovery_endpoint_methods: a bare request, no body
    for (const method of ['POST', 'PUT', 'PATCH', 'DELETE']) expectScimError(await scim.request(method, endpoint), 405);
  });
});

describe('scim2-tester: CRUD per resource type (checkers/resource_post.py, resource_get.py, resource_put.py, resource_delete.py)', () => {
  it.each(['User', 'Group'] as const)('creates, reads, lists, replaces and deletes a %s with every writable attribute', async (type) => {
    const endpoint = type === 'User' ? '/Users' : '/Groups';
    const filler = new Filler(await referencedUser());

    // object_creation (create_and_register with fill_all)
    const sent = filledResource(type, filler);
    const created = await scim.request('POST', endpoint, sent);
    expect(created.status).toBe(201);
    const id = created.body.id;
    for (const entry of attributesOf(type)) {
      if (entry.attr.mutability === 'writeOnly') expect(valueAt(created.body, entry)).toBeUndefined();
      else if (entry.attr.name !== 'members' && ALL_MUTABLE.includes(entry.attr.mutability)) expect(valueAt(created.body, entry)).toEqual(valueAt(sent, entry));
    }

    // object_query, object_query_without_id
    expect((await scim.request('GET', `${endpoint}/${id}`)).body).toEqual(created.body);
    const list = await scim.request('GET', endpoint);
    expect(list.body.Resources.map((r: Doc) => r.id)).toContain(id);

    // object_replacement: the created object, its readWrite and writeOnly attributes made
    // anew (sub-attributes of other mutabilities left out), sent with If-Match as
    // scim2-client does when etag.supported
    const replacement: Doc = { ...created.body };
    for (const entry of attributesOf(type)) {
      if (entry.attr.mutability !== 'readWrite' && entry.attr.mutability !== 'writeOnly') continue;
      const value = filler.value(entry.attr, ['readWrite', 'writeOnly']);
      if (entry.ext) replacement[entry.ext] = { ...replacement[entry.ext], [entry.attr.name]: value };
      else replacement[entry.attr.name] = value;
    }
    const put = await scim.request('PUT', `${endpoint}/${id}`, replacement, { 'if-match': created.body.meta.version });
    expect(put.status).toBe(200);
    expect(put.body.id).toBe(id);
    if (type === 'Group') {
      // members' sub-attributes are immutable, so the replacement carries `members: [{}]`: an
      // element with no value assigns nothing (RFC 7643 §2.5) and the PUT empties the list.
      expect(replacement.members).toEqual([{}]);
      expect(put.body.members).toEqual([]);
      expect(put.body.displayName).toBe(replacement.displayName);
    } else {
      expect(put.body.userName).toBe(replacement.userName);
      expect(put.body[ENTERPRISE]).toEqual(replacement[ENTERPRISE]);
    }

    // object_deletion
    expect((await scim.request('DELETE', `${endpoint}/${id}`, undefined, { 'if-match': put.body.meta.version })).status).toBe(204);
    expectScimError(await scim.request('GET', `${endpoint}/${id}`), 404);
  });
});

describe('scim2-tester: attributes and excludedAttributes (checkers/resource_query_attributes.py)', () => {
  // _pick_attribute_names: the first two default-returned, writable, optional attributes in
  // model order: externalId (common to all resources), then the schema's first such one.
  it.each([
    ['User', '/Users', 'name'],
    ['Group', '/Groups', 'members'],
  ] as const)('honours them for a %s on GET by id, on the list and on .search', async (type, endpoint, excluded) => {
    const created = (await scim.request('POST', endpoint, filledResource(type, new Filler(await referencedUser())))).body;
    expect(created.externalId).toEqual(expect.any(String));
    expect(created[excluded]).toBeDefined();

    const find = (res: ScimResponse) => (res.body.Resources ?? [res.body]).find((r: Doc) => r.id === created.id);
    const byId = (query: string) => scim.request('GET', `${endpoint}/${created.id}?${query}`);
    const list = (query: string) => scim.request('GET', `${endpoint}?count=200&${query}`);
    // The route this server claims; the root `/.search` that scim2-client's search() uses is
    // answered 501 (see the suvera /.search block).
    const search = (field: 'attributes' | 'excludedAttributes', name: string) =>
      scim.request('POST', `${endpoint}/.search`, { schemas: [SEARCH_URN], [field]: [name], count: 200 });

    for (const res of [await byId('attributes=externalId'), await list('attributes=externalId'), await search('attributes', 'externalId')]) {
      expect(res.status).toBe(200);
      expect(find(res)).toEqual({ schemas: expect.any(Array), id: created.id, externalId: created.externalId });
    }
    for (const res of [
      await byId(`excludedAttributes=${excluded}`),
      await list(`excludedAttributes=${excluded}`),
      await search('excludedAttributes', excluded),
    ]) {
      expect(res.status).toBe(200);
      expect(find(res)).not.toHaveProperty(excluded);
      expect(find(res).externalId).toBe(created.externalId);
    }
  });
});

describe('scim2-tester: PATCH add, replace and remove over every mutable attribute (checkers/patch_add.py, patch_replace.py, patch_remove.py)', () => {
  /** What a re-read shows for a patched value: the server's truth about members (all Users). */
  function expected(entry: { attr: SchemaAttribute }, value: unknown): unknown {
    if (entry.attr.name !== 'members') return value;
    return (value as Doc[]).map((m) => ({ value: m.value, $ref: m.$ref, type: 'User', display: expect.any(String) }));
  }

  async function readBack(endpoint: string, id: string, response: ScimResponse): Promise<Doc> {
    // A User PATCH answers 200 with the resource; a Group PATCH 204 (RFC 7644 §3.5.2), so the
    // suite skips its response check and only re-reads.
    if (endpoint === '/Users') expect(response.status).toBe(200);
    else expect(response.status).toBe(204);
    const again = await scim.request('GET', `${endpoint}/${id}`);
    if (endpoint === '/Users') expect(again.body).toEqual(response.body);
    return again.body;
  }

  it.each([
    ['User', '/Users'],
    ['Group', '/Groups'],
  ] as const)('adds then replaces each %s attribute, and the re-read shows the value sent', async (type, endpoint) => {
    const filler = new Filler(await referencedUser());
    const minimal = type === 'User' ? await createUser() : (await scim.request('POST', '/Groups', { displayName: unique('group') })).body;
    const entries = attributesOf(type).filter((e) => ALL_MUTABLE.includes(e.attr.mutability));
    expect(entries.length).toBeGreaterThan(type === 'User' ? 20 : 2);
    for (const op of ['add', 'replace'] as const) {
      // patch_add: optional attributes only; patch_replace: required ones too
      for (const entry of entries.filter((e) => op === 'replace' || !e.attr.required)) {
        const value = filler.value(entry.attr, ALL_MUTABLE);
        const res = await patch(`${endpoint}/${minimal.id}`, { op, path: entry.path, value });
        const resource = await readBack(endpoint, minimal.id, res);
        if (entry.attr.mutability === 'writeOnly') expect(valueAt(resource, entry)).toBeUndefined();
        else expect({ [entry.path]: valueAt(resource, entry) }).toEqual({ [entry.path]: expected(entry, value) });
      }
    }
  });

  it.each([
    ['User', '/Users'],
    ['Group', '/Groups'],
  ] as const)('removes each optional %s attribute from a fully filled resource', async (type, endpoint) => {
    const created = (await scim.request('POST', endpoint, filledResource(type, new Filler(await referencedUser())))).body;
    const entries = attributesOf(type).filter((e) => !e.attr.required && (e.attr.mutability === 'readWrite' || e.attr.mutability === 'writeOnly'));
    for (const entry of entries) {
      const resource = await readBack(endpoint, created.id, await patch(`${endpoint}/${created.id}`, { op: 'remove', path: entry.path }));
      const left = valueAt(resource, entry);
      if (entry.attr.name === 'active') {
        // Deviation the suite reports: `active` is the account state this server keeps for
        // every user; unassigned means the default, active (as on a create without it).
        expect(left).toBe(true);
      } else {
        expect({ [entry.path]: left ?? [] }).toEqual({ [entry.path]: [] });
      }
    }
  });

  it('adds, replaces and removes the enterprise extension as a whole, by its URN as the path', async () => {
    // generate_random_value fills an Extension when the path is the extension itself, and
    // checkers/patch/test_cases.py expects a REMOVE on the extension root to be accepted.
    const filler = new Filler(await referencedUser());
    const user = await createUser();
    const extension = Object.fromEntries(schemas.get(ENTERPRISE)!.attributes.map((a) => [a.name, filler.value(a, ALL_MUTABLE)]));

    const added = await patch(`/Users/${user.id}`, { op: 'add', path: ENTERPRISE, value: extension });
    expect(added.status).toBe(200);
    expect(added.body[ENTERPRISE]).toEqual(extension);
    expect(added.body.schemas).toEqual([USER_URN, ENTERPRISE]);

    const replaced = await patch(`/Users/${user.id}`, { op: 'replace', path: ENTERPRISE, value: { department: 'Finance' } });
    expect(replaced.body[ENTERPRISE]).toEqual({ ...extension, department: 'Finance' });

    const removed = await patch(`/Users/${user.id}`, { op: 'remove', path: ENTERPRISE });
    expect(removed.status).toBe(200);
    expect(removed.body).not.toHaveProperty(ENTERPRISE);
    expect(removed.body.schemas).toEqual([USER_URN]);
    expect((await scim.request('GET', `/Users/${user.id}`)).body).toEqual(removed.body);
  });

  it('refuses to remove a Group displayName, naming the requirement (checkers/patch/test_cases.py)', async () => {
    const group = (await scim.request('POST', '/Groups', { displayName: unique('group') })).body;
    const res = await patch(`/Groups/${group.id}`, { op: 'remove', path: 'displayName' });
    expectScimError(res, 400);
    expect(res.body.scimType).toBe('invalidValue');
    expect(res.body.detail).toContain('required');
  });
});

// ---------------------------------------------------------------------------------------
// suvera/scim2-compliance-test-utility
// ---------------------------------------------------------------------------------------

const SCIM_OR_JSON = /application\/(scim\+)?json/;

/** `ScimResponseValidator.processResponseHeaders`: the status, and a JSON content type unless 204. */
function expectSuveraHeaders(res: ScimResponse, statuses: number[]): void {
  expect(statuses).toContain(res.status);
  if (res.status !== 204) expect(res.headers.get('content-type')).toMatch(SCIM_OR_JSON);
}

/** `FakeData.generateUser`, driven by `/Schemas` and `/ResourceTypes` as the utility drives it. */
function suveraFakeUser(familyName: string): Doc {
  const core = schemas.get(USER_URN)!;
  const attribute = (name: string) => core.attributes.find((a) => a.name === name)!;
  const userName = unique('tony');
  const lorem = () => randomUUID().replace(/-/g, '').slice(0, 10);
  const address = Object.fromEntries(
    attribute('addresses').subAttributes!.map((s) => [s.name, s.name === 'primary' ? true : s.canonicalValues?.length ? s.canonicalValues[0] : lorem()]),
  );
  const name = Object.fromEntries(attribute('name').subAttributes!.map((s) => [s.name, s.name === 'familyName' ? familyName : lorem()]));
  const extension = Object.fromEntries(
    schemas
      .get(ENTERPRISE)!
      .attributes.filter((a) => a.name !== 'manager')
      .map((a) => [a.name, a.name === 'employeeNumber' ? `E${100000 + seq}` : lorem()]),
  );
  return {
    userName,
    externalId: userName,
    displayName: `Tony ${familyName}`,
    nickName: 'Iron Man',
    active: true,
    title: 'Mr.',
    phoneNumbers: [{ value: '(201) 555-0123', primary: true }],
    addresses: [address],
    emails: [{ value: `${userName}@opensource.suvera.dev`, primary: true }],
    name,
    password: 'hunter2hunter2',
    [ENTERPRISE]: extension,
    schemas: [USER_URN, ENTERPRISE],
  };
}

describe('suvera: discovery as SchemaFetcher validates it (biz/SchemaFetcher.java, resources/schema/*.schema.json)', () => {
  it('serves a ServiceProviderConfig with every member ServiceProviderConfig.schema.json requires', async () => {
    const res = await scim.request('GET', '/ServiceProviderConfig');
    expectSuveraHeaders(res, [200]);
    const spc = res.body;
    expect(spc.schemas).toEqual([SPC_URN]);
    expect(spc.meta.resourceType).toBe('ServiceProviderConfig');
    for (const feature of ['patch', 'changePassword', 'sort', 'etag']) expect(typeof spc[feature].supported).toBe('boolean');
    expect(spc.bulk).toEqual({ supported: expect.any(Boolean), maxOperations: expect.any(Number), maxPayloadSize: expect.any(Number) });
    expect(Number.isInteger(spc.filter.maxResults)).toBe(true);
    for (const scheme of spc.authenticationSchemes)
      expect(scheme).toMatchObject({ type: expect.any(String), name: expect.any(String), description: expect.any(String) });
  });

  it('serves ResourceTypes whose entries, followed to meta.location, are whole ResourceTypes', async () => {
    const res = await scim.request('GET', '/ResourceTypes');
    expectSuveraHeaders(res, [200]);
    for (const type of res.body.Resources) {
      expect(type).toMatchObject({
        schemas: [RESOURCE_TYPE_URN],
        meta: expect.any(Object),
        name: expect.any(String),
        endpoint: expect.any(String),
        schema: expect.any(String),
      });
      for (const extension of type.schemaExtensions ?? []) expect(extension).toEqual({ schema: expect.any(String), required: expect.any(Boolean) });
      const followed = await scim.request('GET', type.meta.location);
      expectSuveraHeaders(followed, [200]);
      expect(followed.body).toEqual(type);
    }
  });

  it('serves Schemas whose attributes carry every characteristic Schema.schema.json requires', async () => {
    const res = await scim.request('GET', '/Schemas');
    expectSuveraHeaders(res, [200]);
    expect(res.body.schemas).toEqual([LIST_URN]);
    const problems: string[] = [];
    const check = (attr: SchemaAttribute, at: string) => {
      for (const key of ['name', 'type', 'multiValued', 'description', 'required', 'mutability', 'returned'] as const) {
        if ((attr as unknown as Doc)[key] === undefined) problems.push(`${at}: no ${key}`);
      }
      if (!['string', 'boolean', 'decimal', 'integer', 'dateTime', 'reference', 'complex', 'binary'].includes(attr.type))
        problems.push(`${at}: type ${attr.type}`);
      if (attr.type === 'string' && typeof attr.caseExact !== 'boolean') problems.push(`${at}: a string without caseExact`);
      // JsonSchemaBuilder turns canonicalValues into an `enum`; an empty one admits no value.
      if (attr.canonicalValues && attr.canonicalValues.length === 0) problems.push(`${at}: empty canonicalValues`);
      for (const sub of attr.subAttributes ?? []) check(sub, `${at}.${sub.name}`);
    };
    for (const schema of res.body.Resources) {
      expect(schema).toMatchObject({ schemas: [SCHEMA_URN], id: expect.any(String), meta: expect.any(Object), attributes: expect.any(Array) });
      for (const attr of schema.attributes) check(attr, `${schema.id}:${attr.name}`);
      const followed = await scim.request('GET', schema.meta.location);
      expectSuveraHeaders(followed, [200]);
      expect(followed.body).toEqual(schema);
    }
    expect(problems).toEqual([]);
  });

  it('returns users that validate against the JSON Schema built from /Schemas, roles and certificates included', async () => {
    const user = await createUser({ roles: [{ value: 'admin', type: 'team' }], x509Certificates: [{ value: 'aGVsbG8=', type: 'signing' }] });
    expect(jsonSchemaErrors(suveraJsonSchema(USER_URN, [ENTERPRISE]), user)).toEqual([]);
  });
});

/**
 * One call as the utility makes it: the request, `processResponseHeaders`, then
 * `validateResponse` against the JSON Schema when there is a body.
 */
async function suveraCall(method: string, url: string, body: unknown, statuses: number[], jsonSchema?: Doc): Promise<ScimResponse> {
  const res = await scim.request(method, url, body);
  expectSuveraHeaders(res, statuses);
  if (jsonSchema && res.status !== 204) expect(jsonSchemaErrors(jsonSchema, res.body)).toEqual([]);
  return res;
}

describe('suvera: users (tests/user/UserCrudTests.java)', () => {
  it('creates, reads, lists, filters, replaces, patches and deletes a user, following meta.location', async () => {
    const userSchema = suveraJsonSchema(USER_URN, [ENTERPRISE]);
    const listSchema = suveraListSchema(userSchema);

    // createTest
    const body = suveraFakeUser('Stark');
    const create = await suveraCall('POST', '/Users', body, [201], userSchema);
    expect(create.body).toMatchObject({
      userName: body.userName,
      name: body.name,
      [ENTERPRISE]: body[ENTERPRISE],
      phoneNumbers: body.phoneNumbers,
      addresses: body.addresses,
    });
    expect(create.text).not.toContain(body.password);
    const location = create.body.meta.location;
    const other = await suveraCall('POST', '/Users', suveraFakeUser('Rogers'), [201], userSchema);

    // readTest, then listTest without and with the filter `name.familyName co "Stark"`
    await suveraCall('GET', location, undefined, [200], userSchema);
    await suveraCall('GET', '/Users?startIndex=1&count=10', undefined, [200], listSchema);
    const filtered = await suveraCall(
      'GET',
      `/Users?filter=${encodeURIComponent('name.familyName co "Stark"')}&startIndex=1&count=10`,
      undefined,
      [200],
      listSchema,
    );
    const ids = filtered.body.Resources.map((r: Doc) => r.id);
    expect(ids).toContain(create.body.id);
    expect(ids).not.toContain(other.body.id);

    // updateTest: PUT the create response back, as it came; it changes nothing
    const update = await suveraCall('PUT', location, create.text, [200], userSchema);
    expect(update.body.meta.version).toBe(create.body.meta.version);

    // patchTest
    const patched = await suveraCall('PATCH', location, patchBody({ op: 'replace', path: 'name.familyName', value: 'Stagger' }), [200, 204], userSchema);
    expect(patched.body.name.familyName).toBe('Stagger');

    // deleteTest
    await suveraCall('DELETE', location, undefined, [204]);
    await suveraCall('DELETE', other.body.meta.location, undefined, [204]);
    expect((await scim.request('GET', location)).status).toBe(404);
  });
});

describe('suvera: groups (tests/group/GroupCrudTests.java)', () => {
  it('creates, reads, lists, filters, replaces, adds a member with type and $ref, and deletes a group', async () => {
    const groupSchema = suveraJsonSchema(GROUP_URN, []);
    const listSchema = suveraListSchema(groupSchema);

    // createUser, validated with processResponse against the User schema
    const user = (await suveraCall('POST', '/Users', suveraFakeUser('Banner'), [201], suveraJsonSchema(USER_URN, [ENTERPRISE]))).body;

    // createTest, readTest
    const create = await suveraCall('POST', '/Groups', { schemas: [GROUP_URN], displayName: `stark.${unique('industries')}` }, [201], groupSchema);
    const location = create.body.meta.location;
    await suveraCall('GET', location, undefined, [200], groupSchema);

    // listTest: startIndex=0 is read as 1 (RFC 7644 §3.4.2.4)
    const list = await suveraCall('GET', '/Groups?startIndex=0&count=10', undefined, [200], listSchema);
    expect(list.body.startIndex).toBe(1);
    const filtered = await suveraCall(
      'GET',
      `/Groups?filter=${encodeURIComponent('displayName co "Stark"')}&startIndex=0&count=10`,
      undefined,
      [200],
      listSchema,
    );
    expect(filtered.body.Resources.map((g: Doc) => g.id)).toContain(create.body.id);

    // updateTest: PUT the create response back
    await suveraCall('PUT', location, create.text, [200], groupSchema);

    // patchTest, then a re-read to see the member
    await suveraCall(
      'PATCH',
      location,
      patchBody({ op: 'add', path: 'members', value: [{ value: user.id, type: 'User', $ref: user.meta.location }] }),
      [200, 204],
      groupSchema,
    );
    const after = await suveraCall('GET', location, undefined, [200], groupSchema);
    expect(after.body.members).toEqual([{ value: user.id, type: 'User', $ref: user.meta.location, display: user.displayName }]);

    // deleteTest, then deleteUser
    await suveraCall('DELETE', location, undefined, [204]);
    await suveraCall('DELETE', user.meta.location, undefined, [204]);
  });
});

describe('suvera: /Me, /.search and /Bulk (tests/misc/MeTests.java, SearchTests.java, BulkTests.java)', () => {
  it('answers /Me with 501: tokens here belong to IdP clients, not to a person (RFC 7644 §3.11)', async () => {
    // MeTests accepts 501, 308, 200 or 201.
    for (const method of ['GET', 'PUT', 'PATCH', 'DELETE', 'POST'])
      expectScimError(await scim.request(method, '/Me', method === 'GET' || method === 'DELETE' ? undefined : {}), 501);
  });

  it('searches /Users/.search and /Groups/.search, and answers a root /.search with 501', async () => {
    const search = (path: string, filter: string) => scim.request('POST', path, { schemas: [SEARCH_URN], filter, startIndex: 1, count: 0 });
    expectScimError(await search('/.search', '(meta.resourceType eq "User") and (displayName sw "s")'), 501);
    expectScimError(await scim.request('GET', `/?filter=${encodeURIComponent('displayName sw "s"')}`), 501);
    await createUser({ displayName: 'sam' });
    await scim.request('POST', '/Groups', { displayName: unique('s') });
    for (const [path, schemaId] of [
      ['/Users/.search', USER_URN],
      ['/Groups/.search', GROUP_URN],
    ] as const) {
      const listSchema = suveraListSchema(suveraJsonSchema(schemaId, schemaId === USER_URN ? [ENTERPRISE] : []));
      const res = await search(path, 'displayName sw "s"');
      expectSuveraHeaders(res, [200]);
      expect(jsonSchemaErrors(listSchema, res.body)).toEqual([]);
      expect(res.body).toMatchObject({ itemsPerPage: 0, Resources: [] });
      expect(res.body.totalResults).toBeGreaterThan(0);
    }
  });
});

// ---------------------------------------------------------------------------------------
// wso2-incubator/scim2-compliance-test-suite
// ---------------------------------------------------------------------------------------

describe('wso2: list, filter, pagination and sort (tests/ListTest.java, FilterTest.java, PaginationTest.java, SortTest.java)', () => {
  const json = { 'content-type': 'application/json', accept: 'application/json' };
  // The suites' bodies carry no `schemas`; each suite makes its own three users and groups.
  async function seed(suffix: string): Promise<{ users: Doc[]; groups: Doc[] }> {
    const users: Doc[] = [];
    const groups: Doc[] = [];
    for (const [i, name] of ['AbrTkAA', 'UttEdHt', 'KKTQwhr'].entries()) {
      const res = await scim.request('POST', '/Users', `{"password": "7019asd8${i + 1}","userName": "${name}${suffix}${i + 1}"}`, json);
      expect(res.status).toBe(201);
      expect(res.text).not.toContain('7019asd8');
      users.push(res.body);
    }
    for (const [i, name] of ['EYtXcD', 'BktqER', 'ZwLtOP'].entries()) {
      const res = await scim.request('POST', '/Groups', `{"displayName": "${name}${suffix}${i + 1}"}`, json);
      expect(res.status).toBe(201);
      groups.push(res.body);
    }
    return { users, groups };
  }

  /** ResponseValidateTests.runValidateTests: required attributes, the schema list, no `returned: never` attribute. */
  function expectValidResource(resource: Doc, schemaId: string): void {
    expect(resource.schemas).toContain(schemaId);
    expect(resource.id).toEqual(expect.any(String));
    for (const attr of schemas.get(schemaId)!.attributes) {
      if (attr.required) expect(resource).toHaveProperty(attr.name);
      if (attr.returned === 'never') expect(resource).not.toHaveProperty(attr.name);
    }
  }

  async function cleanUp(seeded: { users: Doc[]; groups: Doc[] }): Promise<void> {
    for (const u of seeded.users) expect((await scim.request('DELETE', `/Users/${u.id}`, undefined, json)).status).toBe(204);
    for (const g of seeded.groups) expect((await scim.request('DELETE', `/Groups/${g.id}`, undefined, json)).status).toBe(204);
  }

  it('lists users and groups containing every one created (ListTest)', async () => {
    const seeded = await seed('2');
    for (const [endpoint, created, schemaId] of [
      ['/Users', seeded.users, USER_URN],
      ['/Groups', seeded.groups, GROUP_URN],
    ] as const) {
      const res = await scim.request('GET', endpoint, undefined, json);
      expect(res.status).toBe(200);
      for (const r of res.body.Resources) expectValidResource(r, schemaId);
      expect(res.body.Resources.map((r: Doc) => r.id)).toEqual(expect.arrayContaining(created.map((c) => c.id)));
    }
    await cleanUp(seeded);
  });

  it('filters with an unquoted value and + for spaces, returning only exact matches (FilterTest)', async () => {
    const seeded = await seed('3');
    const users = await scim.request('GET', '/Users?filter=userName+eq+AbrTkAA31', undefined, json);
    expect(users.status).toBe(200);
    expect(users.body.Resources.map((u: Doc) => u.userName)).toEqual(['AbrTkAA31']);
    for (const u of users.body.Resources as Doc[]) expectValidResource(u, USER_URN);
    const groups = await scim.request('GET', '/Groups?filter=displayName+eq+EYtXcD31', undefined, json);
    expect(groups.body.Resources.map((g: Doc) => g.displayName)).toEqual(['EYtXcD31']);
    await cleanUp(seeded);
  });

  it('pages with startIndex=1&count=2 to exactly two (PaginationTest)', async () => {
    const seeded = await seed('1');
    for (const endpoint of ['/Users', '/Groups']) {
      const res = await scim.request('GET', `${endpoint}?startIndex=1&count=2`, undefined, json);
      expect(res.body).toMatchObject({ startIndex: 1, itemsPerPage: 2 });
      expect(res.body.Resources).toHaveLength(2);
      expect(res.body.totalResults).toBeGreaterThanOrEqual(3);
    }
    await cleanUp(seeded);
  });

  it('sorts by id in either order (SortTest)', async () => {
    // The suite's isUserListSorted/isGroupListSorted result is used inverted (it reports an
    // error when the list IS sorted); this follows RFC 7644 §3.4.2.3 instead.
    const seeded = await seed('4');
    for (const endpoint of ['/Users', '/Groups']) {
      const ascending = (await scim.request('GET', `${endpoint}?sortBy=id&sortOrder=ascending`, undefined, json)).body.Resources.map((r: Doc) => r.id);
      expect(ascending.length).toBeGreaterThanOrEqual(3);
      expect(ascending).toEqual([...ascending].sort());
      const descending = (await scim.request('GET', `${endpoint}?sortBy=id&sortOrder=descending`, undefined, json)).body.Resources.map((r: Doc) => r.id);
      expect(descending).toEqual([...ascending].reverse());
    }
    await cleanUp(seeded);
  });

  it('runs the user life cycle with its defined instances (UserTest, ComplianceConstants.DefinedInstances)', async () => {
    const created = await scim.request(
      'POST',
      '/Users',
      '{"password": "7019asd84","userName": "bjensenexamplecom","emails":[{"value": "bjensen@example.com","type": "work","primary": true },{"value": "babs@jensen.org","type": "home"}]}',
      json,
    );
    expect(created.status).toBe(201);
    expectValidResource(created.body, USER_URN);
    const url = `/Users/${created.body.id}`;
    expectValidResource((await scim.request('GET', url, undefined, json)).body, USER_URN);
    const updated = await scim.request(
      'PUT',
      url,
      '{"password": "7019asd84","userName": "bjensenexamplecom","emails": [{"value": "bjensen@wso2.com","type": "work","primary": true},{"value": "babs@wso2.org","type": "home"}]}',
      json,
    );
    expect(updated.status).toBe(200);
    expect(updated.body.emails).toEqual([
      { value: 'bjensen@wso2.com', type: 'work', primary: true },
      { value: 'babs@wso2.org', type: 'home' },
    ]);
    const patched = await scim.request(
      'PATCH',
      url,
      '{"schemas":["urn:ietf:params:scim:api:messages:2.0:PatchOp"],"Operations":[{"op":"add","value":{"nickName":"shaggy"}}]}',
      json,
    );
    expect(patched.status).toBe(200);
    expect(patched.body.nickName).toBe('shaggy');
    expectValidResource(patched.body, USER_URN);
    expect((await scim.request('DELETE', url, undefined, json)).status).toBe(204);
  });
});

// ---------------------------------------------------------------------------------------
// ServiceProviderConfig tells the truth (RFC 7643 §5)
// ---------------------------------------------------------------------------------------

describe('ServiceProviderConfig: what it claims works, what it disclaims is a SCIM error', () => {
  it('bulk is supported: the wso2 bulk request creates its user (RFC 7644 §3.7)', async () => {
    expect((await scim.request('GET', '/ServiceProviderConfig')).body.bulk).toEqual({ supported: true, maxOperations: 1000, maxPayloadSize: 1048576 });
    // The body of wso2's DefinedInstances.DEFINED_BULK_REQUEST
    const res = await scim.request('POST', '/Bulk', {
      failOnErrors: 1,
      schemas: ['urn:ietf:params:scim:api:messages:2.0:BulkRequest'],
      Operations: [{ method: 'POST', path: '/Users', bulkId: 'qwerty', data: { schemas: [USER_URN], userName: 'Alice', password: 'sachini' } }],
    });
    expect(res.status).toBe(200);
    expect(res.body.Operations).toEqual([expect.objectContaining({ method: 'POST', bulkId: 'qwerty', status: '201' })]);
    expect((await scim.request('GET', `/Users?filter=${encodeURIComponent('userName eq "Alice"')}`)).body.totalResults).toBe(1);
  });

  it('filter.maxResults caps every page, on GET and on .search', async () => {
    const { maxResults } = (await scim.request('GET', '/ServiceProviderConfig')).body.filter;
    const total = (await scim.request('GET', '/Users?count=0')).body.totalResults;
    for (let i = total; i <= maxResults; i++) await createUser();
    const get = await scim.request('GET', '/Users?count=1000');
    expect(get.body.totalResults).toBeGreaterThan(maxResults);
    expect(get.body.itemsPerPage).toBe(maxResults);
    expect(get.body.Resources).toHaveLength(maxResults);
    const search = await scim.request('POST', '/Users/.search', { schemas: [SEARCH_URN], filter: 'userName pr', count: 1000 });
    expect(search.body.Resources).toHaveLength(maxResults);
  });

  it('sort is supported: a multi-valued attribute sorts by its primary value, else the first (RFC 7644 §3.4.2.3)', async () => {
    const tag = unique('sortmv');
    const a = await createUser({ title: tag, emails: [{ value: 'zz@example.com' }, { value: 'bb@example.com', primary: true }] });
    const b = await createUser({ title: tag, emails: [{ value: 'cc@example.com' }] });
    const c = await createUser({
      title: tag,
      emails: [
        { value: 'aa@example.com', type: 'home' },
        { value: 'dd@example.com', type: 'work' },
      ],
    });
    const order = async (sortBy: string, sortOrder = 'ascending') =>
      (await scim.request('GET', `/Users?filter=${encodeURIComponent(`title eq "${tag}"`)}&sortBy=${sortBy}&sortOrder=${sortOrder}`)).body.Resources.map(
        (r: Doc) => r.id,
      );
    expect(await order('emails')).toEqual([c.id, a.id, b.id]);
    expect(await order('emails.value', 'descending')).toEqual([b.id, a.id, c.id]);
    // a's and b's elements have no type: they sort last, in creation order
    expect(await order('emails.type')).toEqual([c.id, a.id, b.id]);
  });

  it('sort is supported: what it cannot sort by, or an unknown sortOrder, is a 400 rather than an unsorted page', async () => {
    for (const query of ['sortBy=groups.display', 'sortBy=groups', 'sortOrder=sideways&sortBy=userName']) {
      const res = await scim.request('GET', `/Users?${query}`);
      expectScimError(res, 400);
      expect(res.body.scimType).toBe('invalidValue');
    }
    expectScimError(await scim.request('GET', '/Groups?sortBy=members.value'), 400);
    const tag = unique('sortg');
    for (const letter of ['b', 'C', 'a']) await scim.request('POST', '/Groups', { displayName: `${tag}${letter}` });
    const names = (
      await scim.request('GET', `/Groups?filter=${encodeURIComponent(`displayName sw "${tag}"`)}&sortBy=displayName&sortOrder=Descending`)
    ).body.Resources.map((g: Doc) => g.displayName);
    expect(names).toEqual([`${tag}C`, `${tag}b`, `${tag}a`]);
  });

  it('etag is supported for groups too: ETag is meta.version, If-None-Match gives 304, a stale If-Match 412', async () => {
    const created = await scim.request('POST', '/Groups', { displayName: unique('etag') });
    expect(created.headers.get('etag')).toBe(created.body.meta.version);
    const url = `/Groups/${created.body.id}`;
    const current = created.body.meta.version;
    const notModified = await scim.request('GET', url, undefined, { 'if-none-match': current });
    expect(notModified.status).toBe(304);
    expect(notModified.headers.get('etag')).toBe(current);

    const renamed = await scim.request('PATCH', url, patchBody({ op: 'replace', path: 'displayName', value: unique('etag') }), { 'if-match': current });
    expect(renamed.status).toBe(204);
    const next = renamed.headers.get('etag')!;
    expect(next).not.toBe(current);
    const listed = (await scim.request('GET', `/Groups?filter=${encodeURIComponent(`id eq "${created.body.id}"`)}`)).body.Resources[0];
    expect(listed.meta.version).toBe(next);

    const member = await createUser();
    for (const [method, body] of [
      ['PUT', { displayName: 'stale' }],
      ['PATCH', patchBody({ op: 'add', path: 'members', value: [{ value: member.id }] })],
      ['DELETE', undefined],
    ] as const) {
      expectScimError(await scim.request(method, url, body, { 'if-match': current }), 412);
    }
    const stillThere = await scim.request('GET', url);
    expect(stillThere.body.members).toEqual([]);
    expect(stillThere.body.meta.version).toBe(next);
    expect((await scim.request('DELETE', url, undefined, { 'if-match': next })).status).toBe(204);
  });
});
