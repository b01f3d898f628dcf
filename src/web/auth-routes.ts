import express, { type NextFunction, type Request, type RequestHandler, type Response, Router } from 'express';
import {
  ACS_PATH,
  type AdminGroupRef,
  csrfProtection,
  findPeopleBySubject,
  findPersonById,
  type LoginTickets,
  METADATA_PATH,
  type Person,
  type SamlRejectReason,
  type SamlService,
  type SessionIndex,
  SESSION_COOKIE,
  signIn,
  signOut,
  csrfTokenFor,
  COMPLETE_PATH,
} from '../auth';
import { HttpError } from '../app';
import type { Db } from '../directory/db';
import type { Logger } from '../log';
import { recordSamlSignIn } from '../metrics';
import { html, layout } from './html';

/**
 * The sign-in side of the console: SP metadata, the SAML login redirect, the assertion consumer
 * service, logout, and the middleware that resolves the signed-in person on every request.
 */

/** Largest accepted ACS POST; a real signed response is a few KB, Entra with many groups ~100 KB. */
export const ACS_MAX_BODY = '256kb';

/** Reasons a person (not an attacker) can fix or ask about; the page explains them in words. */
type PersonRefusal = 'user_not_provisioned' | 'user_inactive' | 'user_ambiguous';

const REFUSAL_TEXT: Record<PersonRefusal, string> = {
  user_not_provisioned:
    'Your identity provider signed you in, but your account has not been provisioned to pulumi-idp-sync by SCIM. Ask your administrator to assign you to the pulumi-idp-sync application in the identity provider.',
  user_inactive: 'Your account is deactivated in the identity provider, so it cannot use this console.',
  user_ambiguous:
    "Your identity provider's user id belongs to more than one provisioned account, so this console cannot tell which is yours. Ask your administrator to correct the SCIM provisioning.",
};

/** Refusals of an assertion that is genuine but does not identify the person the way this daemon is configured to accept. */
const IDENTITY_REJECTION_TEXT: Partial<Record<SamlRejectReason, string>> = {
  email_nameid_refused:
    'Your identity provider named you by email address, which this console does not accept for sign-in (an email address can often be changed by its owner). Ask your administrator to send a persistent NameID or the user id attribute (see SAML_USER_ID_ATTRIBUTE).',
  nameid_format_unsupported:
    'Your identity provider named you with a NameID format that does not identify a person stably (such as transient). Ask your administrator to send a persistent NameID.',
  missing_user_id: 'Your identity provider did not send the user id attribute this console is configured to read (SAML_USER_ID_ATTRIBUTE).',
};

export function renderRefusal(res: Response, status: number, title: string, message: string, reason: string): void {
  res
    .status(status)
    .type('html')
    .send(
      layout({
        title,
        body: html`<div class="error"><p>${message}</p><p>Reason code: <code id="reason">${reason}</code></p></div>
<p><a href="/console/login">Back to sign-in</a></p>`,
      }).text,
    );
}

function renderSamlRejection(res: Response, reason: SamlRejectReason): void {
  renderRefusal(
    res,
    400,
    'Sign-in failed',
    IDENTITY_REJECTION_TEXT[reason] ??
      'The sign-in response from the identity provider was not accepted. Start again from the sign-in page; if this keeps happening, give your administrator the reason code below and the time.',
    reason,
  );
}

export interface AuthRouteDeps {
  db: Db;
  logger: Logger;
  saml: SamlService | undefined;
  /** One-time tickets carrying a verified sign-in from the ACS to /auth/saml/complete. */
  tickets: LoginTickets;
  /** Each person's open sessions, so a Shared Signals session-revoked can end them all. */
  sessions: SessionIndex;
  adminGroup: AdminGroupRef | undefined;
}

/** Destroys the session in Redis and tells the browser to drop its now useless cookie. */
async function endSession(req: Request, res: Response, sessions: SessionIndex): Promise<void> {
  await signOut(req, sessions);
  res.clearCookie(SESSION_COOKIE, { path: '/' });
}

