import type { Db, Trx } from '../directory';
import { loginConflictsDetected } from '../metrics';

/**
 * Identity links (docs/live-org.md): the Pulumi login each person is synced as is recorded the
 * first time it is used and kept from then on, so a later edit in the IdP or in the policy
 * does not silently move a person's access to another account. Two people who resolve to one
 * login are both put in `login_conflict`: neither gets anything until one of them changes.
 */

type Conn = Db | Trx;

export interface ResolvedLogin {
  login: string;
  /** Another person resolves to the same login: this one is not synced. */
  conflict: boolean;
  /** The login the policy gives the person now, when it differs from the recorded link. */
  proposed?: string;
}

export interface LoginResolution {
  byUser: Map<string, ResolvedLogin>;
  /** Links to record: people seen with a login nobody holds yet. */
  newLinks: Array<{ userId: string; login: string }>;
  /** Clashes to record, one row per person and login. */
  newConflicts: Array<{ loginLower: string; userId: string }>;
  /** Clashes of these people that no longer hold (their login changed). */
  staleConflicts: Array<{ loginLower: string; userId: string }>;
}

/**
 * Resolves the given people's logins against the recorded links and clashes. Read-only: the
 * caller records `newLinks` and the conflict changes (`recordLoginResolution`).
 */
export async function resolveLogins(conn: Conn, candidates: ReadonlyMap<string, string | undefined>): Promise<LoginResolution> {
  const out: LoginResolution = { byUser: new Map(), newLinks: [], newConflicts: [], staleConflicts: [] };
  const userIds = [...candidates.keys()];
  if (userIds.length === 0) return out;
  const lowers = [...new Set([...candidates.values()].flatMap((l) => (l ? [l.toLowerCase()] : [])))];
  const links: Array<{ user_id: string; login: string; login_lower: string }> = [];
  for (let i = 0; i < userIds.length; i += 1000)
    links.push(
      ...(await conn('identity_links')
        .whereIn('user_id', userIds.slice(i, i + 1000))
        .select('user_id', 'login', 'login_lower')),
    );
  const linkOf = new Map(links.map((l) => [l.user_id, l]));
  const claims = new Map<string, string>();
  for (let i = 0; i < lowers.length; i += 1000) {
    for (const c of (await conn('identity_links')
      .whereIn('login_lower', lowers.slice(i, i + 1000))
      .select('user_id', 'login_lower')) as Array<{ user_id: string; login_lower: string }>) {
      claims.set(c.login_lower, c.user_id);
    }
  }
  const relevant = [...new Set([...lowers, ...links.map((l) => l.login_lower)])];
  const conflictRows: Array<{ login_lower: string; user_id: string }> = [];
  for (let i = 0; i < relevant.length; i += 1000)
    conflictRows.push(
      ...(await conn('login_conflicts')
        .whereIn('login_lower', relevant.slice(i, i + 1000))
        .select('login_lower', 'user_id')),
    );

  // Who wants each login now: the link holders, and those without a link whose policy login it is.
  const wanting = new Map<string, Set<string>>();
  const want = (lower: string, userId: string) => wanting.set(lower, (wanting.get(lower) ?? new Set()).add(userId));
  for (const [userId, candidate] of candidates) {
    const link = linkOf.get(userId);
    if (link) want(link.login_lower, userId);
    else if (candidate) want(candidate.toLowerCase(), userId);
  }
  for (const [lower, holder] of claims) want(lower, holder);
  // Recorded clashes of people not read now still stand; those of people read now are re-judged.
  for (const row of conflictRows) {
    if (candidates.has(row.user_id)) {
      const link = linkOf.get(row.user_id);
      const now = link ? link.login_lower : candidates.get(row.user_id)?.toLowerCase();
      if (now !== row.login_lower) out.staleConflicts.push({ loginLower: row.login_lower, userId: row.user_id });
      continue;
    }
    want(row.login_lower, row.user_id);
  }

  const recorded = new Set(conflictRows.map((r) => `${r.login_lower}\0${r.user_id}`));
  for (const [userId, candidate] of candidates) {
    const link = linkOf.get(userId);
    const login = link?.login ?? candidate;
    if (!login) continue;
    const lower = login.toLowerCase();
    const clash = (wanting.get(lower)?.size ?? 0) > 1;
    const proposed = link && candidate && candidate.toLowerCase() !== link.login_lower ? candidate : undefined;
    out.byUser.set(userId, { login, conflict: clash, ...(proposed ? { proposed } : {}) });
    if (clash) {
      for (const other of wanting.get(lower) ?? []) {
        if (!recorded.has(`${lower}\0${other}`)) {
          recorded.add(`${lower}\0${other}`);
          out.newConflicts.push({ loginLower: lower, userId: other });
        }
      }
    } else {
      // Nobody else wants the login any more: a clash recorded earlier is over.
      if (recorded.has(`${lower}\0${userId}`)) out.staleConflicts.push({ loginLower: lower, userId });
      if (!link) out.newLinks.push({ userId, login });
    }
  }
  return out;
}

