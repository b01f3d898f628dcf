import { converged, desiredTeams, pushDirectory, seedFor, teamsConverged, type DirectoryShape } from './lib/directory';
import { check, printTable, writeResult } from './lib/report';
import { benchPolicy, startStack, until } from './lib/stack';

/**
 * Initial push: Okta assigns 10k users, pushes 1k groups and 50k memberships
 * with 16 concurrent clients; we time until the emulator holds exactly the desired teams,
 * members and grants, count the Pulumi write calls against the size of the diff, and read the
 * daemon's peak RSS (kernel VmHWM).
 *
 * The diff: one team create + one grant (`*`/dev matches the seeded `infra/dev`) per group,
 * plus one member add per membership (every user is seeded as an org member already), plus
 * BENCH_ENVIRONMENTS_PER_TEAM environment grants per group (the org gets that many ESC
 * environments `esc/e1`…, and the rule grants `read` on `esc/*`).
 * Env: BENCH_USERS, BENCH_GROUPS, BENCH_MEMBERSHIPS, BENCH_ENVIRONMENTS_PER_TEAM (default 0),
 * BENCH_CONCURRENCY, BENCH_PULUMI_LATENCY_MS, BENCH_PULUMI_MAX_RPS, BENCH_PULUMI_MAX_CONCURRENCY,
 * BENCH_TIMEOUT_SEC, BENCH_RESULT_NAME (default initial-push).
 */

const shape: DirectoryShape = {
  users: Number(process.env.BENCH_USERS ?? 10_000),
  groups: Number(process.env.BENCH_GROUPS ?? 1_000),
  memberships: Number(process.env.BENCH_MEMBERSHIPS ?? 50_000),
};
const CONCURRENCY = Number(process.env.BENCH_CONCURRENCY ?? 16);
const LATENCY_MS = Number(process.env.BENCH_PULUMI_LATENCY_MS ?? 20);
const MAX_RPS = process.env.BENCH_PULUMI_MAX_RPS ?? '1000';
const MAX_CONCURRENCY = process.env.BENCH_PULUMI_MAX_CONCURRENCY ?? '32';
const TIMEOUT_SEC = Number(process.env.BENCH_TIMEOUT_SEC ?? 600);
const ENVIRONMENTS_PER_TEAM = Number(process.env.BENCH_ENVIRONMENTS_PER_TEAM ?? 0);
const RESULT_NAME = process.env.BENCH_RESULT_NAME ?? 'initial-push';
const ENVIRONMENTS = Array.from({ length: ENVIRONMENTS_PER_TEAM }, (_, i) => `esc/e${i + 1}`);

type EmulatedTeams = { teams: Array<{ name: string; members: Array<{ login: string }>; stacks: unknown[]; environments?: unknown[] }> };

/** Members and the stack grant as `converged` checks them, and every team with its environment grants. */
function pushConverged(state: EmulatedTeams, desired: Map<string, Set<string>>): boolean {
  if (!converged(state, desired)) return false;
  if (ENVIRONMENTS_PER_TEAM === 0) return true;
  const byName = new Map(state.teams.map((t) => [t.name, t]));
  return [...desired.keys()].every((name) => byName.get(name)?.environments?.length === ENVIRONMENTS_PER_TEAM);
}

