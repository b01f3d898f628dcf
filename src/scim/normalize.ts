import { invalidSyntax, invalidValue, mutability } from './errors';
import { type AttrDef, extensionFor, GROUP_DEF, type ResourceDef, resolvePath } from './schema';

/**
 * Turns a client's resource body into this server's canonical document, driven by the
 * schema definitions (schema.ts):
 *
 * - attribute names are matched case-insensitively and written in their schema spelling;
 *   extension attributes live under their URN key, also when sent as `urn:...:User:attr`;
 * - values are coerced to the attribute's type the way the IdPs need: Entra's string booleans
 *   ("True", "false") become booleans, a bare string for a complex attribute becomes
 *   `{value}` (Entra sends `manager` as a plain id), a one-element array for a single-valued
 *   attribute becomes its element (the legacy `manager: [{value}]` form), a number sent for a
 *   string attribute keeps its digits as sent;
 * - `null` means "absent" (Entra sends nulls for unmapped attributes);
 * - read-only attributes (`id`, `meta`, `groups`, `manager.displayName`) are ignored, as RFC
 *   7644 §3.3 asks, and `password` is dropped: this server has no use for it and never stores
 *   or returns it (RFC 7643 §4.1.1 `returned: never`);
 * - attributes the schema does not define, and unknown schema URNs (Microsoft's extra Group
 *   URN), are ignored.
 *
 * A value of the wrong type is a 400 `invalidValue` naming the attribute, never a 500.
 */

export type Doc = Record<string, unknown>;

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Coerces one value to the attribute's type; undefined means "no value". */
export function coerceValue(def: AttrDef, value: unknown, label = def.name): unknown {
  if (value === null || value === undefined) return undefined;
  if (def.multiValued) {
    const items = Array.isArray(value) ? value : [value];
    const out = items.map((item) => coerceSingle({ ...def, multiValued: false }, item, label)).filter((item) => item !== undefined);
    return out;
  }
  if (Array.isArray(value)) {
    if (value.length === 0) return undefined;
    if (value.length === 1) return coerceSingle(def, value[0], label);
    throw invalidValue(`'${label}' is single-valued but got ${value.length} values`);
  }
  return coerceSingle(def, value, label);
}

function coerceSingle(def: AttrDef, value: unknown, label: string): unknown {
  if (value === null || value === undefined) return undefined;
  switch (def.type) {
    case 'complex': {
      if (typeof value === 'string' || typeof value === 'number') {
        if (value === '') return undefined;
        if (def.sub?.has('value')) return { value: String(value) };
      }
      if (!isPlainObject(value)) throw invalidValue(`'${label}' must be an object`);
      const out: Doc = {};
      for (const [key, v] of Object.entries(value)) {
        const sub = def.sub?.get(key.toLowerCase());
        if (!sub || sub.mutability === 'readOnly') continue;
        const coerced = coerceValue(sub, v, `${label}.${sub.name}`);
        if (coerced !== undefined) out[sub.name] = coerced;
      }
      return Object.keys(out).length ? out : undefined;
    }
    case 'boolean': {
      if (typeof value === 'boolean') return value;
      if (typeof value === 'string') {
        const lower = value.trim().toLowerCase();
        if (lower === 'true') return true;
        if (lower === 'false') return false;
      }
      throw invalidValue(`'${label}' must be a boolean`);
    }
    case 'integer':
    case 'decimal': {
      const n = typeof value === 'number' ? value : typeof value === 'string' && value.trim() !== '' ? Number(value) : NaN;
      if (!Number.isFinite(n) || (def.type === 'integer' && !Number.isInteger(n))) {
        throw invalidValue(`'${label}' must be ${def.type === 'integer' ? 'an integer' : 'a number'}`);
      }
      return n;
    }
    case 'dateTime': {
      if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalidValue(`'${label}' must be a date-time string`);
      return value;
    }
    default: {
      if (typeof value === 'string') return value;
      if (typeof value === 'number') return String(value);
      if (typeof value === 'boolean') return String(value);
      throw invalidValue(`'${label}' must be a string`);
    }
  }
}

/** Sets `doc[ext?][attr][sub?]`, creating the containers on the way. */
function setAt(doc: Doc, ext: string | undefined, attr: string, sub: string | undefined, value: unknown): void {
  if (ext && !isPlainObject(doc[ext])) doc[ext] = {};
  const container = ext ? (doc[ext] as Doc) : doc;
  if (sub === undefined) {
    container[attr] = value;
    return;
  }
  if (!isPlainObject(container[attr])) container[attr] = {};
  const parent = container[attr] as Doc;
  parent[sub] = value;
}

const IGNORED_KEYS = new Set(['schemas', 'id', 'meta', 'password']);

/**
 * Canonical document from a POST or PUT body. Read-only attributes are ignored; `resourceId`
 * (PUT) must match an `id` the client sends, if it sends one.
 */
export function normalizeResource(def: ResourceDef, body: unknown, resourceId?: string): Doc {
  if (!isPlainObject(body)) throw invalidSyntax('the request body must be a JSON object');
  const doc: Doc = {};
  for (const [key, value] of Object.entries(body)) {
    const lower = key.toLowerCase();
    if (lower === 'id' && resourceId !== undefined && value !== undefined && value !== null && String(value) !== resourceId) {
      throw mutability(`'id' is read-only and does not match the resource`);
    }
    if (IGNORED_KEYS.has(lower)) continue;
    const ext = extensionFor(def, key);
    if (ext) {
      if (value === null || value === undefined) continue;
      if (!isPlainObject(value)) throw invalidValue(`'${ext.urn}' must be an object`);
      for (const [subKey, subValue] of Object.entries(value)) {
        const attr = ext.attrs.get(subKey.toLowerCase());
        if (!attr || attr.mutability === 'readOnly') continue;
        const coerced = coerceValue(attr, subValue);
        if (coerced !== undefined) setAt(doc, ext.urn, attr.name, undefined, coerced);
      }
      continue;
    }
    const resolved = resolvePath(def, key);
    if (!resolved || resolved.attr.mutability === 'readOnly' || resolved.attr.mutability === 'writeOnly') continue;
    const target = resolved.sub ?? resolved.attr;
    if (target.mutability === 'readOnly') continue;
    const coerced = coerceValue(target, value, key);
    if (coerced === undefined) continue;
    setAt(doc, resolved.ext, resolved.attr.name, resolved.sub?.name, coerced);
  }
  assertRequired(def, doc);
  return doc;
}

/** Checks what the schema requires of a whole resource (after a write or a PATCH). */
export function assertRequired(def: ResourceDef, doc: Doc): void {
  const key = def === GROUP_DEF ? 'displayName' : 'userName';
  const value = doc[key];
  if (typeof value !== 'string' || value.trim() === '') throw invalidValue(`'${key}' is required`);
}
