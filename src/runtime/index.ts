/**
 * The composition root: the one place that builds every part and connects them (see
 * docs/architecture.md). Parts never import this folder.
 *
 * - `startDaemon`: Postgres, Redis, the sync engine and the HTTP surfaces of `npm start`.
 * - `startSyncEngine`: the pipeline of one process (relay → queue → reconciler → tokens →
 *   revoke lane), shared by the daemon and `npm run worker`.
 * - `createDirectoryRelay`: the outbox relay with the pipeline's dispatch (tests build one).
 */
export { startDaemon } from './daemon';
export type { Daemon, PulumiEndpoint } from './daemon';
export { startSyncEngine } from './engine';
export type { SyncEngine, SyncEngineOptions } from './engine';
export { createDirectoryRelay, createOutboxDispatch } from './outbox-dispatch';
export type { DirectoryRelayOptions, OutboxDispatchOptions } from './outbox-dispatch';
export { createTokenDeps, personStepWithOrgRemoval, reconcileTeamWithTokens } from './tokens-wiring';
export { startSignals, createSignalActions, peopleForSubject } from './signals-wiring';
export type { SignalsRuntime, SignalsOptions, SignalsStatus, SignalActionDeps } from './signals-wiring';
