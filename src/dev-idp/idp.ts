import { inflateRawSync } from 'node:zlib';
import { type Request, type Response, Router } from 'express';
import { ACS_PATH, METADATA_PATH, type SamlSettings } from '../config';
import { createSigningKeys, type SigningKeys, signedResponse } from './sign';

/**
 * The development SAML IdP of the zero-config start (docs/console.md, "Development sign-in"): a
 * real IdP whose signed responses go through the same validation as Okta's or Entra's. Its
 * sign-in page (the HTTP-Redirect binding's target) lists the provisioned people; each is a form
 * that posts a response signed for that person to the ACS (the HTTP-POST binding). So reaching the
 * console takes two clicks and no script: "Sign in", then a name.
 */

export const DEV_IDP_PATH = '/_dev-idp';
/** Members of this SCIM group are console admins while the development IdP is on. */
export const DEV_ADMIN_GROUP = 'Console Admins';
/** The page lists at most this many people (the demo has a handful). */
const LISTED_PEOPLE = 50;
/** Largest SAMLRequest read: an AuthnRequest is well under 1 KB. */
const MAX_REQUEST_CHARS = 8192;

export interface DevIdpPerson {
  userName: string;
  displayName: string;
  admin: boolean;
}

export interface DevIdp {
  /** The SAML settings that trust this IdP, as the configuration would derive them. */
  settings: SamlSettings;
  router: Router;
}

export interface DevIdpOptions {
  /** Where browsers reach the daemon, e.g. http://127.0.0.1:8080. */
  baseUrl: string;
  clockSkewMs: number;
  /** The active provisioned people, by userName. */
  people: (limit: number) => Promise<DevIdpPerson[]>;
}

export async function createDevIdp(options: DevIdpOptions): Promise<DevIdp> {
  const base = options.baseUrl.replace(/\/+$/, '');
  const keys = await createSigningKeys('pulumi-idp-sync development IdP');
  const settings: SamlSettings = {
    idpSsoUrl: `${base}${DEV_IDP_PATH}/sso`,
    idpIssuer: `${base}${DEV_IDP_PATH}`,
    idpCerts: [keys.cert],
    spEntityId: `${base}${METADATA_PATH}`,
    acsUrl: `${base}${ACS_PATH}`,
    loginAttribute: undefined,
    userIdAttribute: undefined,
    nameIdMatch: 'userName',
    allowEmailNameId: false,
    adminGroup: { displayName: DEV_ADMIN_GROUP },
    allowUnsignedResponse: false,
    clockSkewMs: options.clockSkewMs,
  };
  const router = Router();
  router.get('/sso', (req, res, next) => void signInPage(req, res, settings, keys, options.people).catch(next));
  return { settings, router };
}

/** The AuthnRequest's ID, which the response must answer (InResponseTo). */
export function authnRequestId(samlRequest: unknown): string | undefined {
  if (typeof samlRequest !== 'string' || samlRequest.length > MAX_REQUEST_CHARS) return undefined;
  try {
    const xml = inflateRawSync(Buffer.from(samlRequest, 'base64'), { maxOutputLength: 4 * MAX_REQUEST_CHARS }).toString('utf8');
    return /<(?:\w+:)?AuthnRequest\b[^>]*\sID="([A-Za-z_][\w.-]{0,127})"/.exec(xml)?.[1];
  } catch {
    return undefined;
  }
}

const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };
const esc = (value: string) => value.replace(/[&<>"']/g, (c) => ESCAPES[c]!);

const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'";
const STYLE =
  'body{font-family:system-ui,sans-serif;max-width:40rem;margin:2rem auto;padding:0 1rem}.warn{background:#fff3cd;border:1px solid #e0c36a;padding:.5rem 1rem}' +
  'form{margin:.5rem 0}button{font-size:1rem;padding:.4rem .8rem;min-width:18rem;text-align:left}';

async function signInPage(req: Request, res: Response, settings: SamlSettings, keys: SigningKeys, people: DevIdpOptions['people']): Promise<void> {
  res.set({ 'Content-Security-Policy': PAGE_CSP, 'Cache-Control': 'no-store', 'X-Frame-Options': 'DENY', 'X-Content-Type-Options': 'nosniff' });
  const requestId = authnRequestId(req.query.SAMLRequest);
  if (!requestId) {
    res
      .status(400)
      .type('html')
      .send(`<!doctype html><title>Development IdP</title><p>This page answers a sign-in started at <a href="/console/login">/console/login</a>.</p>`);
    return;
  }
  const relayState = typeof req.query.RelayState === 'string' ? req.query.RelayState : '';
  const listed = await people(LISTED_PEOPLE);
  const forms = listed.map((person) => {
    const response = signedResponse(
      { issuer: settings.idpIssuer, audience: settings.spEntityId, acsUrl: settings.acsUrl, inResponseTo: requestId, nameId: person.userName },
      keys,
    );
    return `<form method="post" action="${esc(settings.acsUrl)}"><input type="hidden" name="SAMLResponse" value="${response}">
<input type="hidden" name="RelayState" value="${esc(relayState)}"><button type="submit" class="person" data-user="${esc(person.userName)}">${esc(person.displayName)} <small>${esc(person.userName)}${person.admin ? ' · admin' : ''}</small></button></form>`;
  });
  res.type('html').send(`<!doctype html><html lang="en"><head><meta charset="utf-8"><title>Development IdP</title><style>${STYLE}</style></head><body>
<h1>Development IdP</h1>
<p class="warn">Built-in development sign-in: anyone who reaches this page can sign in as any person below. It runs only with the built-in Pulumi emulator, outside production.</p>
${listed.length > 0 ? `<p>Sign in as:</p>\n${forms.join('\n')}` : '<p id="nobody">Nobody is provisioned yet: provision people by SCIM (the start-up banner shows how), then reload.</p>'}
</body></html>`);
}
