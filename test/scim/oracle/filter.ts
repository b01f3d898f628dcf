import { EMAIL_SUBS, type Email, primaryOf, STRINGS, type StringAttr, stringOf, type User } from './model';

/**
 * An in-memory evaluator of SCIM filters, written from RFC 7644 §3.4.2.2, over the oracle's
 * model (model.ts). Filters are built as trees and rendered to text for the server, so the
 * oracle needs no parser.
 *
 * It answers `true`, `false`, or `undefined` where the RFCs leave the answer open
 * (docs/scim.md, "Where the RFCs leave a choice"); `and`, `or` and `not` combine those as
 * three-valued logic, so an open point decides a result only where it could change it:
 * - `ne` against a missing value: §3.4.2.2 defines `ne` as "not identical", not what a
 *   missing value is;
 * - ordering (`gt`, `ge`, `lt`, `le`) of strings other than lower-case letters and digits:
 *   "lexicographical" order of other characters depends on the collation.
 * Case folding of non-ASCII text is the third open point: the generators only make ASCII.
 */

export type Op = 'eq' | 'ne' | 'co' | 'sw' | 'ew' | 'gt' | 'ge' | 'lt' | 'le';
type EmailSub = keyof typeof EMAIL_SUBS | 'primary';

/** A condition on one email (inside `emails[...]`). */
export type ElementFilter =
  | { k: 'cmp'; sub: EmailSub; op: Op; value: string | boolean }
  | { k: 'pr'; sub: keyof typeof EMAIL_SUBS }
  | { k: 'and' | 'or'; l: ElementFilter; r: ElementFilter }
  | { k: 'not'; e: ElementFilter };

export type Filter =
  | { k: 'cmp'; attr: StringAttr | 'active' | `emails.${EmailSub}`; op: Op; value: string | boolean }
  | { k: 'pr'; attr: StringAttr | 'emails' | 'name' | 'emails.value' | 'emails.type' }
  | { k: 'and' | 'or'; l: Filter; r: Filter }
  | { k: 'not'; e: Filter }
  | { k: 'valuePath'; f: ElementFilter };

type Truth = boolean | undefined;

const and = (a: Truth, b: Truth): Truth => (a === false || b === false ? false : a === undefined || b === undefined ? undefined : true);
const or = (a: Truth, b: Truth): Truth => (a === true || b === true ? true : a === undefined || b === undefined ? undefined : false);
const not = (a: Truth): Truth => (a === undefined ? undefined : !a);
/** "If the specified attribute in a filter expression is a multi-valued attribute, the filter matches if any of the values ... match." */
const any = (values: Truth[]): Truth => values.reduce<Truth>((acc, v) => or(acc, v), false);

const ORDERABLE = /^[a-z0-9]*$/;

/** One comparison of an attribute's value (undefined: no value) with the filter's. */
function compare(actual: string | boolean | undefined, op: Op, expected: string | boolean, caseExact: boolean): Truth {
  if (actual === undefined) return op === 'ne' ? undefined : false;
  if (typeof actual === 'boolean' || typeof expected === 'boolean') {
    if (op === 'eq') return actual === expected;
    if (op === 'ne') return actual !== expected;
    throw new Error(`the oracle does not generate '${op}' on booleans`);
  }
  const a = caseExact ? actual : actual.toLowerCase();
  const b = caseExact ? expected : expected.toLowerCase();
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
  }
  if (!ORDERABLE.test(a) || !ORDERABLE.test(b)) return undefined;
  return { gt: a > b, ge: a >= b, lt: a < b, le: a <= b }[op];
}

const nonEmpty = (v: unknown) => v !== undefined && v !== null && v !== '';

function emailSub(email: Email, sub: EmailSub): string | boolean | undefined {
  return sub === 'primary' ? primaryOf(email) : email[sub];
}

function evaluateElement(f: ElementFilter, email: Email): Truth {
  switch (f.k) {
    case 'and':
      return and(evaluateElement(f.l, email), evaluateElement(f.r, email));
    case 'or':
      return or(evaluateElement(f.l, email), evaluateElement(f.r, email));
    case 'not':
      return not(evaluateElement(f.e, email));
    case 'pr':
      return nonEmpty(email[f.sub]);
    case 'cmp':
      return compare(emailSub(email, f.sub), f.op, f.value, f.sub === 'primary' ? true : EMAIL_SUBS[f.sub]);
  }
}

export function evaluate(f: Filter, user: User): Truth {
  const emails = user.emails ?? [];
  switch (f.k) {
    case 'and':
      return and(evaluate(f.l, user), evaluate(f.r, user));
    case 'or':
      return or(evaluate(f.l, user), evaluate(f.r, user));
    case 'not':
      return not(evaluate(f.e, user));
    case 'valuePath':
      return any(emails.map((e) => evaluateElement(f.f, e)));
    case 'pr':
      if (f.attr === 'emails') return emails.some((e) => Object.values(e).some(nonEmpty));
      if (f.attr === 'name') return Object.values(user.name ?? {}).some(nonEmpty);
      if (f.attr === 'emails.value' || f.attr === 'emails.type') {
        const sub = f.attr === 'emails.value' ? 'value' : 'type';
        return emails.some((e) => nonEmpty(e[sub]));
      }
      return nonEmpty(stringOf(user, f.attr));
    case 'cmp': {
      if (f.attr === 'active') return compare(user.active, f.op, f.value, true);
      if (f.attr.startsWith('emails.')) {
        const sub = f.attr.slice('emails.'.length) as EmailSub;
        if (emails.length === 0) return compare(undefined, f.op, f.value, true);
        return any(emails.map((e) => compare(emailSub(e, sub), f.op, f.value, sub === 'primary' ? true : EMAIL_SUBS[sub as keyof typeof EMAIL_SUBS])));
      }
      return compare(stringOf(user, f.attr as StringAttr), f.op, f.value, STRINGS[f.attr as StringAttr]);
    }
  }
}

/**
 * A filter as text. `spell` picks the case each attribute name and operator is written in:
 * RFC 7643 §2.1 and RFC 7644 §3.4.2.2 make both case-insensitive.
 */
export function render(f: Filter | ElementFilter, spell: (word: string) => string = (w) => w): string {
  const value = (v: string | boolean) => (typeof v === 'boolean' ? spell(String(v)) : JSON.stringify(v));
  switch (f.k) {
    case 'and':
    case 'or':
      return `(${render(f.l, spell)} ${spell(f.k)} ${render(f.r, spell)})`;
    case 'not':
      return `${spell('not')} (${render(f.e, spell)})`;
    case 'valuePath':
      return `${spell('emails')}[${render(f.f, spell)}]`;
    case 'pr':
      return `${spell('attr' in f ? f.attr : f.sub)} ${spell('pr')}`;
    case 'cmp':
      return `${spell('attr' in f ? f.attr : f.sub)} ${spell(f.op)} ${value(f.value)}`;
  }
}
