import fc from 'fast-check';
import type { ElementFilter, Filter, Op } from './filter';
import type { Email, StringAttr, User } from './model';
import type { Intent, Simple } from './patch';

/**
 * fast-check generators for the oracle. Values come from small ASCII pools (non-ASCII case
 * folding is left open by the RFCs, docs/scim.md), so that filters often match and PATCHes
 * often collide with what is there.
 */

const WORDS = ['ann', 'Ann', 'ANNA', 'bob', 'Bob', 'cy', 'a', 'n', 'b0', 'x.y', 'A b'];
const TYPES = ['work', 'home', 'Work', 'other'];
const word = fc.constantFrom(...WORDS);
/** A word, a word with a digit (userNames end in one), or a piece of one. */
const needle = fc.oneof(
  word,
  fc.tuple(word, fc.integer({ min: 0, max: 3 })).map(([w, d]) => `${w}${d}`),
  fc.constantFrom('an', 'NN', 'o', '0', '.', ' '),
);
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(arb, { nil: undefined });

export const email: fc.Arbitrary<Email> = fc
  .record({
    value: fc.tuple(word, fc.constantFrom('@x', '@Y.org', '')).map(([w, d]) => `${w}${d}`),
    type: maybe(fc.constantFrom(...TYPES)),
    primary: maybe(fc.boolean()),
  })
  .map((e) => Object.fromEntries(Object.entries(e).filter(([, v]) => v !== undefined)) as unknown as Email);

/** At most one primary, and distinct values (compared without case), as a valid User has. */
function validEmails(emails: Email[]): Email[] | undefined {
  const distinct = emails.filter((e, i) => emails.findIndex((o) => o.value.toLowerCase() === e.value.toLowerCase()) === i);
  let primarySeen = false;
  const out = distinct.map((e) => {
    if (e.primary !== true) return e;
    if (primarySeen) return { value: e.value, ...(e.type ? { type: e.type } : {}) };
    primarySeen = true;
    return e;
  });
  return out.length ? out : undefined;
}

/** A user; `index` keeps userNames unique (they are unique without case, RFC 7643 §4.1.1). */
export const user = (index: number): fc.Arbitrary<User> =>
  fc
    .record({
      userName: word.map((w) => `${w}${index}`),
      externalId: maybe(word),
      displayName: maybe(word),
      nickName: maybe(word),
      title: maybe(word),
      active: fc.boolean(),
      name: maybe(fc.record({ givenName: maybe(word), familyName: maybe(word) })),
      emails: fc.array(email, { maxLength: 3 }),
    })
    .map(({ emails, name, ...rest }) => {
      const u = Object.fromEntries(Object.entries(rest).filter(([, v]) => v !== undefined)) as unknown as User;
      const cleanName = name ? Object.fromEntries(Object.entries(name).filter(([, v]) => v !== undefined)) : {};
      if (Object.keys(cleanName).length) u.name = cleanName;
      const valid = validEmails(emails);
      if (valid) u.emails = valid;
      return u;
    });

export const users: fc.Arbitrary<User[]> = fc.integer({ min: 1, max: 6 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => user(i))));

const STRING_OPS: Op[] = ['eq', 'ne', 'co', 'sw', 'ew', 'gt', 'ge', 'lt', 'le'];
const stringAttr = fc.constantFrom<StringAttr>('userName', 'externalId', 'displayName', 'nickName', 'title', 'name.givenName', 'name.familyName');

const elementLeaf: fc.Arbitrary<ElementFilter> = fc.oneof(
  fc.record({ k: fc.constant('cmp' as const), sub: fc.constant('value' as const), op: fc.constantFrom(...STRING_OPS), value: needle }),
  fc.record({ k: fc.constant('cmp' as const), sub: fc.constant('type' as const), op: fc.constantFrom(...STRING_OPS), value: fc.constantFrom(...TYPES) }),
  fc.record({ k: fc.constant('cmp' as const), sub: fc.constant('primary' as const), op: fc.constantFrom<Op>('eq', 'ne'), value: fc.boolean() }),
  fc.record({ k: fc.constant('pr' as const), sub: fc.constantFrom('value' as const, 'type' as const) }),
);

