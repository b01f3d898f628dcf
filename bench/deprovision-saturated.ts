import { converged, desiredTeams, pushDirectory, seedFor, type DirectoryShape } from './lib/directory';
import type { TappedCall } from './lib/pulumi-tap';
import { check, printTable } from './lib/report';
import { createHandToken, firstCallsAfter, isMemberRemoveOf, isTokenDeleteOf, runScenario, startScenario } from './lib/scenario';
import { loginOf, oktaUser } from './lib/scim-client';
import { benchPolicy, startStack, until } from './lib/stack';
import { summarize } from './lib/stats';

/**
 * Deprovision under a saturated Pulumi budget: the daemon runs with PULUMI_MAX_RPS=20 and an
 * initial push (40 groups, 2,000 memberships: about 2,100 Pulumi writes, minutes of the budget)
 * is queued; while it drains, 50 trial people, each holding a team token they made by hand in
 * Pulumi, are deactivated one after another. We time, from the SCIM response, the token's DELETE
 * and the member-remove PATCH reaching the Pulumi API (the tap sees them arrive); count the
 * daemon's Pulumi calls in every sliding second of the run (the budget says at most
 * PULUMI_MAX_RPS); and wait for the push to converge afterwards.
 *
 * Env: BENCH_TRIALS (default 50), BENCH_TRIAL_INTERVAL_MS (default 1500), BENCH_MEMBERSHIPS
 * (default 2000), BENCH_PULUMI_MAX_RPS (default 20), BENCH_PULUMI_LATENCY_MS (default 20).
 */

const TRIALS = Number(process.env.BENCH_TRIALS ?? 50);
const TRIAL_INTERVAL_MS = Number(process.env.BENCH_TRIAL_INTERVAL_MS ?? 1500);
const MAX_RPS = Number(process.env.BENCH_PULUMI_MAX_RPS ?? 20);
const LATENCY_MS = Number(process.env.BENCH_PULUMI_LATENCY_MS ?? 20);
const push: DirectoryShape = { users: Number(process.env.BENCH_MEMBERSHIPS ?? 2000), groups: 40, memberships: Number(process.env.BENCH_MEMBERSHIPS ?? 2000) };
const TRIAL_TEAMS = 10;
/** Trial people are numbered apart from the push's. */
const FIRST_TRIAL = 100_000;
const TRIAL_TIMEOUT_MS = 20_000;

const trialTeam = (i: number) => `trial-${i % TRIAL_TEAMS}`;

/** The most calls that started within any `windowMs`, and when that window began. */
function busiestWindow(calls: readonly TappedCall[], windowMs: number): number {
  const starts = calls.map((c) => c.startedAt).sort((a, b) => a - b);
  let most = 0;
  for (let first = 0, last = 0; last < starts.length; last++) {
    while (starts[last] - starts[first] >= windowMs) first++;
    most = Math.max(most, last - first + 1);
  }
  return most;
}

