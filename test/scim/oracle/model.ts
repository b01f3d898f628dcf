/**
 * The oracle's model of a SCIM User: the attributes it generates and checks, with the
 * characteristics RFC 7643 §4.1 gives them. Written from the RFCs, independent of src/scim.
 */

export interface Email {
  value: string;
  type?: string;
  primary?: boolean;
}

export interface User {
  userName: string;
  externalId?: string;
  displayName?: string;
  nickName?: string;
  title?: string;
  active: boolean;
  name?: { givenName?: string; familyName?: string };
  emails?: Email[];
}

/** Single-valued string attributes and whether they are case-exact (RFC 7643 §3.1, §4.1). */
export const STRINGS = {
  userName: false,
  externalId: true,
  displayName: false,
  nickName: false,
  title: false,
  'name.givenName': false,
  'name.familyName': false,
} as const;
export type StringAttr = keyof typeof STRINGS;

/** RFC 7643 §4.1.2: emails.value and emails.type are not case-exact. */
export const EMAIL_SUBS = { value: false, type: false } as const;

/** A string attribute's value on a user, `name.x` included. */
export function stringOf(user: User, attr: StringAttr): string | undefined {
  if (attr === 'name.givenName') return user.name?.givenName;
  if (attr === 'name.familyName') return user.name?.familyName;
  return user[attr];
}

/** RFC 7643 §2.4: "If not specified, the value of 'primary' SHALL be assumed to be 'false'." */
export const primaryOf = (email: Email): boolean => email.primary === true;

/**
 * A user as comparable: empty complex values dropped, `primary` read as §2.4 says, and emails
 * as a multiset, since the order of a multi-valued attribute is not defined (docs/scim.md,
 * "Where the RFCs leave a choice").
 */
export function comparable(user: Partial<User> & Record<string, unknown>): Record<string, unknown> {
  const name = Object.fromEntries(Object.entries((user.name ?? {}) as Record<string, unknown>).filter(([, v]) => v !== undefined));
  const emails = ((user.emails ?? []) as Email[]).map((e) => ({ value: e.value, type: e.type, primary: primaryOf(e) })).map((e) => JSON.stringify(e));
  return {
    userName: user.userName,
    externalId: user.externalId,
    displayName: user.displayName,
    nickName: user.nickName,
    title: user.title,
    active: user.active,
    name: Object.keys(name).length ? name : undefined,
    emails: emails.sort(),
  };
}
