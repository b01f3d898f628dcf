/**
 * The outbox: what committed SCIM writes changed, as rows in the `outbox` table, and the relay
 * that publishes them as keyed jobs. This part owns the table; writers append inside their own
 * transaction, and only the relay claims, publishes and prunes. See docs/architecture.md.
 */
export { appendOutbox, isIdentityLoss } from './events';
export type { OutboxEvent, OutboxKind, OutboxRow } from './events';
export { createOutboxRelay, readOutboxBacklog, republishRecent } from './relay';
export type { ClaimedEvent, OutboxBacklog, OutboxDispatch, OutboxRelay, OutboxRelayOptions } from './relay';
