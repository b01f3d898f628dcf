import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request, Response } from 'express';
import type { Redis } from 'ioredis';

/**
 * Binds a SAML sign-in to the browser that started it (login CSRF: an attacker must not be able
 * to post their own valid response through a victim's browser and sign the victim in as them).
 *
 * The ACS is a cross-site POST, so a SameSite=Lax cookie is not sent with it. Instead the sign-in
 * start puts a nonce in a short-lived signed cookie and sends it as RelayState; the ACS checks the
 * response and parks the result under a one-time ticket; the browser then follows a same-site
 * GET to /auth/saml/complete (the cookie comes along) where the RelayState echoed to the ACS must
 * equal the cookie's nonce.
 *
 * The nonce lives in the browser, not in a session: an anonymous visitor who starts sign-ins
 * creates no long-lived Redis key (docs/robustness.md, "Pre-login state"). The session is created
 * only by a successful sign-in.
 */

/** How long a verified response waits for its browser. @defaultValue 60 s */
export const LOGIN_TICKET_TTL_MS = 60_000;
/** The cookie carrying the sign-in nonce, valid only on the completing step. */
export const LOGIN_COOKIE = 'pis.login';
/** How long a started sign-in can be finished: as long as its AuthnRequest ID is remembered. */
export const LOGIN_COOKIE_TTL_MS = 10 * 60_000;

interface TicketData {
  personId: string;
  relayState: string;
}

export interface LoginCookieOptions {
  /** Signs the cookie (SESSION_SECRET: replicas must share it). */
  secret: string;
  secureCookies: boolean;
}

export class LoginTickets {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
    private readonly cookie: LoginCookieOptions,
  ) {}

  /** Starts a sign-in in this browser: sets the signed nonce cookie; the nonce is the RelayState to send. */
  start(res: Response): string {
    const nonce = randomBytes(24).toString('base64url');
    res.cookie(LOGIN_COOKIE, `${nonce}.${this.mac(nonce)}`, {
      httpOnly: true,
      sameSite: 'lax',
      secure: this.cookie.secureCookies,
      maxAge: LOGIN_COOKIE_TTL_MS,
      path: COMPLETE_PATH,
    });
    return nonce;
  }

  async issue(personId: string, relayState: string): Promise<string> {
    const ticket = randomBytes(24).toString('base64url');
    await this.redis.set(this.prefix + ticket, JSON.stringify({ personId, relayState } satisfies TicketData), 'PX', LOGIN_TICKET_TTL_MS);
    return ticket;
  }

  /**
   * The person the ticket names when the ticket is fresh, unused, and was issued for a response
   * whose RelayState equals this session's nonce; `reason` says which part failed.
   */
  async redeem(req: Request, ticket: unknown): Promise<{ personId: string } | { reason: 'login_ticket_invalid' | 'relay_state_mismatch' }> {
    if (typeof ticket !== 'string' || !/^[A-Za-z0-9_-]{20,64}$/.test(ticket)) return { reason: 'login_ticket_invalid' };
    const raw = await this.redis.getdel(this.prefix + ticket);
    if (!raw) return { reason: 'login_ticket_invalid' };
    const data = JSON.parse(raw) as TicketData;
    const expected = this.nonceOf(req);
    if (!expected) return { reason: 'relay_state_mismatch' };
    const a = Buffer.from(expected);
    const b = Buffer.from(data.relayState);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { reason: 'relay_state_mismatch' };
    return { personId: data.personId };
  }

  /** The nonce of this browser's login cookie when its signature holds. */
  private nonceOf(req: Request): string | undefined {
    const raw = readCookie(req.headers.cookie, LOGIN_COOKIE);
    const dot = raw?.lastIndexOf('.') ?? -1;
    if (!raw || dot <= 0) return undefined;
    const nonce = raw.slice(0, dot);
    const a = Buffer.from(raw.slice(dot + 1));
    const b = Buffer.from(this.mac(nonce));
    return a.length === b.length && timingSafeEqual(a, b) ? nonce : undefined;
  }

  private mac(nonce: string): string {
    return createHmac('sha256', this.cookie.secret).update(`${LOGIN_COOKIE}\n${nonce}`).digest('base64url');
  }
}

/** The path of the step that finishes a sign-in, where the login cookie is sent. */
export const COMPLETE_PATH = '/auth/saml/complete';

function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of header?.split(';') ?? []) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