/**
 * Records what `resolveLogins` found. A link another process made meanwhile for someone else
 * wins; the loser shows up as a clash on the next resolution. Returns the people whose link
 * could not be made.
 */
export async function recordLoginResolution(conn: Conn, resolution: LoginResolution): Promise<string[]> {
  for (const stale of resolution.staleConflicts) await conn('login_conflicts').where({ login_lower: stale.loginLower, user_id: stale.userId }).delete();
  if (resolution.newConflicts.length > 0) {
    // Counted as inserted: a clash another process recorded first is not new.
    const recorded: unknown[] = await conn('login_conflicts')
      .insert(resolution.newConflicts.map((c) => ({ login_lower: c.loginLower, user_id: c.userId })))
      .onConflict(['login_lower', 'user_id'])
      .ignore()
      .returning('user_id');
    loginConflictsDetected.inc(recorded.length);
  }
  const lost: string[] = [];
  for (let i = 0; i < resolution.newLinks.length; i += 1000) {
    const batch = resolution.newLinks.slice(i, i + 1000);
    const made: Array<{ user_id: string }> = await conn('identity_links')
      .insert(batch.map((l) => ({ user_id: l.userId, login: l.login, login_lower: l.login.toLowerCase() })))
      .onConflict()
      .ignore()
      .returning('user_id');
    const madeIds = new Set(made.map((m) => m.user_id));
    for (const l of batch) if (!madeIds.has(l.userId)) lost.push(l.userId);
  }
  return lost;
}

/** A deleted person's link and clashes go: the login is free for someone else. */
export async function forgetLoginLinks(conn: Conn, userIds: readonly string[]): Promise<void> {
  if (userIds.length === 0) return;
  await conn('identity_links')
    .whereIn('user_id', [...userIds])
    .delete();
  await conn('login_conflicts')
    .whereIn('user_id', [...userIds])
    .delete();
}

/** Every person in `login_conflict` now, for status and the metric. */
export async function listLoginConflicts(conn: Conn): Promise<Array<{ login: string; userId: string; since: Date }>> {
  const rows: Array<{ login_lower: string; user_id: string; first_seen_at: Date }> = await conn('login_conflicts')
    .orderBy(['login_lower', 'user_id'])
    .select('*');
  return rows.map((r) => ({ login: r.login_lower, userId: r.user_id, since: r.first_seen_at }));
}

export async function countLoginConflicts(conn: Conn): Promise<number> {
  const row = await conn('login_conflicts').countDistinct({ n: 'user_id' }).first();
  return Number(row?.n ?? 0);
}

/** A person's recorded login, or the login that clashes, for the console's "my teams" page. */
export async function identityLinkOf(conn: Conn, userId: string): Promise<{ login: string; since: Date; conflict: boolean } | undefined> {
  const link = (await conn('identity_links').where('user_id', userId).first('login', 'linked_at')) as { login: string; linked_at: Date } | undefined;
  if (link) return { login: link.login, since: link.linked_at, conflict: false };
  const clash = (await conn('login_conflicts').where('user_id', userId).first('login_lower', 'first_seen_at')) as
    | { login_lower: string; first_seen_at: Date }
    | undefined;
  return clash ? { login: clash.login_lower, since: clash.first_seen_at, conflict: true } : undefined;
}
