import type { TappedCall } from './pulumi-tap';
import { writeResult } from './report';
import { type Stack, until } from './stack';

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
