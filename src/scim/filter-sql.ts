import { UUID_PATTERN } from '../util';
import { invalidFilter, invalidValue } from './errors';
import type { CompareOp, FilterNode, FilterValue } from './filter';
import { type AttrDef, GROUP_DEF, type ResourceDef, resolvePath, USER_DEF } from './schema';

/**
 * Compiles a filter tree (filter.ts) into a parameterised SQL condition over the directory
 * tables, so lookups, pagination and sorting run in Postgres and never load every row.
 *
 * Where attributes live: the columns users(id, user_name, external_id, active, created_at,
 * updated_at) and groups(id, display_name, external_id, ...) hold the attributes IdPs look
 * up by (indexed, `lower()` for the case-insensitive ones); everything else is in the
 * `resource` jsonb. Multi-valued attributes are matched with EXISTS over
 * `jsonb_array_elements`, memberships (`User.groups`, `Group.members`) with EXISTS over
 * group_members.
 *
 * Every compiled condition is two-valued (never SQL NULL), so `not (...)` negates exactly:
 * a comparison on an absent attribute is false, and its negation true.
 *
 * Attribute names come from the schema (resolved case-insensitively), never from the client's
 * text, and every value is a bound parameter.
 */

export interface SqlFragment {
  sql: string;
  bindings: unknown[];
}

const frag = (sql: string, bindings: unknown[] = []): SqlFragment => ({ sql, bindings });
const TRUE = frag('TRUE');
const FALSE = frag('FALSE');

/** A single-valued attribute as SQL. */
interface ScalarField {
  kind: 'scalar';
  def: AttrDef;
  /** The value as text (for string comparison and sorting). */
  text: SqlFragment;
  /** A typed column (uuid, boolean, timestamptz) the planner can use an index on. */
  column?: SqlFragment;
  nullable: boolean;
  /** The jsonb value, when the attribute lives in `resource` (for `pr`). */
  json?: SqlFragment;
}

/** A multi-valued attribute: a condition on one element becomes "some element matches". */
interface ArrayField {
  kind: 'array';
  def: AttrDef;
  exists(condition: (element: ElementScope) => SqlFragment): SqlFragment;
  /**
   * The value a sort orders by: a sub-attribute of the primary element, else of the first
   * (RFC 7644 §3.4.2.3). Only attributes stored in `resource` have one; memberships do not.
   */
  sortValue?(sub: AttrDef): ScalarField;
  /** `attr pr` on a complex attribute as a whole; only attributes stored in `resource` have one. */
  present?(): SqlFragment;
}

/** Resolves an attribute of one element of a multi-valued attribute. */
type ElementScope = (subName: string) => ScalarField;

type Field = ScalarField | ArrayField;

interface TableScope {
  def: ResourceDef;
  alias: string;
  field(path: string): Field;
}

let aliasCounter = 0;
const nextAlias = () => {
  aliasCounter = (aliasCounter + 1) % 1_000_000;
  return `e${aliasCounter}`;
};

/** The jsonb values `pr` treats as absent (RFC 7644 §3.4.2.2 "non-empty value"). */
const EMPTY_JSON = `'null'::jsonb, '""'::jsonb, '[]'::jsonb, '{}'::jsonb`;

function jsonScalar(def: AttrDef, source: string, path: string[]): ScalarField {
  return {
    kind: 'scalar',
    def,
    text: frag(`(${source} #>> ?::text[])`, [path]),
    json: frag(`(${source} #> ?::text[])`, [path]),
    nullable: true,
  };
}

