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

/** Starts a fresh session for the person (a new session ID, so a planted one is useless). */
export function signIn(req: Request, personId: string): Promise<void> {
  return new Promise((resolve, reject) => {
    req.session.regenerate((err) => {
      if (err) return reject(err);
      req.session.personId = personId;
      req.session.save((saveErr) => (saveErr ? reject(saveErr) : resolve()));
    });
  });
}

export function signOut(req: Request): Promise<void> {
  return new Promise((resolve, reject) => {
    if (!req.session) return resolve();
    req.session.destroy((err) => (err ? reject(err) : resolve()));
  });
}
