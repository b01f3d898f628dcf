import type { GroupRow, MemberRef, UserGroupRef, UserRow } from '../directory';
import type { Doc } from './normalize';
import { ENTERPRISE_URN, extensionFor, GROUP_URN, type ResourceDef, resolvePath, USER_URN } from './schema';

/**
 * The mapping between a SCIM resource document and the directory's table columns: a document
 * split into columns plus the `resource` jsonb remainder (for writes), and columns and jsonb
 * merged back into one SCIM object with `meta`, then `attributes`/`excludedAttributes` applied
 * (for responses). `id` and `schemas` are
 * always returned; `password` is never stored, so never returned.
 */

export const etagOf = (version: string | number) => `W/"${version}"`;

/** The user's stored attributes as one canonical document (what PATCH edits). */
export function userDoc(row: UserRow): Doc {
  return {
    ...row.resource,
    userName: row.user_name,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
    active: row.active,
  };
}

export function groupDoc(row: GroupRow): Doc {
  return {
    ...row.resource,
    displayName: row.display_name,
    ...(row.external_id !== null ? { externalId: row.external_id } : {}),
  };
}

/** Splits a canonical user document into its columns and the jsonb remainder. */
export function userFields(doc: Doc): { userName: string; externalId: string | null; active: boolean; resource: Doc } {
  const { userName, externalId, active, groups: _groups, ...resource } = doc;
  return {
    userName: userName as string,
    externalId: typeof externalId === 'string' ? externalId : null,
    active: active === undefined ? true : (active as boolean),
    resource,
  };
}

export function groupFields(doc: Doc): { displayName: string; externalId: string | null; resource: Doc } {
  const { displayName, externalId, members: _members, ...resource } = doc;
  return { displayName: displayName as string, externalId: typeof externalId === 'string' ? externalId : null, resource };
}

export function renderUser(row: UserRow, baseUrl: string, groups: UserGroupRef[] | undefined): Doc {
  const location = `${baseUrl}/Users/${row.id}`;
  const doc = userDoc(row);
  return {
    schemas: doc[ENTERPRISE_URN] ? [USER_URN, ENTERPRISE_URN] : [USER_URN],
    id: row.id,
    ...doc,
    ...(groups ? { groups: groups.map((g) => ({ value: g.groupId, display: g.displayName, $ref: `${baseUrl}/Groups/${g.groupId}`, type: 'direct' })) } : {}),
    meta: {
      resourceType: 'User',
      created: row.created_at.toISOString(),
      lastModified: row.updated_at.toISOString(),
      location,
      version: etagOf(row.version),
    },
  };
}

export function renderGroup(row: GroupRow, baseUrl: string, members: MemberRef[] | undefined): Doc {
  return {
    schemas: [GROUP_URN],
    id: row.id,
    ...groupDoc(row),
    ...(members ? { members: members.map((m) => ({ value: m.userId, display: m.display, $ref: `${baseUrl}/Users/${m.userId}`, type: 'User' })) } : {}),
    meta: {
      resourceType: 'Group',
      created: row.created_at.toISOString(),
      lastModified: row.updated_at.toISOString(),
      location: `${baseUrl}/Groups/${row.id}`,
      version: etagOf(row.version),
    },
  };
}

/** Canonical `[top-level key, sub-attribute?]` pairs of an attributes list; unknown names are dropped. */
export type Projection = { include?: [string, string | undefined][]; exclude?: [string, string | undefined][] };

function parseList(def: ResourceDef, raw: string | undefined): [string, string | undefined][] | undefined {
  if (raw === undefined || raw.trim() === '') return undefined;
  const out: [string, string | undefined][] = [];
  for (const listed of raw.split(',')) {
    // RFC 7644 §3.4.2.5 lists attribute names; Microsoft's reference tests ask for
    // `emails[type eq "work"]`, read here as the attribute it filters.
    const item = listed.replace(/\[[^\]]*\]/, '').trim();
    const ext = extensionFor(def, item);
    if (ext) {
      out.push([ext.urn, undefined]);
      continue;
    }
    const resolved = resolvePath(def, item);
    if (!resolved) continue;
    if (resolved.ext) out.push([resolved.ext, resolved.sub ? undefined : resolved.attr.name]);
    else out.push([resolved.attr.name, resolved.sub?.name]);
  }
  return out;
}

export function parseProjection(def: ResourceDef, attributes?: string, excludedAttributes?: string): Projection {
  const include = parseList(def, attributes);
  if (include) return { include };
  return { exclude: parseList(def, excludedAttributes) };
}

/** Whether a projection returns a top-level attribute (decides whether to query members/groups). */
export function returns(projection: Projection, name: string): boolean {
  if (projection.include) return projection.include.some(([top]) => top === name);
  return !projection.exclude?.some(([top, sub]) => top === name && sub === undefined);
}

const ALWAYS = new Set(['id', 'schemas']);

export function project(resource: Doc, projection: Projection): Doc {
  if (projection.include) {
    const out: Doc = {};
    for (const key of ALWAYS) if (resource[key] !== undefined) out[key] = resource[key];
    for (const [top, sub] of projection.include) {
      const value = resource[top];
      if (value === undefined) continue;
      if (sub === undefined) {
        out[top] = value;
      } else if (Array.isArray(value)) {
        out[top] = value.map((el, i) => ({ ...((out[top] as Doc[] | undefined)?.[i] ?? {}), ...(el?.[sub] !== undefined ? { [sub]: el[sub] } : {}) }));
      } else if (value && typeof value === 'object' && (value as Doc)[sub] !== undefined) {
        out[top] = { ...((out[top] as Doc) ?? {}), [sub]: (value as Doc)[sub] };
      }
    }
    return out;
  }
  if (!projection.exclude?.length) return resource;
  const out: Doc = { ...resource };
  for (const [top, sub] of projection.exclude) {
    if (ALWAYS.has(top)) continue;
    if (sub === undefined) {
      delete out[top];
    } else if (Array.isArray(out[top])) {
      out[top] = (out[top] as Doc[]).map(({ [sub]: _dropped, ...rest }) => rest);
    } else if (out[top] && typeof out[top] === 'object') {
      const { [sub]: _dropped, ...rest } = out[top] as Doc;
      out[top] = rest;
    }
  }
  return out;
}
