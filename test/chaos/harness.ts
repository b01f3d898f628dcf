import { converged, desiredTeams, membershipPlan, teamName, type DirectoryShape, type PushResult } from '../helpers/stack/directory';
import { loginOf } from '../helpers/stack/scim-client';
import { BENCH_ORG, type Stack } from '../helpers/stack/stack';

/**
 * What every chaos test checks once the fault is over: the emulator holds exactly the
 * desired teams and members, every due revocation happened exactly once (one successful DELETE
 * per token), no token that was not due was revoked, and no acknowledged SCIM write was lost
 * (the desired state is computed from the writes the daemon acknowledged).
 */

export const SMALL: DirectoryShape = { users: 40, groups: 4, memberships: 80 };

/** team → logins, after removing `gone` users (deactivated or removed). */
export function desiredWithout(shape: DirectoryShape, gone: Set<number>): Map<string, Set<string>> {
  const desired = desiredTeams(shape);
  for (const logins of desired.values()) for (const u of gone) logins.delete(loginOf(u));
  return desired;
}

export function teamOfUser(shape: DirectoryShape): Map<number, string> {
  const teams = new Map<number, string>();
  for (const [g, users] of membershipPlan(shape).entries()) for (const u of users) if (!teams.has(u)) teams.set(u, teamName(g));
  return teams;
}

/** Each user creates a token on one of their teams, by hand in Pulumi (createdBy = their login). */
export async function createHandTokens(stack: Stack, shape: DirectoryShape, users: number[]): Promise<Map<number, string>> {
  const teams = teamOfUser(shape);
  const ids = new Map<number, string>();
  for (const u of users) {
    const res = await fetch(`${stack.emulator.handEditUrl}/api/orgs/${BENCH_ORG}/teams/${teams.get(u)}/tokens`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-emulator-acting-as': loginOf(u) },
      body: JSON.stringify({ name: `chaos-${u}-${Date.now()}`, description: 'chaos', expires: 0 }),
    });
    if (!res.ok) throw new Error(`hand token for user${u}: ${res.status} ${await res.text()}`);
    ids.set(u, ((await res.json()) as { id: string }).id);
  }
  return ids;
}

/** SCIM writes that Okta would retry (it retries 429/5xx): retried here until acknowledged. */
export async function acknowledged<T>(what: string, write: () => Promise<{ status: number } & T>, timeoutMs = 60_000): Promise<T & { status: number }> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const answer = await write();
      if (answer.status < 300) return answer;
      if (answer.status < 429 || (answer.status > 429 && answer.status < 500)) throw new Error(`${what}: answered ${answer.status}`);
    } catch (err) {
      if (/answered 4(?!29)\d\d/.test((err as Error).message)) throw err;
    }
    if (Date.now() > deadline) throw new Error(`${what}: not acknowledged within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

export async function eventually(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, describe?: () => string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs} ms${describe ? `\n${describe()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

export async function expectConverged(stack: Stack, desired: Map<string, Set<string>>, timeoutMs: number): Promise<void> {
  await eventually(
    'emulator converged to the desired state',
    () => converged(stack.emulator.state, desired),
    timeoutMs,
    () => {
      const lines: string[] = [];
      for (const [team, logins] of desired) {
        const actual = stack.emulator.state.teams.find((t) => t.name === team);
        const have = new Set(actual?.members.map((m) => m.login) ?? []);
        const missing = [...logins].filter((l) => !have.has(l));
        const extra = [...have].filter((l) => !logins.has(l));
        if (!actual || missing.length || extra.length || actual.stacks.length === 0) {
          lines.push(`${team}: ${actual ? '' : 'absent '}missing ${missing.length} extra ${extra.length} grants ${actual?.stacks.length ?? 0}`);
        }
      }
      return lines.slice(0, 10).join('\n');
    },
  );
}

/** Successful DELETEs per token id, as the Pulumi side saw them. */
export function revocations(stack: Stack): Map<string, number> {
  const counts = new Map<string, number>();
  for (const c of stack.tap.calls) {
    const m = /\/tokens\/([^/?]+)$/.exec(c.path);
    if (c.method === 'DELETE' && m && c.status >= 200 && c.status < 300) counts.set(m[1], (counts.get(m[1]) ?? 0) + 1);
  }
  return counts;
}

export async function expectRevokedOnce(stack: Stack, due: Map<number, string>, notDue: Map<number, string>, timeoutMs: number): Promise<void> {
  // The emulator marks a token deleted a moment before the tap has the answer: wait for both.
  await eventually(
    'due tokens revoked',
    () => {
      const seen = revocations(stack);
      return [...due.values()].every((id) => stack.emulator.state.tokens.find((t) => t.id === id)?.deleted && seen.has(id));
    },
    timeoutMs,
  );
  const counts = revocations(stack);
  for (const id of due.values()) expect({ id, successfulDeletes: counts.get(id) ?? 0 }).toEqual({ id, successfulDeletes: 1 });
  for (const id of notDue.values()) {
    expect({ id, deleted: stack.emulator.state.tokens.find((t) => t.id === id)?.deleted }).toEqual({ id, deleted: false });
  }
}

export type { PushResult };