/** Elements of a jsonb array attribute, tolerating a stored non-array. */
function jsonArray(def: AttrDef, source: string, path: string[]): ArrayField {
  const elements = `CASE WHEN jsonb_typeof(${source} #> ?::text[]) = 'array' THEN ${source} #> ?::text[] ELSE '[]'::jsonb END`;
  return {
    kind: 'array',
    def,
    exists(condition) {
      const el = nextAlias();
      const scope: ElementScope = (subName) => {
        if (!def.sub) {
          if (subName !== 'value') throw invalidFilter(`'${def.name}' has no sub-attribute '${subName}'`);
          return { kind: 'scalar', def: { ...def, multiValued: false }, text: frag(`(${el}.v #>> '{}')`), json: frag(`${el}.v`), nullable: true };
        }
        const sub = def.sub.get(subName.toLowerCase());
        if (!sub) throw invalidFilter(`'${def.name}' has no sub-attribute '${subName}'`);
        const field = jsonScalar(sub, `${el}.v`, [sub.name]);
        // RFC 7643 §2.4: "If not specified, the value of 'primary' SHALL be assumed to be
        // 'false'" — for comparisons; `pr` still asks whether it was given.
        if (sub.name === 'primary' && sub.type === 'boolean') return { ...field, column: frag(`coalesce(${el}.v -> 'primary' = 'true'::jsonb, FALSE)`) };
        return field;
      };
      const cond = condition(scope);
      return frag(`EXISTS (SELECT 1 FROM jsonb_array_elements(${elements}) AS ${el}(v) WHERE ${cond.sql})`, [path, path, ...cond.bindings]);
    },
    present: def.sub
      ? () => {
          // RFC 7644 §3.4.2.2: a complex attribute is present when it "contains a non-empty
          // node": some element has a sub-attribute that is not null, "", [] or {}.
          const el = nextAlias();
          const kv = nextAlias();
          return frag(
            `EXISTS (SELECT 1 FROM jsonb_array_elements(${elements}) AS ${el}(v) WHERE CASE WHEN jsonb_typeof(${el}.v) = 'object' THEN EXISTS (SELECT 1 FROM jsonb_each(${el}.v) AS ${kv}(k, v) WHERE ${kv}.v NOT IN (${EMPTY_JSON})) ELSE ${el}.v NOT IN (${EMPTY_JSON}) END)`,
            [path, path],
          );
        }
      : undefined,
    sortValue(sub) {
      const el = nextAlias();
      return {
        kind: 'scalar',
        def: sub,
        text: frag(
          `(SELECT ${el}.v #>> ?::text[] FROM jsonb_array_elements(${elements}) WITH ORDINALITY AS ${el}(v, n) ORDER BY coalesce(${el}.v -> 'primary' = 'true'::jsonb, FALSE) DESC, ${el}.n LIMIT 1)`,
          [[sub.name], path, path],
        ),
        nullable: true,
      };
    },
  };
}

function column(def: AttrDef, sql: string, nullable: boolean, typed = false): ScalarField {
  return {
    kind: 'scalar',
    def,
    text: frag(typed ? `${sql}::text` : sql),
    column: typed ? frag(sql) : undefined,
    nullable,
  };
}

function sub(def: AttrDef, name: string): AttrDef {
  const found = def.sub?.get(name.toLowerCase());
  if (!found) throw new Error(`schema has no ${def.name}.${name}`);
  return found;
}

/** Membership as a multi-valued attribute: one element per group_members row. */
function membership(def: AttrDef, from: string, correlate: string, fields: Record<string, (alias: string, member: string) => ScalarField>): ArrayField {
  return {
    kind: 'array',
    def,
    exists(condition) {
      const gm = nextAlias();
      const other = nextAlias();
      const scope: ElementScope = (subName) => {
        const make = fields[subName.toLowerCase()];
        if (!make) throw invalidFilter(`'${def.name}.${subName}' is not filterable`);
        return make(gm, other);
      };
      const cond = condition(scope);
      return frag(
        `EXISTS (SELECT 1 FROM group_members ${gm} JOIN ${from} ${other} ON ${correlate.replaceAll('$gm', gm).replaceAll('$o', other)} WHERE ${cond.sql})`,
        cond.bindings,
      );
    },
  };
}

function resolveField(table: TableScope, path: string, columns: Record<string, (def: AttrDef) => Field>): Field {
  const resolved = resolvePath(table.def, path);
  if (!resolved) throw invalidFilter(`unknown attribute '${path}'`);
  const { ext, attr, sub: subDef } = resolved;
  const key = ext ? undefined : subDef ? `${attr.name}.${subDef.name}`.toLowerCase() : attr.name.toLowerCase();
  if (key && columns[key]) return columns[key]!(subDef ?? attr);
  if (!ext && attr.name === 'meta') throw invalidFilter(`'${path}' is not filterable`);
  if (!ext && columns[attr.name.toLowerCase()] && subDef) {
    // A sub-attribute of a membership: `groups.value`, `members.display`.
    const field = columns[attr.name.toLowerCase()]!(attr);
    if (field.kind !== 'array') throw invalidFilter(`'${path}' is not filterable`);
    return subAttributeOf(field, subDef.name);
  }
  const base = ext ? [ext, attr.name] : [attr.name];
  const source = `${table.alias}.resource`;
  if (attr.multiValued) {
    const array = jsonArray(attr, source, base);
    return subDef ? subAttributeOf(array, subDef.name) : array;
  }
  if (subDef) return jsonScalar(subDef, source, [...base, subDef.name]);
  return jsonScalar(attr, source, base);
}