export function createAuthRoutes(deps: AuthRouteDeps): Router {
  const { db, logger, saml } = deps;
  const router = Router();

  router.get('/console/login', (req, res) => {
    if (req.session.personId) return res.redirect(303, '/console/');
    res.type('html').send(
      layout({
        title: 'Sign in',
        body: saml
          ? html`<p>The console shows your teams, stack grants and tokens, and lets you issue scoped tokens.</p>
<p><a id="sign-in" href="/auth/saml/login">Sign in with your identity provider</a></p>`
          : html`<div class="notice"><p>SAML sign-in is not configured on this daemon. An operator must set
<code>SAML_IDP_SSO_URL</code>, <code>SAML_IDP_ISSUER</code>, <code>SAML_IDP_CERT</code> (or <code>SAML_IDP_CERT_FILE</code>)
and <code>PUBLIC_URL</code>.</p></div>`,
      }).text,
    );
  });

  router.get('/console/signed-out', (_req, res) => {
    res.type('html').send(layout({ title: 'Signed out', body: html`<p>You are signed out. <a href="/console/login">Sign in again</a>.</p>` }).text);
  });

  router.get(METADATA_PATH, (_req, res) => {
    if (!saml) return res.status(404).type('text').send('SAML is not configured');
    res.type('application/samlmetadata+xml').send(saml.metadataXml());
  });

  router.get('/auth/saml/login', async (req, res) => {
    if (!saml) return res.redirect(303, '/console/login');
    const refusal = saml.unsupportedMessage(req);
    if (refusal) {
      recordSamlSignIn(refusal.reason);
      return renderSamlRejection(res, refusal.reason);
    }
    await saml.startLogin(req, res, deps.tickets.start(res));
  });

  router.post(ACS_PATH, readAcsBody(logger), async (req, res) => {
    if (!saml) return res.status(404).type('text').send('SAML is not configured');
    const outcome = await saml.consume(req, res);
    if (!outcome.ok) {
      recordSamlSignIn(outcome.reason);
      return renderSamlRejection(res, outcome.reason);
    }
    const people = await findPeopleBySubject(db, outcome.identity.subject, deps.adminGroup);
    const person = people.length === 1 ? people[0] : undefined;
    const refusal: PersonRefusal | undefined =
      people.length > 1 ? 'user_ambiguous' : !person ? 'user_not_provisioned' : !person.active ? 'user_inactive' : undefined;
    if (refusal || !person) {
      logger.warn('saml login refused', { reason: refusal });
      recordSamlSignIn(refusal ?? 'user_not_provisioned');
      return renderRefusal(res, 403, 'Sign-in refused', REFUSAL_TEXT[refusal ?? 'user_not_provisioned'], refusal ?? 'user_not_provisioned');
    }
    const relayState = typeof (req.body as Record<string, unknown>).RelayState === 'string' ? String(req.body.RelayState) : '';
    const ticket = await deps.tickets.issue(person.id, relayState);
    res.redirect(303, `${COMPLETE_PATH}?ticket=${ticket}`);
  });

  // The same-site step that carries the session cookie: see src/auth/login-binding.ts.
  router.get(COMPLETE_PATH, async (req, res) => {
    const redeemed = await deps.tickets.redeem(req, req.query.ticket);
    if ('reason' in redeemed) {
      logger.warn('saml login refused', { reason: redeemed.reason });
      recordSamlSignIn(redeemed.reason);
      return renderRefusal(
        res,
        403,
        'Sign-in refused',
        'This sign-in was not started from this browser, or it was already used or took too long. Start again from the sign-in page.',
        redeemed.reason,
      );
    }
    const person = await findPersonById(db, redeemed.personId, deps.adminGroup);
    if (!person?.active) {
      const reason: PersonRefusal = person ? 'user_inactive' : 'user_not_provisioned';
      logger.warn('saml login refused', { reason });
      recordSamlSignIn(reason);
      return renderRefusal(res, 403, 'Sign-in refused', REFUSAL_TEXT[reason], reason);
    }
    await signIn(req, person.id, deps.sessions);
    logger.info('saml login', { userId: person.id, admin: person.isAdmin });
    recordSamlSignIn();
    res.redirect(303, '/console/');
  });

  router.post('/auth/logout', express.urlencoded({ extended: false, limit: '4kb' }), csrfProtection, async (req, res) => {
    await endSession(req, res, deps.sessions);
    res.redirect(303, '/console/signed-out');
  });

  return router;
}

const acsBodyParser = express.urlencoded({ extended: false, limit: ACS_MAX_BODY, parameterLimit: 10 });

/**
 * Reads the ACS POST. A body over ACS_MAX_BODY or one that cannot be read is a rejected SAML
 * response like any other: logged with its reason, which the error page shows.
 */
function readAcsBody(logger: Logger): RequestHandler {
  return (req, res, next) =>
    acsBodyParser(req, res, (err?: unknown) => {
      const e = err as { type?: string; status?: number } | undefined;
      if (e?.type === 'entity.too.large' || e?.status === 413) {
        logger.warn('saml response rejected', { reason: 'body_too_large' });
        recordSamlSignIn('body_too_large');
        return next(new HttpError(413, 'body_too_large', 'The sign-in response was larger than this service accepts.'));
      }
      if (e?.type === 'parameters.too.many' || e?.status === 400) {
        logger.warn('saml response rejected', { reason: 'malformed_response' });
        recordSamlSignIn('malformed_response');
        return next(new HttpError(400, 'malformed_response', 'The sign-in response could not be read.'));
      }
      next(err);
    });
}

declare module 'express-serve-static-core' {
  interface Locals {
    person?: Person;
    csrfToken?: string;
  }
}

/**
 * Resolves the session's person (kept by SCIM id) from the directory on every request, so
 * deactivation or removal from the admin group takes effect at once, not at the next sign-in,
 * and a changed userName changes nothing about whose session it is.
 */
export function requirePerson(db: Db, adminGroup: AdminGroupRef | undefined, sessions: SessionIndex) {
  return async (req: Request, res: Response, next: NextFunction): Promise<void> => {
    const personId = req.session.personId;
    if (!personId) return res.redirect(303, '/console/login');
    const person = await findPersonById(db, personId, adminGroup);
    if (!person?.active) {
      await endSession(req, res, sessions);
      const reason: PersonRefusal = person ? 'user_inactive' : 'user_not_provisioned';
      return renderRefusal(res, 403, 'Signed out', REFUSAL_TEXT[reason], reason);
    }
    res.locals.person = person;
    res.locals.csrfToken = csrfTokenFor(req);
    next();
  };
}

export function requireAdmin(_req: Request, res: Response, next: NextFunction): void {
  if (res.locals.person?.isAdmin) return next();
  renderRefusal(res, 403, 'Administrators only', 'This page is for members of the administrators group.', 'not_admin');
}