async function main(): Promise<void> {
  const desired = desiredTeams(shape);
  const diff = shape.groups * (2 + ENVIRONMENTS_PER_TEAM) + shape.memberships;
  const environmentRules = ENVIRONMENTS_PER_TEAM > 0 ? { environments: [{ project: 'esc', environment: '*', permission: 'read' }] } : {};
  const stack = await startStack({
    label: 'push',
    seed: { ...seedFor(shape), environments: ENVIRONMENTS },
    policy: benchPolicy({
      teams: [{ groupPattern: '^pulumi-(?<team>[a-z0-9-]+)$', stacks: [{ project: '*', stack: 'dev', permission: 'write' }], ...environmentRules }],
    }),
    pulumiLatencyMs: LATENCY_MS,
    env: { PULUMI_MAX_RPS: MAX_RPS, PULUMI_MAX_CONCURRENCY: MAX_CONCURRENCY },
  });
  let outcome: Record<string, unknown> = {};
  try {
    const tapStart = stack.tap.calls.length;
    const push = await pushDirectory(stack.scim, shape, CONCURRENCY);
    process.stdout.write(`SCIM push done: ${push.requests} requests in ${((push.lastWriteAt - push.firstWriteAt) / 1000).toFixed(1)} s\n`);
    let convergedAt = Number.NaN;
    let error: string | undefined;
    try {
      convergedAt = await until('emulator converged', () => pushConverged(stack.emulator.state, desired), TIMEOUT_SEC * 1000, 250);
    } catch (err) {
      error = (err as Error).message;
    }
    // Late writes after convergence would be waste: give them a moment to show.
    await new Promise((r) => setTimeout(r, 3000));
    const writes = stack.tap.since(tapStart, (c) => c.method !== 'GET');
    const reads = stack.tap.since(tapStart, (c) => c.method === 'GET').length;
    const byRoute: Record<string, number> = {};
    for (const w of writes) {
      const key = `${w.method} ${w.path.replace(/\/teams\/[^/]+/, '/teams/{team}').replace(/\/stacks\/[^?]+/, '/stacks/{stack}')}`;
      byRoute[key] = (byRoute[key] ?? 0) + 1;
    }
    const afterLastWriteSec = (convergedAt - push.lastWriteAt) / 1000;
    const teamsDone = teamsConverged(stack.emulator.state, desired);
    outcome = {
      shape,
      environmentsPerTeam: ENVIRONMENTS_PER_TEAM,
      settings: { CONCURRENCY, LATENCY_MS, MAX_RPS, MAX_CONCURRENCY },
      scimRequests: push.requests,
      scimPushSec: (push.lastWriteAt - push.firstWriteAt) / 1000,
      convergedAfterFirstWriteSec: (convergedAt - push.firstWriteAt) / 1000,
      convergedAfterLastWriteSec: afterLastWriteSec,
      teamsConverged: teamsDone,
      teamsDesired: desired.size,
      pulumiWrites: writes.length,
      pulumiReads: reads,
      writesByRoute: byRoute,
      diff,
      writesPerDiff: writes.length / diff,
      daemonPeakRssMiB: stack.daemon.peakRssBytes() / 2 ** 20,
      error,
      goals: [
        check('converged <= 60 s after the last SCIM write', afterLastWriteSec, (v) => v <= 60),
        check('Pulumi writes <= 1.02 x diff', writes.length / diff, (v) => v <= 1.02),
      ],
    };
    printTable(
      `Initial push: ${shape.users} users, ${shape.groups} groups, ${shape.memberships} memberships, ${ENVIRONMENTS_PER_TEAM} environments per team, ${CONCURRENCY} clients, Pulumi +${LATENCY_MS} ms/call`,
      [
        { figure: 'SCIM push duration (s)', value: outcome.scimPushSec as number },
        { figure: 'converged after last SCIM write (s)', value: afterLastWriteSec },
        { figure: 'converged after first SCIM write (s)', value: outcome.convergedAfterFirstWriteSec as number },
        { figure: 'teams converged / desired', value: `${teamsDone} / ${desired.size}` },
        { figure: 'Pulumi write calls', value: writes.length },
        { figure: 'diff size', value: diff },
        { figure: 'writes / diff', value: writes.length / diff },
        { figure: 'Pulumi read calls', value: reads },
        { figure: 'daemon peak RSS (MiB)', value: outcome.daemonPeakRssMiB as number },
      ],
    );
    printTable(
      'Writes by route',
      Object.entries(byRoute).map(([route, n]) => ({ route, n })),
    );
    if (error) process.stdout.write(`NOTE ${error}\n`);
  } finally {
    await stack.stop();
  }
  writeResult(RESULT_NAME, outcome);
  if (outcome.error) process.exitCode = 1;
}

main().catch((err: unknown) => {
  process.stderr.write(`initial-push failed: ${(err as Error).stack}\n`);
  process.exit(1);
});
