import SCIMMY from 'scimmy';

/**
 * Schemas, resource types and the service provider configuration come from scimmy's RFC 7643
 * definitions, so `/Schemas` and the validation of request bodies describe the same thing.
 * From those definitions this module builds an attribute tree (`AttrDef`) that the filter
 * compiler, the PATCH engine and the body normaliser use to resolve attribute names
 * case-insensitively and to know each attribute's type, case sensitivity and mutability.
 */

export const USER_URN = 'urn:ietf:params:scim:schemas:core:2.0:User';
export const GROUP_URN = 'urn:ietf:params:scim:schemas:core:2.0:Group';
export const ENTERPRISE_URN = 'urn:ietf:params:scim:schemas:extension:enterprise:2.0:User';
export const LIST_URN = 'urn:ietf:params:scim:api:messages:2.0:ListResponse';
export const PATCH_URN = 'urn:ietf:params:scim:api:messages:2.0:PatchOp';
export const SEARCH_URN = 'urn:ietf:params:scim:api:messages:2.0:SearchRequest';

/** Largest page a list request may ask for (`filter.maxResults`). */
export const MAX_RESULTS = 200;
/** Page size when `count` is absent. */
export const DEFAULT_COUNT = 100;
/** Most operations one PATCH may carry, and most member values in one request. */
export const MAX_PATCH_OPERATIONS = 1000;
export const MAX_MEMBERS_PER_REQUEST = 10_000;
/** RFC 7644 §3.7.4: the most operations, and the largest body in bytes, one bulk request may carry. */
export const MAX_BULK_OPERATIONS = 1000;
export const MAX_BULK_PAYLOAD_BYTES = 1_048_576;
/** Most members one list response (GET /Groups, /Groups/.search) renders, over all its groups: what one write may carry. */
export const MAX_LISTED_MEMBERS = MAX_MEMBERS_PER_REQUEST;

export type AttrType = 'string' | 'boolean' | 'decimal' | 'integer' | 'dateTime' | 'reference' | 'binary' | 'complex';

export interface AttrDef {
  name: string;
  type: AttrType;
  multiValued: boolean;
  caseExact: boolean;
  required: boolean;
  mutability: 'readOnly' | 'readWrite' | 'immutable' | 'writeOnly';
  returned: 'always' | 'never' | 'default' | 'request';
  /** Sub-attributes by lower-cased name (complex attributes only). */
  sub?: Map<string, AttrDef>;
}

/** A resource's attributes: the core schema's by lower-cased name, then each extension's. */
export interface ResourceDef {
  name: 'User' | 'Group';
  endpoint: '/Users' | '/Groups';
  coreUrn: string;
  attrs: Map<string, AttrDef>;
  extensions: Map<string, { urn: string; attrs: Map<string, AttrDef> }>;
}

interface DescribedAttribute {
  name: string;
  type: AttrType;
  multiValued: boolean;
  caseExact?: boolean;
  required?: boolean;
  mutability?: AttrDef['mutability'];
  returned?: AttrDef['returned'];
  subAttributes?: DescribedAttribute[];
}

let declared = false;

/** Declares the resource types and the advertised capabilities in scimmy, once per process. */
function declareScimmy(): void {
  if (declared) return;
  declared = true;
  SCIMMY.Resources.declare(SCIMMY.Resources.User.extend(SCIMMY.Schemas.EnterpriseUser, false));
  SCIMMY.Resources.declare(SCIMMY.Resources.Group);
  SCIMMY.Config.set({
    patch: { supported: true },
    bulk: { supported: true, maxOperations: MAX_BULK_OPERATIONS, maxPayloadSize: MAX_BULK_PAYLOAD_BYTES },
    filter: { supported: true, maxResults: MAX_RESULTS },
    changePassword: { supported: false },
    sort: { supported: true },
    etag: { supported: true },
    authenticationSchemes: [
      {
        type: 'oauthbearertoken',
        name: 'Bearer token',
        description: 'A per-client bearer token in the Authorization header (RFC 6750).',
        primary: true,
      },
    ],
  });
}

