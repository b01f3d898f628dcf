import { converged, desiredTeams, pushDirectory, seedFor, teamName, type DirectoryShape } from './lib/directory';
import { check, printTable } from './lib/report';
import { runScenario, startScenario } from './lib/scenario';
import { BENCH_ORG, benchPolicy, startStack, until } from './lib/stack';

/**
 * Drift: 1,000 teams owned by the daemon; 5 % of them changed by hand in the
 * emulator (a member removed, a stranger added, or the grant revoked — a third each); a full
 * reconcile is asked for (`POST /api/v1/reconcile`) and we time until the emulator is back at
 * the desired state and count the writes; then a second full reconcile must make 0 writes.
 *
 * Env: BENCH_TEAMS (default 1000), BENCH_DRIFT_PERCENT (default 5), BENCH_PULUMI_LATENCY_MS.
 */

const TEAMS = Number(process.env.BENCH_TEAMS ?? 1000);
const DRIFT_PERCENT = Number(process.env.BENCH_DRIFT_PERCENT ?? 5);
const LATENCY_MS = Number(process.env.BENCH_PULUMI_LATENCY_MS ?? 20);
const STRANGER = 'hand-added-stranger';

async function hand(url: string, team: string, body: unknown): Promise<void> {
  const res = await fetch(`${url}/api/orgs/${BENCH_ORG}/teams/${team}`, {
    method: 'PATCH',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  if (res.status >= 300) throw new Error(`hand edit of ${team} answered ${res.status}: ${await res.text()}`);
}

/** Waits until every team has been read since `from` and no call came for `quietMs`. */
async function waitForFullPass(calls: { method: string; path: string; answeredAt: number }[], from: number, teams: number, timeoutMs: number): Promise<void> {
  await until(
    'full reconcile pass',
    () => {
      const read = new Set<string>();
      for (const c of calls.slice(from)) {
        const m = /\/api\/orgs\/[^/]+\/teams\/([^/?]+)$/.exec(c.path);
        if (c.method === 'GET' && m) read.add(m[1]);
      }
      const last = calls.length > from ? calls[calls.length - 1].answeredAt : 0;
      return read.size >= teams && performance.now() - last > 2000;
    },
    timeoutMs,
    200,
  );
}

async function main(): Promise<void> {
  const shape: DirectoryShape = { users: TEAMS * 2, groups: TEAMS, memberships: TEAMS * 4 };
  const desired = desiredTeams(shape);
  const seed = seedFor(shape);
  seed.members.push(STRANGER);
  const stack = await startStack({
    label: 'drift',
    seed,
    policy: benchPolicy(),
    pulumiLatencyMs: LATENCY_MS,
    env: { PULUMI_MAX_RPS: '1000', PULUMI_MAX_CONCURRENCY: '32' },
  });
  const result: Record<string, unknown> = { settings: { TEAMS, DRIFT_PERCENT, LATENCY_MS } };
  await runScenario('drift', stack, result, async () => {
    await pushDirectory(stack.scim, shape, 16);
    await until('initial convergence', () => converged(stack.emulator.state, desired), 600_000, 250);
    await new Promise((r) => setTimeout(r, 2000));

    const drifted = Math.round((TEAMS * DRIFT_PERCENT) / 100);
    const step = Math.floor(TEAMS / drifted);
    const edits: Record<string, number> = { memberRemoved: 0, strangerAdded: 0, grantRevoked: 0 };
    for (let k = 0; k < drifted; k++) {
      const team = teamName(k * step);
      const members = [...desired.get(team)!];
      if (k % 3 === 0) {
        await hand(stack.emulator.handEditUrl, team, { memberAction: 'remove', member: members[0] });
        edits.memberRemoved += 1;
      } else if (k % 3 === 1) {
        await hand(stack.emulator.handEditUrl, team, { memberAction: 'add', member: STRANGER });
        edits.strangerAdded += 1;
      } else {
        await hand(stack.emulator.handEditUrl, team, { removeStack: { projectName: 'infra', stackName: 'dev' } });
        edits.grantRevoked += 1;
      }
    }
    const strangerGone = () => stack.emulator.state.teams.every((t) => !t.members.some((m) => m.login === STRANGER));

    const from = stack.tap.calls.length;
    const asked = performance.now();
    await stack.admin.reconcileAll();
    const repairedAt = await until('drift repaired', () => converged(stack.emulator.state, desired) && strangerGone(), 600_000, 50);
    await waitForFullPass(stack.tap.calls, from, TEAMS, 600_000);
    const repairWrites = stack.tap.since(from, (c) => c.method !== 'GET').length;
    const firstPassSec = (stack.tap.calls[stack.tap.calls.length - 1].answeredAt - asked) / 1000;

    const second = stack.tap.calls.length;
    const askedAgain = performance.now();
    await stack.admin.reconcileAll();
    await waitForFullPass(stack.tap.calls, second, TEAMS, 600_000);
    const cleanWrites = stack.tap.since(second, (c) => c.method !== 'GET').length;
    const cleanReads = stack.tap.since(second, (c) => c.method === 'GET').length;
    const cleanPassSec = (stack.tap.calls[stack.tap.calls.length - 1].answeredAt - askedAgain) / 1000;

    Object.assign(result, {
      drifted,
      edits,
      repairSec: (repairedAt - asked) / 1000,
      firstFullPassSec: firstPassSec,
      repairWrites,
      cleanPassWrites: cleanWrites,
      cleanPassReads: cleanReads,
      cleanPassSec,
      goals: [
        check('drift repaired (writes = drifted teams)', repairWrites, (v) => v === drifted),
        check('clean second pass makes 0 writes', cleanWrites, (v) => v === 0),
      ],
    });
    printTable(`Drift: ${TEAMS} owned teams, ${drifted} changed by hand, Pulumi +${LATENCY_MS} ms/call`, [
      { figure: 'time to repair (s)', value: (repairedAt - asked) / 1000 },
      { figure: 'full pass duration (s)', value: firstPassSec },
      { figure: 'writes in the repairing pass', value: repairWrites },
      { figure: 'writes in the clean second pass', value: cleanWrites },
      { figure: 'reads in the clean second pass', value: cleanReads },
      { figure: 'clean pass duration (s)', value: cleanPassSec },
    ]);
  });
}

startScenario('drift', main);
