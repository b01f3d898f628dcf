import { UUID_PATTERN } from '../util';
import { invalidFilter, invalidPath, invalidSyntax, invalidValue, mutability, noTarget, tooMany } from './errors';
import { type FilterNode, parsePatchPath } from './filter';
import { coerceValue, type Doc } from './normalize';
import { type AttrDef, extensionFor, GROUP_DEF, MAX_MEMBERS_PER_REQUEST, MAX_PATCH_OPERATIONS, type ResourceDef, resolvePath } from './schema';

/**
 * The PATCH engine (RFC 7644 §3.5.2), a pure function over a canonical document.
 *
 * Group members are not in the document: a membership operation becomes a `MemberChange`
 * that the caller applies as a SQL delta, so a PATCH costs what it changes and never reads or
 * rewrites the whole member list.
 *
 * IdP shapes handled here (docs/idp-behaviour.md, "Entra quirks" and "Group push"): ops in any case (`Add`, `Replace`); a path-less
 * `add`/`replace` whose value keys are attribute paths (`name.givenName`, URN-prefixed keys,
 * an extension URN with an object, which may also be the `path`); Okta's `id` inside a
 * group-rename value (accepted when it is the resource's own id); `Remove` with
 * `path: "members"` and a value array (removes only those members; without a value it
 * removes all); `members[value eq "x"]`; `Add` to a filtered path with no matching element
 * creates it from the filter's `eq` terms;
 * `Replace` with an empty value clears the attribute; string booleans; `password` accepted
 * and discarded.
 */

export type MemberChange =
  | { kind: 'add'; ids: string[] }
  | { kind: 'remove'; ids: string[] }
  | { kind: 'replace'; ids: string[] }
  | { kind: 'removeAll' }
  | { kind: 'removeWhere'; filter: FilterNode };

export interface PatchResult {
  doc: Doc;
  memberChanges: MemberChange[];
}

type Op = 'add' | 'replace' | 'remove';

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** Reads the Operations array of a PatchOp body. */
export function parsePatchBody(body: unknown): { op: Op; path?: string; value?: unknown }[] {
  if (!isPlainObject(body)) throw invalidSyntax('the request body must be a JSON object');
  const key = Object.keys(body).find((k) => k.toLowerCase() === 'operations');
  const operations = key ? body[key] : undefined;
  if (!Array.isArray(operations) || operations.length === 0) throw invalidSyntax("a PATCH needs a non-empty 'Operations' array");
  if (operations.length > MAX_PATCH_OPERATIONS) throw tooMany(`a PATCH may carry at most ${MAX_PATCH_OPERATIONS} operations`);
  return operations.map((raw, i) => {
    if (!isPlainObject(raw)) throw invalidSyntax(`operation ${i + 1} must be an object`);
    const fields = Object.fromEntries(Object.entries(raw).map(([k, v]) => [k.toLowerCase(), v]));
    const op = typeof fields.op === 'string' ? fields.op.toLowerCase() : '';
    if (op !== 'add' && op !== 'replace' && op !== 'remove') {
      throw invalidSyntax(`operation ${i + 1}: 'op' must be add, replace or remove`);
    }
    const path = fields.path;
    if (path !== undefined && path !== null && typeof path !== 'string') throw invalidPath(`operation ${i + 1}: 'path' must be a string`);
    return { op, path: path === null || path === '' ? undefined : (path as string | undefined), value: fields.value };
  });
}

/** Applies PATCH operations to a copy of `doc`. `resourceId` lets a value repeat the id. */
export function applyPatch(def: ResourceDef, doc: Doc, body: unknown, resourceId: string): PatchResult {
  const state: PatchResult = { doc: structuredClone(doc), memberChanges: [] };
  for (const operation of parsePatchBody(body)) {
    if (operation.path === undefined) {
      applyPathless(def, state, operation.op, operation.value, resourceId);
    } else {
      applyPath(def, state, operation.op, operation.path, operation.value);
    }
  }
  return state;
}

/** A group PATCH that only adds, or only removes, members named by id. */
export interface MembershipPatch {
  op: 'add' | 'remove';
  ids: string[];
}

/**
 * Recognises the membership-only group PATCH every IdP sends for member adds and removes
 * (`add`/`Add` on `members`, `remove` with a value array, `members[value eq "<id>"]`) so the
 * caller can apply it without reading the group first. Anything else — attribute changes,
 * path-less operations, adds mixed with removes, other filters, or a body that does not parse
 * (whose error the general path reports, in its order) — returns undefined.
 */
