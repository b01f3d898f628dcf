/**
 * The Shared Signals receiver (docs/shared-signals.md): Security Event Tokens from the IdP, by
 * push (`createPushReceiver`, RFC 8935) or poll (`startPoller`, RFC 8936), verified
 * (`createSetVerifier`), planned under the policy's `signals:` (`planSet`) and put on the revoke
 * lane through `SignalPorts`, which src/runtime builds; stream management as a receiver
 * (`StreamManager`) for the admin API and the CLI.
 */
export { EVENT_TYPE_URI, VERIFICATION_EVENT_URI, DELIVERY_METHOD, EVENTS_REQUESTED, signalEventOf } from './events';
export type { DeliveryMode, SetErrorCode } from './events';
export { readSubject, sameIssuer } from './subjects';
export type { PersonSubject, SubjectReading } from './subjects';
export { createSetVerifier, remoteKeys, ALLOWED_ALGORITHMS, KeysUnavailableError } from './verify';
export type { Refusal, VerifiedSet, Verification, ReplayGuard, SetVerifierOptions } from './verify';
export { RedisReplayGuard } from './replay';
export { StreamStore, authorizationMatches } from './store';
export type { StreamRecord } from './store';
export { planSet, createSetIntake } from './intake';
export type { SetStep, SignalPorts, SetIntake, SetIntakeDeps, IntakeResult } from './intake';
export { createPushReceiver, MAX_SET_BYTES } from './receiver';
export { TransmitterClient, TransmitterError, readTransmitterConfiguration, wellKnownUrl, transmitterClientFor, receiverUrlOf } from './transmitter';
export type { TransmitterConfiguration, StreamConfiguration, ClientCredentials } from './transmitter';
export { StreamManager, StreamNotConfiguredError, viewOf } from './manage';
export type { CreateStreamRequest, StreamView, VerificationOutcome } from './manage';
export { startPoller } from './poll';
export type { Poller, PollerDeps } from './poll';
