import type { Request } from 'express';

/**
 * Authentication of people: SAML SSO against one IdP, console sessions in Redis, CSRF tokens,
 * and the mapping of a SAML login onto a SCIM-provisioned user by a stable id (admins =
 * members of the configured IdP group). The console (src/web) builds its routes on these pieces.
 */

export { parsePemCertificates, ACS_PATH, METADATA_PATH } from './settings';
export type { SamlSettings, AdminGroupRef } from './settings';
export { createSamlService, classifyNodeSamlError, screenSamlResponse, SamlRejection, MAX_ASSERTION_AGE_MS } from './saml';
export type { SamlService, SamlOutcome, SamlRefusal, SamlIdentity, SamlRejectReason } from './saml';
export { RedisRequestIdCache, AssertionReplayCache } from './redis-caches';
export { createSessionMiddleware, csrfProtection, csrfTokenFor, CsrfError, SESSION_COOKIE, SESSION_TTL_MS } from './session';
export { findPeopleBySubject, findPersonById, groupsOf } from './people';
export { subjectOf, NAMEID_FORMAT } from './subject';
export type { LoginSubject } from './subject';
export { LoginTickets, LOGIN_COOKIE, LOGIN_TICKET_TTL_MS, COMPLETE_PATH } from './login-binding';
export type { LoginCookieOptions } from './login-binding';
export type { Person } from './people';
export { SessionIndex, AUTH_KEY_PREFIX } from './session-index';
import type { SessionIndex } from './session-index';

/**
 * Starts a fresh session for the person (a new session ID, so a planted one is useless) and
 * records it in the person's session index.
 */
export async function signIn(req: Request, personId: string, sessions: SessionIndex): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    req.session.regenerate((err) => {
      if (err) return reject(err);
      req.session.personId = personId;
      req.session.save((saveErr) => (saveErr ? reject(saveErr) : resolve()));
    });
  });
  await sessions.add(personId, req.sessionID);
}

export async function signOut(req: Request, sessions: SessionIndex): Promise<void> {
  if (!req.session) return;
  const { personId } = req.session;
  const sessionId = req.sessionID;
  await new Promise<void>((resolve, reject) => req.session.destroy((err) => (err ? reject(err) : resolve())));
  if (personId) await sessions.remove(personId, sessionId);
}
