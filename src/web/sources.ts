import type { Queue } from 'bullmq';
import { HttpError } from '../app';
import type { Policy } from '../policy';
import type { ChartRange, HistoryChart } from '../history';
import type { PlanView, SyncStatus, TeamStatus } from '../reconcile';
import type { AccessService } from './access';

/**
 * What the console reads and changes, as narrow interfaces. The runtime builds them from the
 * owning parts (src/tokens, src/reconcile, src/directory, src/queue, src/policy); a source
 * that is absent makes its page say so instead of showing invented data.
 */

/** One entry of a token's scope: a stack, or an ESC environment (README.md, "Tokens API"). */
export type ScopeLine =
  | { project: string; stack: string; permission?: 'read' | 'write' | 'admin' }
  | { environment: { project: string; environment: string; permission?: 'read' | 'open' | 'write' | 'admin' } };

export interface ConsoleToken {
  id: string;
  owner: string;
  team: string;
  kind: string;
  pulumiTeam: string;
  scope: ScopeLine[] | null;
  description: string;
  state: string;
  expiresAt: string | null;
  createdAt: string;
  revokedAt: string | null;
  revokeReason: string | null;
}

export interface ConsoleTokens {
  /** Tokens of the person with this SCIM id (whatever their userName was at issuance), newest first. */
  listForOwner(owner: string): Promise<ConsoleToken[]>;
  issue(input: { team: string; owner: string; description: string; scope?: ScopeLine[]; expiresAt?: string }): Promise<{
    id: string;
    tokenValue: string;
    pulumiTeam: string;
  }>;
  revoke(id: string, reason: string): Promise<void>;
}

export interface AuditFilter {
  /** A SCIM user id, userName or Pulumi login. */
  person?: string;
  team?: string;
  /** reconcile | drift | tokens */
  category?: string;
  /** The op kind, e.g. addMember, revokeToken. */
  op?: string;
  requestId?: string;
  since?: string;
  until?: string;
  /** The `next` of the previous page. */
  cursor?: string;
  limit: number;
}

/** One page of the audit log, newest first; `next` is the cursor of the page after it. */
export interface AuditPage {
  entries: object[];
  next?: string;
}

/** The reconciler's read side: status as `GET /api/v1/status` has it; audit rows are rendered field by field. */
export interface ConsoleSync {
  status(): Promise<SyncStatus>;
  audit(filter: AuditFilter): Promise<AuditPage>;
  /** Dry run over every team, as people read it; absent when no reconciler runs in this process. */
  plan?(): Promise<PlanView[]>;
}

/** SCIM clients are named (the name is their key); token secrets are never listed. */
export interface ScimClientView {
  name: string;
  createdAt: string;
  revokedAt: string | null;
  tokens: Array<{ id: string; last4: string; createdAt: string; expiresAt: string | null; revokedAt: string | null; lastUsedAt: string | null }>;
}

/** The signed-in person who changed something, as the audit log names them. */
export interface ConsoleActor {
  id: string;
  userName: string;
}

/** Each change is audited with its actor, channel `console`. */
export interface ConsoleScimClients {
  list(): Promise<ScimClientView[]>;
  /** Creates a client with its first bearer token; the token is returned this once. */
  create(name: string, by: ConsoleActor): Promise<{ token: string }>;
  /** Issues a new bearer token; the previous one stays valid until `previousValidUntil`. */
  rotate(name: string, by: ConsoleActor): Promise<{ token: string; previousValidUntil: string | null }>;
  /** Revokes the client and every token it holds. */
  revoke(name: string, by: ConsoleActor): Promise<void>;
}

/** A pending hold: removals of still-active access waiting for an admin. */
export interface ConsoleHoldView {
  id: string;
  team: string;
  reason: string;
  removals: number;
  revocations: number;
  createdAt: string;
  /** The held ops, each as a line a person reads. */
  ops: string[];
}

export interface ConsoleHolds {
  pending(): Promise<ConsoleHoldView[]>;
  /** Records and audits the decision, then enqueues the team's reconcile that acts on it. */
  decide(id: string, decision: 'approved' | 'rejected', by: ConsoleActor): Promise<ConsoleHoldView>;
}

/** One team as the admin's team page shows it. */
export interface ConsoleTeamView {
  team: string;
  /** The policy rules that map groups to this team, with where they are. */
  rules: Array<{ file: string; line: number | null; match: string }>;
  groups: Array<{ id: string; displayName: string }>;
  /** Active members of its groups with their Pulumi login, as the next reconcile wants them. */
  members: Array<{ userId: string; userName: string | null; login: string }>;
  grants: Array<{ stack: string; permission: string }>;
  /** Live tokens on the team (scoped ones with their private team). */
  tokens: ConsoleToken[];
  /** The last reconcile of the team; null before the first. */
  status: TeamStatus | null;
  /** Its people waiting for access. */
  pending: Array<{ login: string; reason: string; firstSeenAt: string }>;
  /** Recent audit entries naming the team, newest first. */
  audit: Array<{ at: string; category: string; op: string; subject: string | null; outcome: string; actor: string | null; reason: string | null }>;
}

/** The Shared Signals stream as the status page shows it; `status` is the transmitter's answer. */
export interface ConsoleSignals {
  status(): Promise<{ transmitter: string; stream: Record<string, unknown> | null; transmitterStatus: string | null; transmitterError: string | null }>;
}

export interface ConsoleSources {
  /** The current sync policy (groups → teams → grants). */
  policy?: { readonly current: Policy };
  tokens?: ConsoleTokens;
  sync?: ConsoleSync;
  scimClients?: ConsoleScimClients;
  holds?: ConsoleHolds;
  /** The Pulumi login recorded for a person (or the one that clashes with someone else's). */
  identity?: { linkOf(userId: string): Promise<{ login: string; since: Date; conflict: boolean } | undefined> };
  /** "Access explained" and the access review; absent without a reconciler (the org's stacks are unknown). */
  access?: AccessService;
  /** BullMQ queues shown on the admin queue dashboard. */
  queues?: Queue[];
  /** The metrics history behind the charts. */
  history?: { charts(range: ChartRange): Promise<HistoryChart> };
  /** A team's page; undefined for a team neither the policy nor status knows. */
  teams?: { view(team: string): Promise<ConsoleTeamView | undefined> };
  /** Present when the Shared Signals receiver is on (SSF_TRANSMITTER_URL). */
  signals?: ConsoleSignals;
}

/** An error caused by the person's input or a rule they hit; its message is shown to them. */
export class ConsoleInputError extends HttpError {
  constructor(message: string) {
    super(400, 'invalid_request', message);
    this.name = 'ConsoleInputError';
  }
}

/** The person may not do this (e.g. revoke someone else's token); the message says why. */
export class ConsoleForbiddenError extends HttpError {
  constructor(message: string) {
    super(403, 'forbidden', message);
    this.name = 'ConsoleForbiddenError';
  }
}
