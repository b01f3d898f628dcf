import { createRemoteJWKSet, decodeProtectedHeader, errors, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { SetErrorCode } from './events';

/**
 * Verification of a Security Event Token (RFC 8417) before anything is done with it, in this
 * order (docs/shared-signals.md, "Verification"):
 *
 *   1. the header: `alg` RS256 or ES256 only (never `none`, never HMAC: the JWKS is public), and
 *      `typ`, when set, `secevent+jwt`;
 *   2. the signature, against the transmitter's JWKS (jose's remote key set: cached, fetched again
 *      for an unknown `kid` at most once per cooldown);
 *   3. `iss` and `aud` exactly, `iat` within the window either way, `jti` and `events` present;
 *   4. the `jti` not seen before (remembered only once everything else passed).
 *
 * A refusal carries the RFC 8935 error code and a reason code for the log; never the token.
 */

export const ALLOWED_ALGORITHMS = ['RS256', 'ES256'];
const SET_TYPES = new Set(['secevent+jwt', 'application/secevent+jwt']);

export interface Refusal {
  err: SetErrorCode;
  /** Stable reason code for logs and metrics, e.g. `jti_replayed`. */
  reason: string;
  /** What the transmitter is told. */
  description: string;
}

export interface VerifiedSet {
  issuer: string;
  jti: string;
  iat: number;
  events: Record<string, Record<string, unknown>>;
  /** SSF 1.0's top-level subject, when the transmitter puts it there. */
  subId: unknown;
}

export type Verification = { ok: true; set: VerifiedSet } | { ok: false; refusal: Refusal };

/** The transmitter's keys could not be fetched: nothing is wrong with the SET, the transmitter should retry. */
export class KeysUnavailableError extends Error {
  override readonly name = 'KeysUnavailableError';
}

/** Remembers `jti`s; false when already seen. */
export interface ReplayGuard {
  remember(issuer: string, jti: string, ttlMs: number): Promise<boolean>;
  forget(issuer: string, jti: string): Promise<void>;
}

export interface SetVerifierOptions {
  issuer: string;
  /** The `aud` to require, read per SET (it may come from the stream); undefined refuses every SET. */
  audience: () => Promise<string | string[] | undefined>;
  keys: JWTVerifyGetKey;
  /** Largest distance of `iat` from now, read per SET (policy `signals.maxAge`). */
  maxAgeMs: () => number;
  replay: ReplayGuard;
  now?: () => number;
}

const refuse = (err: SetErrorCode, reason: string, description: string): Verification => ({ ok: false, refusal: { err, reason, description } });

/** The transmitter's JWKS, fetched lazily once its URI is known. */
export function remoteKeys(jwksUri: () => Promise<string>, options: { cooldownMs?: number } = {}): JWTVerifyGetKey {
  let keys: Promise<JWTVerifyGetKey> | undefined;
  return async (header, token) => {
    keys ??= jwksUri().then((uri) => createRemoteJWKSet(new URL(uri), { cooldownDuration: options.cooldownMs ?? 30_000, cacheMaxAge: 10 * 60_000 }));
    const resolved = await keys.catch((err) => {
      keys = undefined;
      throw err;
    });
    return resolved(header, token);
  };
}

export function createSetVerifier(options: SetVerifierOptions): (token: string) => Promise<Verification> {
  const now = options.now ?? Date.now;
  return async (token) => {
    let header: ReturnType<typeof decodeProtectedHeader>;
    try {
      header = decodeProtectedHeader(token);
    } catch {
      return refuse('invalid_request', 'malformed', 'the body is not a signed JWT');
    }
    if (typeof header.alg !== 'string' || !ALLOWED_ALGORITHMS.includes(header.alg)) {
      return refuse('invalid_request', 'alg_not_allowed', `SETs must be signed with ${ALLOWED_ALGORITHMS.join(' or ')}`);
    }
    if (header.typ !== undefined && !SET_TYPES.has(String(header.typ).toLowerCase()))
      return refuse('invalid_request', 'typ_mismatch', 'typ must be secevent+jwt');
    const audience = await options.audience();
    if (!audience || audience.length === 0) return refuse('invalid_audience', 'no_audience', 'this receiver has no stream yet');

    let payload: Record<string, unknown>;
    try {
      ({ payload } = await jwtVerify(token, options.keys, { issuer: options.issuer, audience, algorithms: ALLOWED_ALGORITHMS }));
    } catch (err) {
      return refusalOf(err);
    }
    const { jti, iat, events } = payload;
    if (typeof jti !== 'string' || jti === '' || jti.length > 256) return refuse('invalid_request', 'jti_missing', 'jti is required');
    if (typeof iat !== 'number') return refuse('invalid_request', 'iat_missing', 'iat is required');
    const maxAgeMs = options.maxAgeMs();
    if (Math.abs(now() - iat * 1000) > maxAgeMs) return refuse('invalid_request', 'iat_out_of_window', 'iat is outside the accepted window');
    if (typeof events !== 'object' || events === null || Array.isArray(events) || Object.keys(events).length === 0) {
      return refuse('invalid_request', 'events_missing', 'events is required');
    }
    const issuer = payload.iss as string;
    // Past the window a replay is refused by its iat, so the jti need not be kept longer.
    if (!(await options.replay.remember(issuer, jti, 2 * maxAgeMs))) return refuse('invalid_request', 'jti_replayed', 'this jti was already received');
    return { ok: true, set: { issuer, jti, iat, events: events as VerifiedSet['events'], subId: payload.sub_id } };
  };
}

function refusalOf(err: unknown): Verification {
  if (err instanceof errors.JWKSNoMatchingKey || err instanceof errors.JWKSMultipleMatchingKeys) {
    return refuse('invalid_key', 'unknown_kid', 'no key of the transmitter matches the kid');
  }
  if (err instanceof errors.JWSSignatureVerificationFailed) return refuse('authentication_failed', 'signature_invalid', 'the signature does not verify');
  if (err instanceof errors.JWTClaimValidationFailed) {
    if (err.claim === 'iss') return refuse('invalid_issuer', 'iss_mismatch', 'iss is not this stream’s transmitter');
    if (err.claim === 'aud') return refuse('invalid_audience', 'aud_mismatch', 'aud is not this receiver');
    return refuse('invalid_request', `claim_invalid_${err.claim.replace(/[^a-z_]/gi, '')}`, `the ${err.claim} claim is invalid`);
  }
  if (err instanceof errors.JWTExpired) return refuse('invalid_request', 'expired', 'the SET has expired');
  if (err instanceof errors.JOSEAlgNotAllowed || err instanceof errors.JOSENotSupported) {
    return refuse('invalid_request', 'alg_not_allowed', `SETs must be signed with ${ALLOWED_ALGORITHMS.join(' or ')}`);
  }
  if (err instanceof errors.JWKInvalid) return refuse('invalid_key', 'key_unusable', 'the matching key cannot verify this SET');
  if (err instanceof errors.JWSInvalid || err instanceof errors.JWTInvalid) return refuse('invalid_request', 'malformed', 'the SET is not a valid JWT');
  // The JWKS fetch failed or timed out, or the configuration could not be read.
  throw new KeysUnavailableError(`the transmitter's keys are unavailable: ${(err as Error).message}`);
}