async function main(): Promise<void> {
  const seed = seedFor(push);
  seed.members.push(...Array.from({ length: TRIALS }, (_, i) => loginOf(FIRST_TRIAL + i)));
  const stack = await startStack({
    label: 'deprov-sat',
    seed,
    policy: benchPolicy(),
    pulumiLatencyMs: LATENCY_MS,
    env: { PULUMI_MAX_RPS: String(MAX_RPS) },
  });
  const result: Record<string, unknown> = { settings: { TRIALS, TRIAL_INTERVAL_MS, MAX_RPS, LATENCY_MS, push } };
  await runScenario('deprovision-saturated', stack, result, async () => {
    // The trial people and their teams, converged before the push starts.
    const userIds: string[] = [];
    for (let i = 0; i < TRIALS; i++) userIds.push((await stack.scim.createUser(oktaUser(FIRST_TRIAL + i))).body.id);
    for (let t = 0; t < TRIAL_TEAMS; t++) {
      const group = (await stack.scim.createGroup(`pulumi-trial-${t}`)).body.id;
      const members = userIds.flatMap((id, i) => (i % TRIAL_TEAMS === t ? [{ value: id, display: loginOf(FIRST_TRIAL + i) }] : []));
      await stack.scim.addMembers(group, members);
    }
    const trialDesired = new Map(
      Array.from({ length: TRIAL_TEAMS }, (_, t) => [
        `trial-${t}`,
        new Set(Array.from({ length: TRIALS }, (_, i) => i).flatMap((i) => (i % TRIAL_TEAMS === t ? [loginOf(FIRST_TRIAL + i)] : []))),
      ]),
    );
    await until('trial teams converged', () => converged(stack.emulator.state, trialDesired), 120_000, 100);
    const tokenIds: string[] = [];
    for (let i = 0; i < TRIALS; i++) {
      tokenIds.push(await createHandToken(stack, trialTeam(i), loginOf(FIRST_TRIAL + i), `bench-${i}`));
    }

    const runFrom = stack.tap.calls.length;
    const pushed = await pushDirectory(stack.scim, push, 16);
    const pushQueuedAt = performance.now();
    process.stdout.write(`push queued: ${pushed.requests} SCIM requests\n`);

    const tokenMs: number[] = [];
    const memberMs: number[] = [];
    const misses: string[] = [];
    for (let i = 0; i < TRIALS; i++) {
      const trialStarted = performance.now();
      const team = trialTeam(i);
      const login = loginOf(FIRST_TRIAL + i);
      const from = stack.tap.calls.length;
      const answer = await stack.scim.setActive(userIds[i], false);
      try {
        const [del, rm] = await firstCallsAfter(
          stack,
          `trial ${i}`,
          from,
          [isTokenDeleteOf(team, tokenIds[i]), isMemberRemoveOf(team, login)],
          TRIAL_TIMEOUT_MS,
        );
        tokenMs.push(del.startedAt - answer.at);
        memberMs.push(rm.startedAt - answer.at);
      } catch (err) {
        misses.push((err as Error).message);
      }
      const wait = TRIAL_INTERVAL_MS - (performance.now() - trialStarted);
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    }
    const trialsEndedAt = performance.now();
    const duringTrials = stack.tap.calls.slice(runFrom).filter((c) => c.startedAt >= pushQueuedAt && c.startedAt <= trialsEndedAt);
    const pushTeams = desiredTeams(push);
    const convergedAt = await until('push converged', () => converged(stack.emulator.state, pushTeams), 900_000, 250).catch(() => Number.NaN);
    const runCalls = stack.tap.calls.slice(runFrom);
    const busiest = busiestWindow(runCalls, 1000);
    const averageRps = duringTrials.length / ((trialsEndedAt - pushQueuedAt) / 1000);
    const token = summarize(tokenMs);
    const member = summarize(memberMs);
    Object.assign(result, {
      tokenDeleteReachedMs: token,
      memberRemoveReachedMs: member,
      misses,
      pulumiCalls: { duringTrials: duringTrials.length, averageRpsDuringTrials: averageRps, busiestSecond: busiest, total: runCalls.length },
      pushConvergedSecAfterQueued: (convergedAt - pushQueuedAt) / 1000,
      goals: [
        check('token DELETE p50 <= 100 ms', token.p50, (v) => v <= 100),
        check('token DELETE p99 <= 300 ms', token.p99, (v) => v <= 300),
        check('member remove p50 <= 100 ms', member.p50, (v) => v <= 100),
        check('member remove p99 <= 300 ms', member.p99, (v) => v <= 300),
        check(`Pulumi calls in any second <= ${MAX_RPS}`, busiest, (v) => v <= MAX_RPS),
        check('push converged', convergedAt, (v) => Number.isFinite(v)),
        check('every trial measured', misses.length, (v) => v === 0),
      ],
    });
    printTable(`Deprovision under a saturated budget (PULUMI_MAX_RPS=${MAX_RPS}), ms from SCIM response, ${TRIALS} trials`, [
      { figure: 'token DELETE reaches Pulumi', ...token },
      { figure: 'member remove reaches Pulumi', ...member },
    ]);
    process.stdout.write(
      `Pulumi calls: ${averageRps.toFixed(1)}/s on average during the trials, at most ${busiest} in any second; push converged ${((convergedAt - pushQueuedAt) / 1000).toFixed(1)} s after it was queued; misses ${misses.length}\n`,
    );
  });
}

startScenario('deprovision-saturated', main);
