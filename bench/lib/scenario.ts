import { converged, desiredTeams, membershipPlan, type DirectoryShape, type PushResult, pushDirectory, teamName } from './directory';
import { loginOf, pool, type ScimAnswer } from './scim-client';
import type { TappedCall } from './pulumi-tap';
import { writeResult } from './report';
import { BENCH_ORG, type Stack, until } from './stack';

/** An error's message, with its cause's where it has one (fetch puts the network error there). */
function describeError(err: unknown): string {
  const cause = (err as Error & { cause?: unknown }).cause;
  const causeMessage = cause === undefined ? '' : ` (${(cause as Error).message ?? String(cause)})`;
  return `${(err as Error).message}${causeMessage}`;
}

export interface ScenarioOptions {
  /** Runs after the body, also when it failed, before the stack stops: background load, extra connections. */
  cleanup?: () => unknown;
}

/**
 * Runs a scenario's body on its stack: a failure is recorded in the result and printed as a
 * `NOTE` line among the figures, the cleanup always run, the stack always stopped, the result
 * always written.
 */
export async function runScenario(name: string, stack: Stack, result: Record<string, unknown>, body: () => Promise<void>): Promise<void>;
export async function runScenario(
  name: string,
  stack: Stack,
  result: Record<string, unknown>,
  options: ScenarioOptions,
  body: () => Promise<void>,
): Promise<void>;
export async function runScenario(
  name: string,
  stack: Stack,
  result: Record<string, unknown>,
  optionsOrBody: ScenarioOptions | (() => Promise<void>),
  bodyAfterOptions?: () => Promise<void>,
): Promise<void> {
  const [options, body] = typeof optionsOrBody === 'function' ? [{}, optionsOrBody] : [optionsOrBody, bodyAfterOptions!];
  try {
    await body();
  } catch (err) {
    result.error = describeError(err);
    process.stderr.write(`${(err as Error).stack}\n`);
    process.stdout.write(`NOTE ${result.error}\n`);
    process.exitCode = 1;
  } finally {
    try {
      await options.cleanup?.();
    } finally {
      await stack.stop();
    }
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

/** One deprovision trial: who is deprovisioned, the team they leave and the team token they made. */
export interface DeprovisionTrial {
  /** Names the trial in a miss. */
  trial: number;
  team: string;
  login: string;
  tokenId: string;
  /** The SCIM request that deprovisions them (deactivate or group leave). */
  deprovision: () => Promise<ScimAnswer>;
}

/** Milliseconds from the SCIM response of a deprovision trial. */
export interface DeprovisionTiming {
  tokenDeleteReachedMs: number;
  tokenDeleteAnsweredMs: number;
  memberRemoveReachedMs: number;
}

/**
 * Runs one deprovision trial and waits for the tap to see the person's token DELETE and their
 * member-remove PATCH arrive; times both from the SCIM response. A trial that times out is
 * added to `misses` and yields undefined.
 */
export async function timeDeprovision(stack: Stack, trial: DeprovisionTrial, timeoutMs: number, misses: string[]): Promise<DeprovisionTiming | undefined> {
  const from = stack.tap.calls.length;
  const answer = await trial.deprovision();
  try {
    const [del, rm] = await firstCallsAfter(
      stack,
      `trial ${trial.trial}`,
      from,
      [isTokenDeleteOf(trial.team, trial.tokenId), isMemberRemoveOf(trial.team, trial.login)],
      timeoutMs,
    );
    return {
      tokenDeleteReachedMs: del.startedAt - answer.at,
      tokenDeleteAnsweredMs: del.answeredAt - answer.at,
      memberRemoveReachedMs: rm.startedAt - answer.at,
    };
  } catch (err) {
    misses.push((err as Error).message);
    return undefined;
  }
}

/** Paces sequential trials: each call resolves no sooner than `intervalMs` after the previous one resolved. */
export function trialPacer(intervalMs: number): () => Promise<void> {
  let nextTrialAt = 0;
  return async () => {
    const wait = nextTrialAt - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    nextTrialAt = performance.now() + intervalMs;
  };
}

/**
 * Makes a team token by hand in Pulumi (the emulator's hand-edit side), acting as `login` so
 * that Pulumi records them as its creator; returns the token's id.
 */
export async function createHandToken(
  stack: Stack,
  team: string,
  login: string,
  name: string,
  send: (url: string, init: RequestInit) => Promise<Response> = fetch,
): Promise<string> {
  const res = await send(`${stack.emulator.handEditUrl}/api/orgs/${BENCH_ORG}/teams/${team}/tokens`, {
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