function toAttrDef(a: DescribedAttribute): AttrDef {
  const def: AttrDef = {
    name: a.name,
    type: a.type,
    multiValued: a.multiValued,
    caseExact: a.caseExact ?? false,
    required: a.required ?? false,
    mutability: a.mutability ?? 'readWrite',
    returned: a.returned ?? 'default',
  };
  if (a.subAttributes?.length) {
    def.sub = new Map(a.subAttributes.map((s) => [s.name.toLowerCase(), toAttrDef(s)]));
  }
  return def;
}

/**
 * scimmy's `describe()` returns Attribute instances whose RFC 7643 form is their `toJSON()`;
 * a JSON round trip reads that form. `id` and `externalId` are scimmy "shadow" attributes,
 * common to all resources (RFC 7643 §3.1), so they are added here.
 */
function attrMap(definition: { describe(): unknown }): Map<string, AttrDef> {
  const described = JSON.parse(JSON.stringify(definition.describe())) as { attributes: DescribedAttribute[] };
  const map = new Map(described.attributes.map((a) => [a.name.toLowerCase(), toAttrDef(a)]));
  const common = (name: string, mutability: AttrDef['mutability']): AttrDef => ({
    name,
    type: 'string',
    multiValued: false,
    caseExact: true,
    required: false,
    mutability,
    returned: name === 'id' ? 'always' : 'default',
  });
  map.set('id', common('id', 'readOnly'));
  map.set('externalid', common('externalId', 'readWrite'));
  return map;
}

function buildDefs(): { user: ResourceDef; group: ResourceDef } {
  declareScimmy();
  const userAttrs = attrMap(SCIMMY.Schemas.User.definition as never);
  const enterprise = attrMap(SCIMMY.Schemas.EnterpriseUser.definition as never);
  enterprise.delete('id');
  enterprise.delete('externalid');
  // RFC 7643 §8.7.1: meta is common to every resource; scimmy describes it outside the schema.
  const meta: AttrDef = {
    name: 'meta',
    type: 'complex',
    multiValued: false,
    caseExact: false,
    required: false,
    mutability: 'readOnly',
    returned: 'default',
    sub: new Map(
      (
        [
          ['resourceType', 'string'],
          ['created', 'dateTime'],
          ['lastModified', 'dateTime'],
          ['location', 'reference'],
          ['version', 'string'],
        ] as const
      ).map(([name, type]) => [
        name.toLowerCase(),
        { name, type, multiValued: false, caseExact: true, required: false, mutability: 'readOnly', returned: 'default' },
      ]),
    ),
  };
  userAttrs.set('meta', meta);
  const groupAttrs = attrMap(SCIMMY.Schemas.Group.definition as never);
  groupAttrs.set('meta', meta);
  return {
    user: {
      name: 'User',
      endpoint: '/Users',
      coreUrn: USER_URN,
      attrs: userAttrs,
      extensions: new Map([[ENTERPRISE_URN.toLowerCase(), { urn: ENTERPRISE_URN, attrs: enterprise }]]),
    },
    group: { name: 'Group', endpoint: '/Groups', coreUrn: GROUP_URN, attrs: groupAttrs, extensions: new Map() },
  };
}

const defs = buildDefs();
export const USER_DEF: ResourceDef = defs.user;
export const GROUP_DEF: ResourceDef = defs.group;

/**
 * An attribute reference resolved against a resource definition: `ext` is the extension URN
 * when the attribute lives in one, `attr` the top-level attribute, `sub` a sub-attribute.
 */
export interface ResolvedPath {
  ext?: string;
  attr: AttrDef;
  sub?: AttrDef;
}

/**
 * Resolves an attribute path as written by a client ("userName", "name.FamilyName",
 * "urn:...:enterprise:2.0:User:manager.value", "urn:...:core:2.0:User:emails", "manager") to
 * its definitions. Returns undefined for an attribute the schema does not have.
 */
