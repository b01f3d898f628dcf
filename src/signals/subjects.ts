/**
 * Subject identifiers (RFC 9493) as a SET names the person, reduced to what the directory can
 * look up by a stable identifier (docs/shared-signals.md, "Subjects"):
 *
 *   - `email` → the person's primary email or userName, case-insensitively;
 *   - `iss_sub` (its `iss` must be the SET's issuer) and `opaque` → the SCIM `externalId`
 *     exactly (Okta's user id);
 *   - a complex subject (SSF 1.0 §3.2: `{user: {...}, session: {...}}`) → its `user` member.
 *
 * The subject is read from the event itself first (Okta's published shape and CAEP drafts put
 * `subject` inside the event), then from the SET's `sub_id` claim (SSF 1.0).
 */

export type PersonSubject = { by: 'email'; email: string } | { by: 'externalId'; externalId: string; format: 'iss_sub' | 'opaque' };

export type SubjectReading = { ok: true; subject: PersonSubject } | { ok: false; reason: string };

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const text = (v: unknown): string | undefined => (typeof v === 'string' && v.trim() !== '' && v.length <= 512 ? v : undefined);

/** `https://org.okta.com/` and `https://org.okta.com` name the same issuer. */
export function sameIssuer(a: string, b: string): boolean {
  return a.replace(/\/+$/, '') === b.replace(/\/+$/, '');
}

export function readSubject(event: Record<string, unknown>, subId: unknown, setIssuer: string): SubjectReading {
  const raw = event.subject ?? subId;
  if (!isObject(raw)) return { ok: false, reason: 'subject_missing' };
  // A complex subject has members (user, session, device, …) instead of a format.
  const simple = raw.format === undefined && isObject(raw.user) ? raw.user : raw;
  switch (simple.format) {
    case 'email': {
      const email = text(simple.email);
      return email ? { ok: true, subject: { by: 'email', email } } : { ok: false, reason: 'subject_malformed' };
    }
    case 'iss_sub': {
      const iss = text(simple.iss);
      const sub = text(simple.sub);
      if (!iss || !sub) return { ok: false, reason: 'subject_malformed' };
      // A `sub` is unique only within its issuer: another issuer's ids are not our externalIds.
      if (!sameIssuer(iss, setIssuer)) return { ok: false, reason: 'subject_foreign_issuer' };
      return { ok: true, subject: { by: 'externalId', externalId: sub, format: 'iss_sub' } };
    }
    case 'opaque': {
      const id = text(simple.id);
      return id ? { ok: true, subject: { by: 'externalId', externalId: id, format: 'opaque' } } : { ok: false, reason: 'subject_malformed' };
    }
    default:
      return { ok: false, reason: 'subject_format_unsupported' };
  }
}