export function membershipPatch(body: unknown): MembershipPatch | undefined {
  let operations: ReturnType<typeof parsePatchBody>;
  try {
    operations = parsePatchBody(body);
  } catch {
    return undefined;
  }
  const state: PatchResult = { doc: {}, memberChanges: [] };
  for (const operation of operations) {
    if (operation.path === undefined) return undefined;
    try {
      const path = parsePatchPath(operation.path);
      const resolved = resolvePath(GROUP_DEF, path.attr);
      if (!resolved || resolved.ext || resolved.attr.name !== 'members' || resolved.sub || path.subAttr) return undefined;
      memberOperation(state, operation.op, path.filter, undefined, operation.value);
    } catch {
      return undefined;
    }
  }
  const ops = new Set<'add' | 'remove'>();
  const ids: string[] = [];
  for (const change of state.memberChanges) {
    if (change.kind === 'add' || change.kind === 'remove') {
      ops.add(change.kind);
      ids.push(...change.ids);
    } else if (change.kind === 'removeWhere') {
      const id = memberIdOfFilter(change.filter);
      if (!id) return undefined;
      ops.add('remove');
      ids.push(id);
    } else {
      return undefined;
    }
  }
  const [op] = ops;
  if (ops.size !== 1 || !op) return undefined;
  return { op, ids: [...new Set(ids)] };
}

/** The id in `value eq "<uuid>"`, the filter Okta and Entra use to remove one member. */
function memberIdOfFilter(filter: FilterNode): string | undefined {
  if (filter.kind !== 'compare' || filter.op !== 'eq' || filter.path.toLowerCase() !== 'value') return undefined;
  return typeof filter.value === 'string' && UUID_PATTERN.test(filter.value) ? filter.value.toLowerCase() : undefined;
}

function applyPathless(def: ResourceDef, state: PatchResult, op: Op, value: unknown, resourceId: string): void {
  if (op === 'remove') throw noTarget("a 'remove' operation needs a path");
  // Some clients wrap the value map in a one-element array.
  const map = Array.isArray(value) && value.length === 1 ? value[0] : value;
  if (!isPlainObject(map)) throw invalidValue(`a '${op}' without a path needs an object value`);
  for (const [key, v] of Object.entries(map)) {
    const lower = key.toLowerCase();
    if (lower === 'id') {
      if (v !== undefined && v !== null && String(v) !== resourceId) throw mutability("'id' is read-only");
      continue;
    }
    if (lower === 'schemas' || lower === 'meta') continue;
    applyPath(def, state, op, key, v);
  }
}

/**
 * An extension addressed as a whole, by its URN as the path or as a path-less value key: its
 * attributes are handled like sub-attributes of a complex attribute (RFC 7644 §3.5.2), so
 * `add`/`replace` set the ones given and leave the others, `remove` drops the extension.
 */
function extensionOperation(def: ResourceDef, state: PatchResult, op: Op, urn: string, value: unknown): void {
  if (op === 'remove') {
    delete state.doc[urn];
    return;
  }
  if (value === null || value === undefined) return;
  if (!isPlainObject(value)) throw invalidValue(`'${urn}' must be an object`);
  for (const [key, v] of Object.entries(value)) applyPath(def, state, op, `${urn}:${key}`, v);
}

function applyPath(def: ResourceDef, state: PatchResult, op: Op, rawPath: string, value: unknown): void {
  const path = parsePatchPath(rawPath);
  const extension = path.filter ? undefined : extensionFor(def, path.attr);
  if (extension) {
    extensionOperation(def, state, op, extension.urn, value);
    return;
  }
  const resolved = resolvePath(def, path.attr);
  if (!resolved) {
    if (path.attr.toLowerCase() === 'password' || path.attr.toLowerCase().endsWith(':password')) return;
    throw noTarget(`'${path.attr}' is not an attribute of ${def.name}`);
  }
  const { ext, attr } = resolved;
  if (def === GROUP_DEF && !ext && attr.name === 'members') {
    memberOperation(state, op, path.filter, resolved.sub ?? (path.subAttr ? ({} as AttrDef) : undefined), value);
    return;
  }
  if (attr.mutability === 'writeOnly') return; // password: accepted, never stored
  if (attr.mutability === 'readOnly') throw mutability(`'${attr.name}' is read-only`);
  const container = containerFor(state.doc, ext, op !== 'remove');
  if (!container) return;

  if (path.filter) {
    if (!attr.multiValued || !attr.sub) throw invalidPath(`'${attr.name}' is not a multi-valued complex attribute`);
    const subName = path.subAttr;
    const sub = subName !== undefined ? attr.sub.get(subName.toLowerCase()) : undefined;
    if (subName !== undefined && !sub) throw noTarget(`'${attr.name}' has no sub-attribute '${subName}'`);
    filteredOperation(container, attr, path.filter, sub, op, value);
    return;
  }
  const sub = resolved.sub;
  if (sub) {
    if (sub.mutability === 'readOnly') throw mutability(`'${attr.name}.${sub.name}' is read-only`);
    subAttributeOperation(container, attr, sub, op, value);
    return;
  }
  attributeOperation(container, attr, op, value);
  if (ext && isPlainObject(state.doc[ext]) && Object.keys(state.doc[ext] as Doc).length === 0) delete state.doc[ext];
}

