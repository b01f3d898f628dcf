import { converged, desiredTeams, membershipPlan, type DirectoryShape, type PushResult, pushDirectory, teamName } from './directory';
import type { TappedCall } from './pulumi-tap';
import { loginOf, pool } from './scim-client';
import { writeResult } from './report';
import { BENCH_ORG, type Stack, until } from './stack';

/** Runs a scenario's body on its stack: a failure is recorded in the result, the stack always stopped, the result always written. */
export async function runScenario(name: string, stack: Stack, result: Record<string, unknown>, body: () => Promise<void>): Promise<void> {
  try {
    await body();
  } catch (err) {
    result.error = (err as Error).message;
    process.stderr.write(`${(err as Error).stack}\n`);
    process.exitCode = 1;
  } finally {
    await stack.stop();
  }
  writeResult(name, result);
}

/** The entry point of a scenario file: a failure outside the scenario exits 1. */
export function startScenario(name: string, main: () => Promise<void>): void {
  main().catch((err: unknown) => {
    process.stderr.write(`${name} failed: ${(err as Error).stack}\n`);
    process.exit(1);
  });
}

/** The DELETE of one team token, as the tap saw it. */
export const isTokenDeleteOf = (team: string, tokenId: string) => (c: TappedCall) =>
  c.method === 'DELETE' && c.path.endsWith(`/teams/${team}/tokens/${tokenId}`);

/** The PATCH removing `login` from `team`, as the tap saw it. */
export const isMemberRemoveOf = (team: string, login: string) => (c: TappedCall) => {
  const body = c.body as { memberAction?: string; member?: string } | undefined;
  return c.method === 'PATCH' && c.path.endsWith(`/teams/${team}`) && body?.memberAction === 'remove' && body.member === login;
};

/** Waits until the tap has seen, from call `from` on, a call matching each predicate; returns the first of each. */
export async function firstCallsAfter(
  stack: Stack,
  what: string,
  from: number,
  predicates: Array<(c: TappedCall) => boolean>,
  timeoutMs: number,
): Promise<TappedCall[]> {
  await until(what, () => predicates.every((p) => stack.tap.since(from, p).length > 0), timeoutMs, 2);
  return predicates.map((p) => stack.tap.since(from, p)[0]);
}

/**
 * A token on `team` made by hand in Pulumi by `login` (the emulator's hand-edit door), so Pulumi
 * records them as its creator: what the daemon revokes when they leave. Returns the token's id.
 */
export async function createHandToken(stack: Stack, team: string, login: string, name: string): Promise<string> {
  const res = await fetch(`${stack.emulator.handEditUrl}/api/orgs/${BENCH_ORG}/teams/${team}/tokens`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-emulator-acting-as': login },
    body: JSON.stringify({ name, description: 'bench', expires: 0 }),
  });
  if (!res.ok) throw new Error(`hand token create answered ${res.status}: ${await res.text()}`);
  return ((await res.json()) as { id: string }).id;
}

/** The team of each person of a shape where everyone is on one team (`memberships` = `users`). */
export function teamOfPerson(shape: DirectoryShape): Map<number, number> {
  const teamOf = new Map<number, number>();
  for (const [g, users] of membershipPlan(shape).entries()) for (const u of users) teamOf.set(u, g);
  return teamOf;
}

/**
 * Pushes `shape` over SCIM, waits for its teams in Pulumi, then has each person make a token by
 * hand on their team: the people a deprovisioning scenario deactivates. Token ids by person.
 */
export async function pushWithHandTokens(
  stack: Stack,
  shape: DirectoryShape,
  teamOf: Map<number, number>,
  convergeTimeoutMs: number,
): Promise<{ pushed: PushResult; tokenIds: string[] }> {
  const pushed = await pushDirectory(stack.scim, shape, 16);
  await until('teams converged', () => converged(stack.emulator.state, desiredTeams(shape)), convergeTimeoutMs, 100);
  const tokenIds: string[] = new Array(shape.users);
  await pool(
    Array.from({ length: shape.users }, (_, i) => i),
    8,
    async (i) => {
      tokenIds[i] = await createHandToken(stack, teamName(teamOf.get(i)!), loginOf(i), `bench-${i}`);
    },
  );
  return { pushed, tokenIds };
}