/** `emails.value` without brackets: an array field narrowed to one sub-attribute. */
function subAttributeOf(array: ArrayField, subName: string): ArrayField {
  return {
    kind: 'array',
    def: array.def,
    exists: (condition) => array.exists((scope) => condition((name) => scope(name === 'value' ? subName : name))),
    sortValue: array.sortValue,
  };
}

const USER_ALIAS = 'u';
const GROUP_ALIAS = 'g';

function userTable(): TableScope {
  const attrs = USER_DEF.attrs;
  const groupsDef = attrs.get('groups')!;
  const columns: Record<string, (def: AttrDef) => Field> = {
    id: (d) => column(d, `${USER_ALIAS}.id`, false, true),
    username: (d) => column(d, `${USER_ALIAS}.user_name`, false),
    externalid: (d) => column(d, `${USER_ALIAS}.external_id`, true),
    active: (d) => column(d, `${USER_ALIAS}.active`, false, true),
    'meta.created': (d) => column(d, `${USER_ALIAS}.created_at`, false, true),
    'meta.lastmodified': (d) => column(d, `${USER_ALIAS}.updated_at`, false, true),
    groups: () =>
      membership(groupsDef, 'groups', `$o.id = $gm.group_id AND $gm.user_id = ${USER_ALIAS}.id`, {
        value: (gm) => column(sub(groupsDef, 'value'), `${gm}.group_id`, false, true),
        display: (_gm, g) => column(sub(groupsDef, 'display'), `${g}.display_name`, false),
      }),
  };
  const table: TableScope = { def: USER_DEF, alias: USER_ALIAS, field: (path) => resolveField(table, path, columns) };
  return table;
}

function memberFields(membersDef: AttrDef): Record<string, (gm: string, u: string) => ScalarField> {
  return {
    value: (gm) => column(sub(membersDef, 'value'), `${gm}.user_id`, false, true),
    display: (_gm, u) => ({
      ...column(sub(membersDef, 'display'), `coalesce(${u}.resource ->> 'displayName', ${u}.user_name)`, false),
    }),
  };
}

function groupTable(): TableScope {
  const membersDef = GROUP_DEF.attrs.get('members')!;
  const columns: Record<string, (def: AttrDef) => Field> = {
    id: (d) => column(d, `${GROUP_ALIAS}.id`, false, true),
    displayname: (d) => column(d, `${GROUP_ALIAS}.display_name`, false),
    externalid: (d) => column(d, `${GROUP_ALIAS}.external_id`, true),
    'meta.created': (d) => column(d, `${GROUP_ALIAS}.created_at`, false, true),
    'meta.lastmodified': (d) => column(d, `${GROUP_ALIAS}.updated_at`, false, true),
    members: () => membership(membersDef, 'users', `$o.id = $gm.user_id AND $gm.group_id = ${GROUP_ALIAS}.id`, memberFields(membersDef)),
  };
  const table: TableScope = { def: GROUP_DEF, alias: GROUP_ALIAS, field: (path) => resolveField(table, path, columns) };
  return table;
}

const USER_TABLE = userTable();
const GROUP_TABLE = groupTable();

export function tableFor(def: ResourceDef): TableScope {
  return def.name === 'User' ? USER_TABLE : GROUP_TABLE;
}

/** The SQL alias the compiled conditions use for the resource table (`users u`, `groups g`). */
export function aliasFor(def: ResourceDef): string {
  return tableFor(def).alias;
}

/** Compiles a filter over `users u` or `groups g`. */
export function compileFilter(def: ResourceDef, node: FilterNode): SqlFragment {
  const table = tableFor(def);
  return compileNode(node, (path) => table.field(path));
}

/**
 * Compiles a `members[...]` PATCH filter into a condition over `group_members gm` joined to
 * `users mu`, so a filtered member removal is one DELETE.
 */
export function compileMemberFilter(node: FilterNode, gmAlias: string, userAlias: string): SqlFragment {
  const fields = memberFields(GROUP_DEF.attrs.get('members')!);
  return compileNode(node, (path) => {
    if (path.includes('.')) throw invalidFilter(`'members.${path}' is not filterable`);
    const make = fields[path.toLowerCase()];
    if (!make) throw invalidFilter(`'members.${path}' is not filterable`);
    return make(gmAlias, userAlias);
  });
}

