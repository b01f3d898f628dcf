import type { Db } from '../directory';

/** Another worker holds this team's advisory lock (a stalled job was re-delivered). */
export class TeamBusyError extends Error {
  override readonly name = 'TeamBusyError';
}

const LOCK_NAMESPACE = 0x70697321; // 'pis!'

/**
 * Runs `fn` under a session-level advisory lock on the team, on a dedicated connection for
 * the whole reconcile: the queue's deduplication keeps one job per team, the lock also covers
 * a stalled job that was re-delivered while its first run still goes on.
 */
export async function withTeamLock<T>(db: Db, team: string, fn: () => Promise<T>): Promise<T> {
  const conn = await db.client.acquireConnection();
  try {
    const got = await conn.query('SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok', [LOCK_NAMESPACE, team]);
    if (!got.rows[0].ok) throw new TeamBusyError(`team ${team} is being reconciled by another worker`);
    try {
      return await fn();
    } finally {
      await conn.query('SELECT pg_advisory_unlock($1, hashtext($2))', [LOCK_NAMESPACE, team]);
    }
  } finally {
    await db.client.releaseConnection(conn);
  }
}