function containerFor(doc: Doc, ext: string | undefined, create: boolean): Doc | undefined {
  if (!ext) return doc;
  if (!isPlainObject(doc[ext])) {
    if (!create) return undefined;
    doc[ext] = {};
  }
  return doc[ext] as Doc;
}

const isEmpty = (v: unknown) => v === undefined || v === null || v === '' || (Array.isArray(v) && v.length === 0);

function attributeOperation(container: Doc, attr: AttrDef, op: Op, value: unknown): void {
  const name = attr.name;
  if (op === 'remove') {
    if (attr.multiValued && Array.isArray(value) && value.length > 0 && Array.isArray(container[name])) {
      // Remove only the listed elements (Entra's `Remove` with a value array).
      const drop = coerceValue(attr, value) as unknown[];
      container[name] = (container[name] as unknown[]).filter((el) => !drop.some((d) => sameElement(attr, el, d)));
      if ((container[name] as unknown[]).length === 0) delete container[name];
      return;
    }
    delete container[name];
    return;
  }
  if (isEmpty(value)) {
    // Replace/add with an empty value clears it (the Entra gallery checks "null/empty PATCH clears").
    if (op === 'replace') delete container[name];
    return;
  }
  const coerced = coerceValue(attr, value, name);
  if (coerced === undefined) {
    if (op === 'replace') delete container[name];
    return;
  }
  if (attr.multiValued) {
    const incoming = coerced as unknown[];
    const existing = op === 'add' && Array.isArray(container[name]) ? (container[name] as unknown[]) : [];
    const merged = [...existing];
    // The elements as they stand after this write, so the one-primary rule keeps the flag on
    // the element that is in the result, not on a copy of it.
    const written: unknown[] = [];
    for (const item of incoming) {
      const at = merged.findIndex((el) => sameElement(attr, el, item));
      if (at < 0) {
        written.push(item);
        merged.push(item);
        continue;
      }
      if (isPlainObject(merged[at]) && isPlainObject(item)) {
        // RFC 7644 §3.5.2.1: when the target already contains the value, no change SHOULD be
        // made; sub-attributes the value adds or changes are merged in.
        const same = Object.entries(item).every(([key, v]) => JSON.stringify((merged[at] as Doc)[key]) === JSON.stringify(v));
        if (!same) merged[at] = { ...merged[at], ...item };
      } else {
        merged[at] = item;
      }
      written.push(merged[at]);
    }
    container[name] = onePrimary(merged, written);
    return;
  }
  if (attr.type === 'complex' && isPlainObject(coerced) && isPlainObject(container[name]) && attr.name !== 'manager') {
    // RFC 7644 §3.5.2.1/3: sub-attributes not given are left unchanged.
    container[name] = { ...(container[name] as Doc), ...coerced };
    return;
  }
  container[name] = coerced;
}

function subAttributeOperation(container: Doc, attr: AttrDef, sub: AttrDef, op: Op, value: unknown): void {
  const name = attr.name;
  if (attr.multiValued) {
    // `emails.value` without a filter addresses that sub-attribute in every element.
    const elements = Array.isArray(container[name]) ? (container[name] as Doc[]) : [];
    if (elements.length === 0) {
      if (op === 'remove' || isEmpty(value)) return;
      container[name] = [{ [sub.name]: coerceValue(sub, value, `${name}.${sub.name}`) }];
      return;
    }
    for (const el of elements) setSub(el, sub, op, value, `${name}.${sub.name}`);
    return;
  }
  if (op === 'remove' || isEmpty(value)) {
    if (isPlainObject(container[name])) {
      delete (container[name] as Doc)[sub.name];
      if (Object.keys(container[name] as Doc).length === 0) delete container[name];
    }
    return;
  }
  if (!isPlainObject(container[name])) container[name] = {};
  const parent = container[name] as Doc;
  setSub(parent, sub, op, value, `${name}.${sub.name}`);
}