function compileNode(node: FilterNode, field: (path: string) => Field): SqlFragment {
  switch (node.kind) {
    case 'and':
    case 'or': {
      const left = compileNode(node.left, field);
      const right = compileNode(node.right, field);
      return frag(`(${left.sql} ${node.kind.toUpperCase()} ${right.sql})`, [...left.bindings, ...right.bindings]);
    }
    case 'not': {
      const inner = compileNode(node.expr, field);
      return frag(`(NOT ${inner.sql})`, inner.bindings);
    }
    case 'valuePath': {
      const f = field(node.path);
      if (f.kind !== 'array' || !f.def.sub) throw invalidFilter(`'${node.path}' is not a multi-valued complex attribute`);
      return f.exists((scope) =>
        compileNode(node.filter, (subPath) => {
          if (subPath.includes('.') || subPath.includes(':')) throw invalidFilter(`'${subPath}' is not a sub-attribute of '${node.path}'`);
          return scope(subPath);
        }),
      );
    }
    case 'present':
    case 'compare': {
      const f = field(node.path);
      if (f.kind === 'array') {
        if (node.kind === 'present' && f.present) return f.present();
        return f.exists((scope) => comparison(node, scope('value')));
      }
      // A complex attribute compared as a whole stands for its `value`, as a multi-valued one
      // does (RFC 7644 §3.4.2.2): Entra's manager check sends `manager eq "<id>"`.
      if (node.kind === 'compare' && f.def.type === 'complex' && f.def.sub?.has('value')) {
        const value = field(`${node.path}.value`);
        if (value.kind === 'scalar') return comparison(node, value);
      }
      return comparison(node, f);
    }
  }
}

function comparison(node: Extract<FilterNode, { kind: 'present' | 'compare' }>, f: ScalarField): SqlFragment {
  if (node.kind === 'present') return present(f);
  if (node.value === null) {
    if (node.op === 'eq') return negate(present(f));
    if (node.op === 'ne') return present(f);
    throw invalidFilter(`'${node.op}' cannot compare with null`);
  }
  if (node.op === 'ne') return negate(compare(f, 'eq', node.value, node.path));
  return compare(f, node.op, node.value, node.path);
}

function negate(f: SqlFragment): SqlFragment {
  return frag(`(NOT ${f.sql})`, f.bindings);
}

function present(f: ScalarField): SqlFragment {
  if (f.json) {
    return frag(`coalesce(${f.json.sql} NOT IN (${EMPTY_JSON}), FALSE)`, f.json.bindings);
  }
  if (!f.nullable) return TRUE;
  return frag(`(${f.text.sql} IS NOT NULL AND ${f.text.sql} <> '')`, [...f.text.bindings, ...f.text.bindings]);
}

/** `a IS NOT NULL AND cmp`: a comparison with an absent value is false, not NULL. */
function guarded(f: ScalarField, cmp: SqlFragment): SqlFragment {
  if (!f.nullable) return cmp;
  return frag(`(${f.text.sql} IS NOT NULL AND ${cmp.sql})`, [...f.text.bindings, ...cmp.bindings]);
}

const SQL_OPS: Record<'eq' | 'gt' | 'lt' | 'ge' | 'le', string> = { eq: '=', gt: '>', lt: '<', ge: '>=', le: '<=' };

/**
 * A dateTime compared at the millisecond precision documents show it in, so a timestamp the
 * server returned compares equal to itself (RFC 7644 §3.4.2.2) although Postgres stores
 * microseconds. Written as a range over the bare column, which keeps the comparison
 * sargable: `trunc(col) = t` is `t <= col < t + 1ms`, `trunc(col) > t` is `col >= t + 1ms`.
 */
function atMilliseconds(left: SqlFragment, op: keyof typeof SQL_OPS, isoMillis: string): SqlFragment {
  const at = '?::timestamptz';
  const next = "?::timestamptz + interval '1 millisecond'";
  switch (op) {
    case 'eq':
      return frag(`(${left.sql} >= ${at} AND ${left.sql} < ${next})`, [...left.bindings, isoMillis, ...left.bindings, isoMillis]);
    case 'gt':
      return frag(`${left.sql} >= ${next}`, [...left.bindings, isoMillis]);
    case 'ge':
      return frag(`${left.sql} >= ${at}`, [...left.bindings, isoMillis]);
    case 'lt':
      return frag(`${left.sql} < ${at}`, [...left.bindings, isoMillis]);
    case 'le':
      return frag(`${left.sql} < ${next}`, [...left.bindings, isoMillis]);
  }
}

function escapeLike(value: string): string {
  return value.replace(/[!%_]/g, (c) => `!${c}`);
}