export function resolvePath(def: ResourceDef, raw: string): ResolvedPath | undefined {
  let rest = raw;
  let attrs = def.attrs;
  let ext: string | undefined;
  const lower = raw.toLowerCase();
  if (lower.startsWith('urn:')) {
    if (lower.startsWith(`${def.coreUrn.toLowerCase()}:`)) {
      rest = raw.slice(def.coreUrn.length + 1);
    } else {
      const found = [...def.extensions.values()].find((e) => lower.startsWith(`${e.urn.toLowerCase()}:`));
      if (!found) return undefined;
      ext = found.urn;
      attrs = found.attrs;
      rest = raw.slice(found.urn.length + 1);
    }
  }
  const [attrName, subName, ...more] = rest.split('.');
  if (more.length > 0 || !attrName) return undefined;
  let attr = attrs.get(attrName.toLowerCase());
  if (!attr && !lower.startsWith('urn:')) {
    // RFC 7644 §3.10 asks clients to qualify extension attributes with their URN, but Entra's
    // tutorial sends `"path": "manager"`: a bare name no core attribute has is resolved in the
    // one extension that defines it.
    const [owner, ...others] = [...def.extensions.values()].filter((e) => e.attrs.has(attrName.toLowerCase()));
    if (owner && others.length === 0) {
      ext = owner.urn;
      attr = owner.attrs.get(attrName.toLowerCase());
    }
  }
  if (!attr) return undefined;
  if (subName === undefined) return { ext, attr };
  const sub = attr.sub?.get(subName.toLowerCase());
  return sub ? { ext, attr, sub } : undefined;
}

/** Finds the extension whose URN is exactly `key` (case-insensitive). */
export function extensionFor(def: ResourceDef, key: string): { urn: string; attrs: Map<string, AttrDef> } | undefined {
  return def.extensions.get(key.toLowerCase());
}

/** The scimmy schema definition used to validate a full resource before it is stored. */
export function scimmyDefinition(def: ResourceDef): { coerce(data: unknown, direction?: string): unknown } {
  return (def.name === 'User' ? SCIMMY.Schemas.User.definition : SCIMMY.Schemas.Group.definition) as never;
}

/** `/ServiceProviderConfig`, as scimmy renders the capabilities declared above. */
export async function serviceProviderConfig(baseUrl: string): Promise<Record<string, unknown>> {
  const spc = (await new SCIMMY.Resources.ServiceProviderConfig().read()) as unknown as Record<string, unknown>;
  return {
    ...spc,
    documentationUri: undefined,
    meta: { resourceType: 'ServiceProviderConfig', location: `${baseUrl}/ServiceProviderConfig` },
  };
}

/** `/Schemas` entries: core User, enterprise User, core Group. */
export function schemaDescriptions(baseUrl: string): Record<string, unknown>[] {
  declareScimmy();
  return [SCIMMY.Schemas.User, SCIMMY.Schemas.EnterpriseUser, SCIMMY.Schemas.Group].map((s) => {
    const described = JSON.parse(JSON.stringify(s.definition.describe())) as Record<string, unknown>;
    return withoutEmptyValues({
      ...described,
      meta: { resourceType: 'Schema', location: `${baseUrl}/Schemas/${described.id as string}` },
    }) as Record<string, unknown>;
  });
}

/** `/ResourceTypes` entries. */
export function resourceTypeDescriptions(baseUrl: string): Record<string, unknown>[] {
  return [
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'User',
      name: 'User',
      description: 'User Account',
      endpoint: '/Users',
      schema: USER_URN,
      schemaExtensions: [{ schema: ENTERPRISE_URN, required: false }],
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/User` },
    },
    {
      schemas: ['urn:ietf:params:scim:schemas:core:2.0:ResourceType'],
      id: 'Group',
      name: 'Group',
      description: 'Group',
      endpoint: '/Groups',
      schema: GROUP_URN,
      meta: { resourceType: 'ResourceType', location: `${baseUrl}/ResourceTypes/Group` },
    },
  ];
}

/**
 * Drops null values (Entra's schema discovery rejects them anywhere in a schema document) and
 * empty `canonicalValues` (scimmy gives `roles.type` and `x509Certificates.type` `[]`; tools
 * that turn canonical values into a JSON-Schema `enum`, as suvera's compliance utility does,
 * then reject every value of those attributes).
 */
function withoutEmptyValues(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(withoutEmptyValues);
  if (value && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value)
        .filter(([k, v]) => v !== null && v !== undefined && !(k === 'canonicalValues' && Array.isArray(v) && v.length === 0))
        .map(([k, v]) => [k, withoutEmptyValues(v)]),
    );
  }
  return value;
}