function setSub(el: Doc, sub: AttrDef, op: Op, value: unknown, label: string): void {
  if (op === 'remove' || isEmpty(value)) {
    delete el[sub.name];
    return;
  }
  const coerced = coerceValue(sub, value, label);
  if (coerced === undefined) delete el[sub.name];
  else el[sub.name] = coerced;
}

function filteredOperation(container: Doc, attr: AttrDef, filter: FilterNode, sub: AttrDef | undefined, op: Op, value: unknown): void {
  const name = attr.name;
  const elements = Array.isArray(container[name]) ? (container[name] as Doc[]) : [];
  const matches = elements.filter((el) => isPlainObject(el) && matchesElement(filter, el, attr));
  if (op === 'remove') {
    if (sub) for (const el of matches) delete el[sub.name];
    else container[name] = elements.filter((el) => !matches.includes(el));
    // The attribute may be absent altogether (nothing to remove from): then there is nothing to tidy.
    if (Array.isArray(container[name]) && (container[name] as unknown[]).length === 0) delete container[name];
    return;
  }
  if (matches.length === 0) {
    if (op === 'replace') throw noTarget(`no '${name}' element matches the filter`);
    // Entra: `Add emails[type eq "work"].value` on a user without a work email creates it.
    const seed = equalityTerms(filter, attr);
    if (!seed) throw noTarget(`no '${name}' element matches the filter, and the filter does not describe a new one`);
    const created: Doc = { ...seed };
    if (sub) {
      if (isEmpty(value)) return;
      created[sub.name] = coerceValue(sub, value, `${name}.${sub.name}`);
    } else {
      const merged = coerceValue({ ...attr, multiValued: false }, value, name);
      if (merged !== undefined && !isPlainObject(merged)) throw invalidValue(`'${name}' elements are objects`);
      Object.assign(created, merged ?? {});
    }
    container[name] = onePrimary([...elements, created], [created]);
    return;
  }
  for (const el of matches) {
    if (sub) {
      setSub(el, sub, op, value, `${name}.${sub.name}`);
    } else {
      const coerced = coerceValue({ ...attr, multiValued: false }, value, name);
      if (!isPlainObject(coerced)) throw invalidValue(`'${name}' elements are objects`);
      if (op === 'replace') {
        for (const key of Object.keys(el)) delete el[key];
      }
      Object.assign(el, coerced);
    }
  }
  container[name] = onePrimary(elements, matches);
}

/** At most one element of a multi-valued attribute is primary: the latest written one wins. */
function onePrimary(elements: unknown[], written: unknown[]): unknown[] {
  const winner = [...written].reverse().find((el) => isPlainObject(el) && el.primary === true);
  if (!winner) return elements;
  for (const el of elements) if (isPlainObject(el) && el !== winner && el.primary === true) delete el.primary;
  return elements;
}

/** Two elements are the same when their `value` (or the whole element) is equal. */
function sameElement(attr: AttrDef, a: unknown, b: unknown): boolean {
  if (isPlainObject(a) && isPlainObject(b)) {
    if (a.value !== undefined && b.value !== undefined) {
      const valueDef = attr.sub?.get('value');
      return valueDef && !valueDef.caseExact && typeof a.value === 'string' && typeof b.value === 'string'
        ? a.value.toLowerCase() === b.value.toLowerCase() && (a.type ?? null) === (b.type ?? null)
        : a.value === b.value && (a.type ?? null) === (b.type ?? null);
    }
    return JSON.stringify(a) === JSON.stringify(b);
  }
  return a === b;
}

/** `type eq "work" and primary eq true` → {type:"work", primary:true}; anything else → undefined. */
function equalityTerms(node: FilterNode, attr: AttrDef): Doc | undefined {
  if (node.kind === 'and') {
    const left = equalityTerms(node.left, attr);
    const right = equalityTerms(node.right, attr);
    return left && right ? { ...left, ...right } : undefined;
  }
  if (node.kind !== 'compare' || node.op !== 'eq' || node.value === null) return undefined;
  const sub = attr.sub?.get(node.path.toLowerCase());
  if (!sub) return undefined;
  return { [sub.name]: coerceValue(sub, node.value) };
}