function compare(f: ScalarField, op: Exclude<CompareOp, 'ne'>, value: Exclude<FilterValue, null>, path: string): SqlFragment {
  const type = f.def.type;
  if (type === 'complex') throw invalidFilter(`'${path}' is complex: compare one of its sub-attributes`);
  if (type === 'boolean') {
    if (op !== 'eq') throw invalidFilter(`'${op}' does not apply to the boolean '${path}'`);
    const b = typeof value === 'boolean' ? value : String(value).toLowerCase() === 'true' ? true : String(value).toLowerCase() === 'false' ? false : undefined;
    if (b === undefined) throw invalidFilter(`'${path}' is boolean: compare it with true or false`);
    if (f.column) return frag(`${f.column.sql} = ?`, [...f.column.bindings, b]);
    return frag(`coalesce(${f.json!.sql} = to_jsonb(?::boolean), FALSE)`, [...f.json!.bindings, b]);
  }
  if (type === 'dateTime' && op !== 'co' && op !== 'sw' && op !== 'ew') {
    if (typeof value !== 'string' || Number.isNaN(Date.parse(value))) throw invalidFilter(`'${path}' is a dateTime: compare it with a date string`);
    const left = f.column ?? frag(`(${f.text.sql})::timestamptz`, f.text.bindings);
    return guarded(f, atMilliseconds(left, op, new Date(value).toISOString()));
  }
  if ((type === 'integer' || type === 'decimal') && op !== 'co' && op !== 'sw' && op !== 'ew') {
    const n = typeof value === 'number' ? value : Number(value);
    if (typeof value === 'boolean' || !Number.isFinite(n)) throw invalidFilter(`'${path}' is a number: compare it with a number`);
    return guarded(f, frag(`(${f.text.sql})::numeric ${SQL_OPS[op]} ?::numeric`, [...f.text.bindings, n]));
  }
  const text = String(value);
  if (f.column && f.def.type === 'string' && f.def.name === 'id') {
    // ids are uuids: an `eq` on a non-uuid matches nothing instead of failing the cast. `id`
    // is case-exact (RFC 7643 §3.1) and rendered in lower case, so only that spelling matches;
    // the uuid comparison itself would ignore case.
    if (op === 'eq') return UUID_PATTERN.test(text) && text === text.toLowerCase() ? frag(`${f.column.sql} = ?::uuid`, [...f.column.bindings, text]) : FALSE;
  }
  if (f.column && f.def.name === 'value' && op === 'eq') {
    // Membership values are uuid columns.
    return UUID_PATTERN.test(text) ? frag(`${f.column.sql} = ?::uuid`, [...f.column.bindings, text]) : FALSE;
  }
  const ci = !f.def.caseExact;
  const left = ci ? frag(`lower(${f.text.sql})`, f.text.bindings) : f.text;
  const right = (v: string) => (ci ? frag('lower(?)', [v]) : frag('?', [v]));
  switch (op) {
    case 'eq':
    case 'gt':
    case 'lt':
    case 'ge':
    case 'le': {
      const r = right(text);
      return guarded(f, frag(`${left.sql} ${SQL_OPS[op]} ${r.sql}`, [...left.bindings, ...r.bindings]));
    }
    case 'co':
    case 'sw':
    case 'ew': {
      const pattern = `${op === 'sw' ? '' : '%'}${escapeLike(text)}${op === 'ew' ? '' : '%'}`;
      const r = right(pattern);
      return guarded(f, frag(`${left.sql} LIKE ${r.sql} ESCAPE '!'`, [...left.bindings, ...r.bindings]));
    }
  }
}

/**
 * `ORDER BY` for `sortBy`: the attribute (lower-cased when not case-exact; of a multi-valued
 * one, the primary element, else the first), then creation order and id so pages never
 * overlap or skip.
 */
export function compileSort(def: ResourceDef, sortBy: string | undefined, descending: boolean): SqlFragment {
  const table = tableFor(def);
  const tail = `${table.alias}.created_at ASC, ${table.alias}.id ASC`;
  if (!sortBy) return frag(tail);
  let f: Field;
  try {
    f = table.field(sortBy);
  } catch {
    throw invalidValue(`cannot sort by '${sortBy}'`);
  }
  if (f.kind === 'array') {
    const resolved = resolvePath(def, sortBy);
    const sub = resolved?.sub ?? resolved?.attr.sub?.get('value');
    if (!sub || !f.sortValue) throw invalidValue(`cannot sort by '${sortBy}'`);
    f = f.sortValue(sub);
  }
  if (f.def.type === 'complex') throw invalidValue(`cannot sort by the complex attribute '${sortBy}'`);
  const expr = f.column ? f.column : f.def.caseExact ? f.text : frag(`lower(${f.text.sql})`, f.text.bindings);
  return frag(`${expr.sql} ${descending ? 'DESC' : 'ASC'} NULLS LAST, ${tail}`, expr.bindings);
}
