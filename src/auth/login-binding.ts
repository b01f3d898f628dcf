import { randomBytes, timingSafeEqual } from 'node:crypto';
import type { Request } from 'express';
import type { Redis } from 'ioredis';

/**
 * Binds a SAML sign-in to the browser that started it (login CSRF: an attacker must not be able
 * to post their own valid response through a victim's browser and sign the victim in as them).
 *
 * The ACS is a cross-site POST, so the SameSite=Lax session cookie is not sent with it. Instead
 * the sign-in start stores a nonce in the session and sends it as RelayState; the ACS checks the
 * response and parks the result under a one-time ticket; the browser then follows a same-site
 * GET to /auth/saml/complete (the session cookie comes along) where the RelayState echoed to the
 * ACS must equal the session's nonce.
 */

/** How long a verified response waits for its browser. @defaultValue 60 s */
export const LOGIN_TICKET_TTL_MS = 60_000;

export function startLoginNonce(req: Request): Promise<string> {
  const nonce = randomBytes(24).toString('base64url');
  req.session.samlLoginNonce = nonce;
  return new Promise((resolve, reject) => req.session.save((err) => (err ? reject(err) : resolve(nonce))));
}

interface TicketData {
  personId: string;
  relayState: string;
}

export class LoginTickets {
  constructor(
    private readonly redis: Redis,
    private readonly prefix: string,
  ) {}

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
    const expected = req.session.samlLoginNonce;
    if (!expected) return { reason: 'relay_state_mismatch' };
    const a = Buffer.from(expected);
    const b = Buffer.from(data.relayState);
    if (a.length !== b.length || !timingSafeEqual(a, b)) return { reason: 'relay_state_mismatch' };
    return { personId: data.personId };
  }
}