/** Evaluates a value filter against one element of a multi-valued attribute. */
export function matchesElement(node: FilterNode, el: Doc, attr: AttrDef): boolean {
  switch (node.kind) {
    case 'and':
      return matchesElement(node.left, el, attr) && matchesElement(node.right, el, attr);
    case 'or':
      return matchesElement(node.left, el, attr) || matchesElement(node.right, el, attr);
    case 'not':
      return !matchesElement(node.expr, el, attr);
    case 'valuePath':
      throw invalidFilter('a value filter cannot contain another value filter');
    case 'present':
    case 'compare': {
      const sub = attr.sub?.get(node.path.toLowerCase());
      if (!sub) throw invalidFilter(`'${attr.name}' has no sub-attribute '${node.path}'`);
      const actual = el[sub.name];
      const present = !isEmpty(actual);
      if (node.kind === 'present') return present;
      if (node.value === null) return node.op === 'eq' ? !present : node.op === 'ne' ? present : false;
      // RFC 7643 §2.4: "If not specified, the value of 'primary' SHALL be assumed to be 'false'".
      if (!present && sub.name === 'primary' && sub.type === 'boolean') return compareValues(sub, false, node.op, node.value);
      if (!present) return node.op === 'ne';
      return compareValues(sub, actual, node.op, node.value);
    }
  }
}

function compareValues(sub: AttrDef, actual: unknown, op: string, expected: string | number | boolean): boolean {
  if (sub.type === 'boolean') {
    const want = typeof expected === 'boolean' ? expected : String(expected).toLowerCase() === 'true';
    if (op === 'eq') return actual === want;
    if (op === 'ne') return actual !== want;
    throw invalidFilter(`'${op}' does not apply to the boolean '${sub.name}'`);
  }
  if (sub.type === 'integer' || sub.type === 'decimal' || sub.type === 'dateTime') {
    const a = sub.type === 'dateTime' ? Date.parse(String(actual)) : Number(actual);
    const b = sub.type === 'dateTime' ? Date.parse(String(expected)) : Number(expected);
    const ordered: Record<string, boolean> = { eq: a === b, ne: a !== b, gt: a > b, lt: a < b, ge: a >= b, le: a <= b };
    if (op in ordered) return ordered[op]!;
  }
  const fold = (s: string) => (sub.caseExact ? s : s.toLowerCase());
  const a = fold(String(actual));
  const b = fold(String(expected));
  switch (op) {
    case 'eq':
      return a === b;
    case 'ne':
      return a !== b;
    case 'co':
      return a.includes(b);
    case 'sw':
      return a.startsWith(b);
    case 'ew':
      return a.endsWith(b);
    case 'gt':
      return a > b;
    case 'lt':
      return a < b;
    case 'ge':
      return a >= b;
    case 'le':
      return a <= b;
    default:
      throw invalidFilter(`unknown operator '${op}'`);
  }
}

/** Member ids of a members value: `[{value}]`, one `{value}`, or bare id strings. */
export function memberIds(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  const items = Array.isArray(value) ? value : [value];
  if (items.length > MAX_MEMBERS_PER_REQUEST) throw tooMany(`at most ${MAX_MEMBERS_PER_REQUEST} members per request`);
  const ids = items.map((item) => {
    const raw = isPlainObject(item) ? Object.entries(item).find(([k]) => k.toLowerCase() === 'value')?.[1] : item;
    if (typeof raw !== 'string' || !UUID_PATTERN.test(raw)) throw invalidValue("each member needs a 'value' that is a User id");
    return raw.toLowerCase();
  });
  return [...new Set(ids)];
}

function memberOperation(state: PatchResult, op: Op, filter: FilterNode | undefined, sub: AttrDef | undefined, value: unknown): void {
  if (sub) throw invalidPath("a members sub-attribute cannot be patched; patch 'members'");
  if (filter) {
    if (op !== 'remove') throw invalidPath(`'${op}' cannot target filtered members; use 'add' on 'members'`);
    state.memberChanges.push({ kind: 'removeWhere', filter });
    return;
  }
  if (op === 'add') {
    const ids = memberIds(value);
    if (ids.length) state.memberChanges.push({ kind: 'add', ids });
  } else if (op === 'replace') {
    state.memberChanges.push({ kind: 'replace', ids: memberIds(value) });
  } else if (value === undefined || value === null) {
    // RFC 7644 §3.5.2.2: remove on 'members' without a value removes every member.
    state.memberChanges.push({ kind: 'removeAll' });
  } else {
    state.memberChanges.push({ kind: 'remove', ids: memberIds(value) });
  }
}