const elementFilter: fc.Arbitrary<ElementFilter> = fc.letrec<{ f: ElementFilter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    elementLeaf,
    fc.record({ k: fc.constantFrom('and' as const, 'or' as const), l: tie('f'), r: tie('f') }),
    fc.record({ k: fc.constant('not' as const), e: tie('f') }),
  ),
})).f;

const leaf: fc.Arbitrary<Filter> = fc.oneof(
  fc.record({ k: fc.constant('cmp' as const), attr: stringAttr, op: fc.constantFrom(...STRING_OPS), value: needle }),
  fc.record({ k: fc.constant('cmp' as const), attr: fc.constant('active' as const), op: fc.constantFrom<Op>('eq', 'ne'), value: fc.boolean() }),
  fc.record({ k: fc.constant('cmp' as const), attr: fc.constant('emails.value' as const), op: fc.constantFrom(...STRING_OPS), value: needle }),
  fc.record({
    k: fc.constant('cmp' as const),
    attr: fc.constant('emails.type' as const),
    op: fc.constantFrom(...STRING_OPS),
    value: fc.constantFrom(...TYPES),
  }),
  fc.record({ k: fc.constant('cmp' as const), attr: fc.constant('emails.primary' as const), op: fc.constantFrom<Op>('eq', 'ne'), value: fc.boolean() }),
  fc.record({
    k: fc.constant('pr' as const),
    attr: fc.oneof(stringAttr, fc.constantFrom('emails' as const, 'name' as const, 'emails.value' as const, 'emails.type' as const)),
  }),
  fc.record({ k: fc.constant('valuePath' as const), f: elementFilter }),
);

export const filter: fc.Arbitrary<Filter> = fc.letrec<{ f: Filter }>((tie) => ({
  f: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    leaf,
    fc.record({ k: fc.constantFrom('and' as const, 'or' as const), l: tie('f'), r: tie('f') }),
    fc.record({ k: fc.constant('not' as const), e: tie('f') }),
  ),
})).f;

/** How attribute names and operators are written: as the schema spells them, or in another case. */
export const spelling: fc.Arbitrary<(w: string) => string> = fc.constantFrom(
  (w: string) => w,
  (w: string) => w.toLowerCase(),
  (w: string) => w.toUpperCase(),
);

const simple = fc.constantFrom<Simple>('nickName', 'title', 'displayName', 'name.givenName');

export const intent: fc.Arbitrary<Intent> = fc.oneof(
  fc.record({ k: fc.constant('set' as const), op: fc.constantFrom('add' as const, 'replace' as const), path: simple, value: word }),
  fc.record({ k: fc.constant('remove' as const), path: simple }),
  fc.record({
    k: fc.constant('pathless' as const),
    value: fc
      .record({ nickName: maybe(word), title: maybe(word) })
      .map((v) => Object.fromEntries(Object.entries(v).filter(([, x]) => x !== undefined)) as { nickName?: string; title?: string }),
  }),
  fc.record({ k: fc.constant('addEmails' as const), emails: fc.array(email, { maxLength: 2 }), copyOf: fc.array(fc.nat(5), { maxLength: 2 }) }),
  fc.record({ k: fc.constant('replaceEmails' as const), emails: fc.array(email, { minLength: 1, maxLength: 3 }) }),
  fc.record({ k: fc.constant('removeEmails' as const) }),
  fc.record({ k: fc.constant('removeEmailAt' as const), index: fc.nat(5) }),
  fc.record({
    k: fc.constant('replaceEmailValueOfType' as const),
    type: fc.constantFrom(...TYPES),
    value: fc.tuple(word, fc.constant('@new')).map(([w, d]) => `${w}${d}`),
  }),
);
