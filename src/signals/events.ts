import type { SignalEvent } from '../policy';

/**
 * The event types the receiver knows, by URI (docs/shared-signals.md, "Events"): the CAEP
 * events Okta sends, the RISC account events, and SSF's stream verification event.
 */

export const EVENT_TYPE_URI: Readonly<Record<SignalEvent, string>> = {
  'session-revoked': 'https://schemas.openid.net/secevent/caep/event-type/session-revoked',
  'credential-change': 'https://schemas.openid.net/secevent/caep/event-type/credential-change',
  'credential-compromise': 'https://schemas.openid.net/secevent/risc/event-type/credential-compromise',
  'account-disabled': 'https://schemas.openid.net/secevent/risc/event-type/account-disabled',
  'account-purged': 'https://schemas.openid.net/secevent/risc/event-type/account-purged',
};

/** SSF 1.0 §8.1.4: the event a transmitter sends when asked to verify a stream. */
export const VERIFICATION_EVENT_URI = 'https://schemas.openid.net/secevent/ssf/event-type/verification';

const BY_URI = new Map(Object.entries(EVENT_TYPE_URI).map(([name, uri]) => [uri, name as SignalEvent]));

/** The short name of an event type URI, or undefined for one the receiver does not act on. */
export function signalEventOf(uri: string): SignalEvent | undefined {
  return BY_URI.get(uri);
}

/** Every event type a stream asks for by default: the ones the policy can act on. */
export const EVENTS_REQUESTED: readonly string[] = Object.values(EVENT_TYPE_URI);

/** RFC 8935 §2.3 / RFC 8936 §2.4: the error codes a refused SET is answered with. */
export type SetErrorCode = 'invalid_request' | 'invalid_key' | 'invalid_issuer' | 'invalid_audience' | 'authentication_failed';

/** Delivery method URNs (SSF 1.0 §6.1.1). */
export const DELIVERY_METHOD = { push: 'urn:ietf:rfc:8935', poll: 'urn:ietf:rfc:8936' } as const;
export type DeliveryMode = keyof typeof DELIVERY_METHOD;
