import { startBackgroundScim, type BackgroundLoad } from './lib/background';
import { seedFor, teamName, type DirectoryShape } from './lib/directory';
import { check, printTable } from './lib/report';
import { pushWithHandTokens, runScenario, startScenario, teamOfPerson, timeDeprovision } from './lib/scenario';
import { loginOf } from './lib/scim-client';
import { benchPolicy, startStack } from './lib/stack';
import { summarize } from './lib/stats';

/**
 * Deprovision latency: a user who created a team token is deactivated (Okta's
 * path-less PATCH) or leaves the team's group (member-remove PATCH); we time from the SCIM
 * response to the token's DELETE reaching the Pulumi API (the tap sees the request arrive), and
 * to the member-remove PATCH, over ≥ 200 sequential trials while background SCIM traffic runs
 * at 200 req/s (150 lookups + 50 Okta PUTs of other users).
 *
 * Env: BENCH_TRIALS (default 240), BENCH_PULUMI_LATENCY_MS (default 20), BENCH_BACKGROUND_RPS.
 */

const TRIALS = Number(process.env.BENCH_TRIALS ?? 240);
const LATENCY_MS = Number(process.env.BENCH_PULUMI_LATENCY_MS ?? 20);
const BACKGROUND_RPS = Number(process.env.BENCH_BACKGROUND_RPS ?? 200);
const TEAMS = 12;
const BACKGROUND_USERS = 500;
const TRIAL_TIMEOUT_MS = 10_000;

async function main(): Promise<void> {
  const shape: DirectoryShape = { users: TRIALS, groups: TEAMS, memberships: TRIALS };
  const teamOf = teamOfPerson(shape);
  const stack = await startStack({ label: 'deprov', seed: seedFor(shape), policy: benchPolicy(), pulumiLatencyMs: LATENCY_MS });
  const result: Record<string, unknown> = { settings: { TRIALS, LATENCY_MS, BACKGROUND_RPS, TEAMS } };
  let load: BackgroundLoad | undefined;
  await runScenario('deprovision-latency', stack, result, { cleanup: () => load?.stop() }, async () => {
    // Each trial user creates a team token by hand in Pulumi: Pulumi records them as createdBy.
    const { pushed: push, tokenIds } = await pushWithHandTokens(stack, shape, teamOf, 120_000);

    load = await startBackgroundScim(stack, { rps: BACKGROUND_RPS, users: BACKGROUND_USERS, firstUser: 500_000 });

    const tokenMs: number[] = [];
    const tokenDoneMs: number[] = [];
    const memberMs: number[] = [];
    const misses: string[] = [];
    const byKind: Record<string, number[]> = { deactivate: [], leave: [] };
    for (let i = 0; i < TRIALS; i++) {
      const kind = i % 2 === 0 ? 'deactivate' : 'leave';
      const deprovision = () =>
        kind === 'deactivate' ? stack.scim.setActive(push.userIds[i], false) : stack.scim.removeMember(push.groupIds[teamOf.get(i)!], push.userIds[i]);
      const timing = await timeDeprovision(
        stack,
        { trial: i, team: teamName(teamOf.get(i)!), login: loginOf(i), tokenId: tokenIds[i], deprovision },
        TRIAL_TIMEOUT_MS,
        misses,
      );
      if (timing) {
        tokenMs.push(timing.tokenDeleteReachedMs);
        tokenDoneMs.push(timing.tokenDeleteAnsweredMs);
        memberMs.push(timing.memberRemoveReachedMs);
        byKind[kind].push(timing.tokenDeleteReachedMs);
      }
    }
    load.stop();
    const bg = await load.results();

    const deletesPerToken = new Map<string, number>();
    for (const c of stack.tap.calls) {
      const m = /\/tokens\/([^/?]+)$/.exec(c.path);
      if (c.method === 'DELETE' && m && c.status < 300) deletesPerToken.set(m[1], (deletesPerToken.get(m[1]) ?? 0) + 1);
    }
    const duplicateRevocations = [...deletesPerToken.values()].filter((n) => n > 1).length;
    const token = summarize(tokenMs);
    Object.assign(result, {
      tokenDeleteReachedMs: token,
      tokenDeleteAnsweredMs: summarize(tokenDoneMs),
      memberRemoveReachedMs: summarize(memberMs),
      byKind: { deactivate: summarize(byKind.deactivate), leave: summarize(byKind.leave) },
      misses,
      duplicateRevocations,
      background: bg,
      goals: [
        check('token DELETE p50 <= 100 ms', token.p50, (v) => v <= 100),
        check('token DELETE p99 <= 300 ms', token.p99, (v) => v <= 300),
        check('>= 200 trials measured', token.n, (v) => v >= 200),
      ],
    });
    printTable(`Deprovision latency, ms from SCIM response (${TRIALS} trials, background ${bg.achievedRps.toFixed(0)} req/s, Pulumi +${LATENCY_MS} ms/call)`, [
      { figure: 'token DELETE reaches Pulumi', ...token },
      { figure: 'token DELETE answered', ...summarize(tokenDoneMs) },
      { figure: 'member remove reaches Pulumi', ...summarize(memberMs) },
      { figure: 'token DELETE, deactivate', ...summarize(byKind.deactivate) },
      { figure: 'token DELETE, group leave', ...summarize(byKind.leave) },
    ]);
    process.stdout.write(`misses: ${misses.length}, tokens revoked more than once: ${duplicateRevocations}\n`);
  });
}

startScenario('deprovision-latency', main);
