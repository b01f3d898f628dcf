import { type Email, primaryOf, type User } from './model';

/**
 * PATCH semantics (RFC 7644 §3.5.2) over the oracle's model, written from the RFC text:
 *
 * - add, single-valued target: "the existing value is replaced" (§3.5.2.1);
 * - add, multi-valued target: "the value(s) ... SHALL be added", and "if the target location
 *   already contains the value specified, no changes SHOULD be made" (§3.5.2.1);
 * - replace without a filter: the attribute (all values of a multi-valued one) is replaced;
 *   on an attribute that has no value, "the operation [is treated] as an add" (§3.5.2.3);
 * - replace with a value filter that matches nothing: 400 `noTarget` (§3.5.2.3);
 * - remove: the attribute, or the values a filter selects; no value left means unassigned
 *   (§3.5.2.2);
 * - a value whose `primary` is true makes every other value non-primary (§3.5.2);
 * - the PATCH is atomic: on any failure nothing changes.
 *
 * Operations are generated as intents (`Intent`) and made concrete against the state they
 * apply to (`concretize`), so that they stay clear of the points the RFC leaves open
 * (docs/scim.md): an added email either has a value no email has (compared without case,
 * RFC 7643 §4.1.2) or is an exact copy of one; a filtered remove selects at least one email;
 * a remove names an attribute that has a value.
 */

export type Simple = 'nickName' | 'title' | 'displayName' | 'name.givenName';

export type Intent =
  | { k: 'set'; op: 'add' | 'replace'; path: Simple; value: string }
  | { k: 'remove'; path: Simple }
  | { k: 'pathless'; value: { nickName?: string; title?: string } }
  | { k: 'addEmails'; emails: Email[]; copyOf: number[] }
  | { k: 'replaceEmails'; emails: Email[] }
  | { k: 'removeEmails' }
  | { k: 'removeEmailAt'; index: number }
  | { k: 'replaceEmailValueOfType'; type: string; value: string };

/** A PatchOp operation as sent. */
export interface Operation {
  op: 'add' | 'replace' | 'remove';
  path?: string;
  value?: unknown;
}

export type Outcome = { status: 200; user: User } | { status: 400; scimType: 'noTarget' };

const sameValue = (a: Email, b: Email) => a.value.toLowerCase() === b.value.toLowerCase();

/** At most one primary (RFC 7643 §2.4 "MUST appear no more than once"): the last one given keeps it. */
function onePrimaryGiven(emails: Email[]): Email[] {
  const last = emails.map(primaryOf).lastIndexOf(true);
  return emails.map((e, i) => (primaryOf(e) && i !== last ? { value: e.value, ...(e.type ? { type: e.type } : {}) } : e));
}

/** Distinct values only: two emails of one value in one request is not a case the RFC settles. */
function distinct(emails: Email[]): Email[] {
  return emails.filter((e, i) => emails.findIndex((o) => sameValue(o, e)) === i);
}

function simpleValue(user: User, path: Simple): string | undefined {
  return path === 'name.givenName' ? user.name?.givenName : user[path];
}

function setSimple(user: User, path: Simple, value: string | undefined): void {
  if (path === 'name.givenName') {
    const name = { ...user.name, givenName: value };
    if (value === undefined) delete name.givenName;
    user.name = Object.keys(name).length ? name : undefined;
    if (!user.name) delete user.name;
    return;
  }
  if (value === undefined) delete user[path];
  else user[path] = value;
}

/** Other emails lose `primary` when `chosen` is primary (§3.5.2). */
function primaryWins(emails: Email[], chosen: Email | undefined): Email[] {
  if (!chosen || !primaryOf(chosen)) return emails;
  return emails.map((e) => (e === chosen || !primaryOf(e) ? e : { value: e.value, ...(e.type ? { type: e.type } : {}) }));
}

/**
 * Turns intents into operations against `start`, and what the RFC says the result is.
 * Returns undefined when an intent cannot be made concrete on that state (the case is skipped).
 */
export function concretize(start: User, intents: Intent[]): { operations: Operation[]; outcome: Outcome } | undefined {
  const user: User = structuredClone(start);
  const operations: Operation[] = [];
  let failed = false;
  for (const intent of intents) {
    const emails = user.emails ?? [];
    switch (intent.k) {
      case 'set':
        operations.push({ op: intent.op, path: intent.path, value: intent.value });
        setSimple(user, intent.path, intent.value);
        break;
      case 'remove':
        if (simpleValue(user, intent.path) === undefined) return undefined;
        operations.push({ op: 'remove', path: intent.path });
        setSimple(user, intent.path, undefined);
        break;
      case 'pathless':
        if (Object.keys(intent.value).length === 0) return undefined;
        operations.push({ op: 'replace', value: intent.value });
        for (const [k, v] of Object.entries(intent.value)) setSimple(user, k as Simple, v);
        break;
      case 'addEmails': {
        // New values, then exact copies of present ones (no change for those).
        const fresh = onePrimaryGiven(distinct(intent.emails).filter((e) => !emails.some((o) => sameValue(o, e))));
        const copies = emails.length ? intent.copyOf.map((i) => emails[i % emails.length]!) : [];
        // A copy of an email that is not primary, sent with a new primary, would stay; the
        // new primary then makes the copy non-primary, which is a change to it. Only copies
        // of emails the write leaves as they are are sent.
        const newPrimary = fresh.find(primaryOf);
        const sent = [...fresh, ...copies.filter((c) => !newPrimary || !primaryOf(c))];
        if (sent.length === 0) return undefined;
        operations.push({ op: 'add', path: 'emails', value: sent });
        user.emails = primaryWins([...emails, ...fresh], newPrimary);
        break;
      }
      case 'replaceEmails': {
        const next = onePrimaryGiven(distinct(intent.emails));
        if (next.length === 0) return undefined;
        operations.push({ op: 'replace', path: 'emails', value: next });
        user.emails = next;
        break;
      }
      case 'removeEmails':
        if (emails.length === 0) return undefined;
        operations.push({ op: 'remove', path: 'emails' });
        delete user.emails;
        break;
      case 'removeEmailAt': {
        if (emails.length === 0) return undefined;
        const target = emails[intent.index % emails.length]!;
        operations.push({ op: 'remove', path: `emails[value eq ${JSON.stringify(target.value)}]` });
        const left = emails.filter((e) => !sameValue(e, target));
        if (left.length) user.emails = left;
        else delete user.emails;
        break;
      }
      case 'replaceEmailValueOfType': {
        // The new value must not collide with another email's (distinct values, as above).
        const matches = emails.filter((e) => e.type !== undefined && e.type.toLowerCase() === intent.type.toLowerCase());
        if (emails.some((e) => !matches.includes(e) && e.value.toLowerCase() === intent.value.toLowerCase()) || matches.length > 1) return undefined;
        operations.push({ op: 'replace', path: `emails[type eq ${JSON.stringify(intent.type)}].value`, value: intent.value });
        if (matches.length === 0) failed = true;
        else user.emails = emails.map((e) => (matches.includes(e) ? { ...e, value: intent.value } : e));
        break;
      }
    }
  }
  return { operations, outcome: failed ? { status: 400, scimType: 'noTarget' } : { status: 200, user } };
}
