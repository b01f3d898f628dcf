import { createHash, randomBytes } from 'node:crypto';
import { preparedRaw, type Db } from './db';

/**
 * SCIM clients (one per IdP app: "okta", "entra") and their bearer tokens.
 *
 * A token is `pis_scim_` + 32 random bytes (base64url): the fixed prefix lets secret scanners
 * spot a leaked one. Only its SHA-256 hash and last four characters are stored; a request is
 * authenticated by hashing the presented token and looking the hash up (an equality on a
 * digest of a 256-bit secret, so its timing reveals nothing about a valid token). Rotation
 * issues a new token and lets the previous one live for a grace period, so two are valid
 * while the IdP is re-configured; revocation ends a client's tokens at once.
 */

export const TOKEN_PREFIX = 'pis_scim_';

export interface ScimClientRow {
  id: string;
  name: string;
  created_at: Date;
  revoked_at: Date | null;
}

export interface IssuedToken {
  clientId: string;
  clientName: string;
  tokenId: string;
  /** The secret itself: shown once, never stored. */
  token: string;
  last4: string;
}

export interface ActiveToken {
  tokenId: string;
  clientId: string;
  clientName: string;
}

export class ScimClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScimClientError';
  }
}

export function hashToken(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

function newToken(): string {
  return TOKEN_PREFIX + randomBytes(32).toString('base64url');
}

async function issue(db: Db, client: ScimClientRow): Promise<IssuedToken> {
  const token = newToken();
  const last4 = token.slice(-4);
  const [row] = await db('scim_tokens')
    .insert({ client_id: client.id, token_hash: hashToken(token), last4 })
    .returning('id');
  return { clientId: client.id, clientName: client.name, tokenId: (row as { id: string }).id, token, last4 };
}

async function activeClient(db: Db, name: string): Promise<ScimClientRow> {
  const client = (await db('scim_clients').where({ name }).first()) as ScimClientRow | undefined;
  if (!client) throw new ScimClientError(`no SCIM client named '${name}'`);
  if (client.revoked_at) throw new ScimClientError(`SCIM client '${name}' is revoked`);
  return client;
}

/** Creates a client and its first token. */
export async function createScimClient(db: Db, name: string): Promise<IssuedToken> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/.test(name)) {
    throw new ScimClientError('a client name is 1-63 letters, digits, dots, dashes or underscores');
  }
  const existing = await db('scim_clients').where({ name }).first();
  if (existing) throw new ScimClientError(`a SCIM client named '${name}' already exists (use rotate)`);
  const [client] = await db('scim_clients').insert({ name }).returning('*');
  return issue(db, client as ScimClientRow);
}

/**
 * Issues a new token for a client. The newest previous token stays valid for `graceSeconds`
 * (so at most two are valid during a rollover); any older ones are revoked now.
 */
export async function rotateScimToken(db: Db, name: string, graceSeconds: number): Promise<IssuedToken & { previousValidUntil?: Date }> {
  const client = await activeClient(db, name);
  return db.transaction(async (trx) => {
    const valid = (await trx('scim_tokens')
      .where({ client_id: client.id })
      .whereNull('revoked_at')
      .andWhere((q) => q.whereNull('expires_at').orWhere('expires_at', '>', trx.fn.now()))
      .orderBy('created_at', 'desc')
      .forUpdate()) as { id: string }[];
    const [previous, ...older] = valid;
    if (older.length)
      await trx('scim_tokens')
        .whereIn(
          'id',
          older.map((t) => t.id),
        )
        .update({ revoked_at: trx.fn.now() });
    let previousValidUntil: Date | undefined;
    if (previous) {
      const [row] = await trx('scim_tokens')
        .where({ id: previous.id })
        .update({ expires_at: trx.raw(`least(coalesce(expires_at, 'infinity'), now() + make_interval(secs => ?))`, [graceSeconds]) })
        .returning('expires_at');
      previousValidUntil = (row as { expires_at: Date }).expires_at;
    }
    const issued = await issue(trx as unknown as Db, client);
    return { ...issued, previousValidUntil };
  });
}

/** Revokes a client and every token it has. */
export async function revokeScimClient(db: Db, name: string): Promise<void> {
  const client = (await db('scim_clients').where({ name }).first()) as ScimClientRow | undefined;
  if (!client) throw new ScimClientError(`no SCIM client named '${name}'`);
  await db.transaction(async (trx) => {
    await trx('scim_clients').where({ id: client.id }).update({ revoked_at: trx.fn.now() });
    await trx('scim_tokens').where({ client_id: client.id }).whereNull('revoked_at').update({ revoked_at: trx.fn.now() });
  });
}

export interface ScimClientSummary {
  name: string;
  createdAt: Date;
  revokedAt: Date | null;
  tokens: { id: string; last4: string; createdAt: Date; expiresAt: Date | null; revokedAt: Date | null; lastUsedAt: Date | null }[];
}

export async function listScimClients(db: Db): Promise<ScimClientSummary[]> {
  const clients = (await db('scim_clients').orderBy('created_at')) as ScimClientRow[];
  const tokens = await db('scim_tokens').orderBy('created_at');
  return clients.map((c) => ({
    name: c.name,
    createdAt: c.created_at,
    revokedAt: c.revoked_at,
    tokens: tokens
      .filter((t) => t.client_id === c.id)
      .map((t) => ({ id: t.id, last4: t.last4, createdAt: t.created_at, expiresAt: t.expires_at, revokedAt: t.revoked_at, lastUsedAt: t.last_used_at })),
  }));
}

/** The valid token with this hash, if any. */
export async function findActiveToken(db: Db, tokenHash: Buffer): Promise<ActiveToken | undefined> {
  const { rows } = await preparedRaw(
    db,
    `SELECT t.id AS token_id, c.id AS client_id, c.name AS client_name
       FROM scim_tokens t JOIN scim_clients c ON c.id = t.client_id
      WHERE t.token_hash = ? AND t.revoked_at IS NULL AND c.revoked_at IS NULL
        AND (t.expires_at IS NULL OR t.expires_at > now())`,
    [tokenHash],
  );
  const row = rows[0] as { token_id: string; client_id: string; client_name: string } | undefined;
  return row && { tokenId: row.token_id, clientId: row.client_id, clientName: row.client_name };
}

/** Records use; a no-op when the stored time is under a minute old (a hot token writes once a minute). */
export async function touchToken(db: Db, tokenId: string): Promise<void> {
  await db.raw(
    `UPDATE scim_tokens SET last_used_at = now()
      WHERE id = ? AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
    [tokenId],
  );
}
