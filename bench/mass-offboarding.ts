import { seedFor, type DirectoryShape } from './lib/directory';
import { check, printTable } from './lib/report';
import { pushWithHandTokens, runScenario, startScenario, teamOfPerson } from './lib/scenario';
import { pool } from './lib/scim-client';
import { benchPolicy, startStack, until } from './lib/stack';

/**
 * Mass offboarding: 1,000 people, each holding one token they made by hand in Pulumi on the one
 * owned team (of 20) they are on, are deactivated within 10 s (Okta's PATCH, 100/s). We wait
 * until every token is revoked and every person is off their team, then until the daemon makes
 * no Pulumi call for 5 s, and count every Pulumi call the daemon made from the first
 * deactivation on — reads, the revoke lane and the team reconciles that follow — against the
 * work itself (tokens + memberships removed). Wall time is compared with what the rate limit
 * allows for that work: (tokens + memberships) / PULUMI_MAX_RPS.
 *
 * Env: BENCH_PEOPLE (default 1000), BENCH_TEAMS (default 20), BENCH_PULUMI_MAX_RPS (default 20),
 * BENCH_PULUMI_LATENCY_MS (default 20), BENCH_DEACTIVATE_SEC (default 10).
 */

const PEOPLE = Number(process.env.BENCH_PEOPLE ?? 1000);
const TEAMS = Number(process.env.BENCH_TEAMS ?? 20);
const MAX_RPS = Number(process.env.BENCH_PULUMI_MAX_RPS ?? 20);
const LATENCY_MS = Number(process.env.BENCH_PULUMI_LATENCY_MS ?? 20);
const DEACTIVATE_SEC = Number(process.env.BENCH_DEACTIVATE_SEC ?? 10);
const QUIET_MS = 5000;

async function main(): Promise<void> {
  const shape: DirectoryShape = { users: PEOPLE, groups: TEAMS, memberships: PEOPLE };
  const teamOf = teamOfPerson(shape);
  const stack = await startStack({
    label: 'offboard',
    seed: seedFor(shape),
    policy: benchPolicy(),
    pulumiLatencyMs: LATENCY_MS,
    env: { PULUMI_MAX_RPS: String(MAX_RPS) },
  });
  const result: Record<string, unknown> = { settings: { PEOPLE, TEAMS, MAX_RPS, LATENCY_MS, DEACTIVATE_SEC } };
  await runScenario('mass-offboarding', stack, result, async () => {
    const { pushed, tokenIds: tokenList } = await pushWithHandTokens(stack, shape, teamOf, 600_000);
    const tokenIds = new Set(tokenList);
    // Quiet before the run: the reconciles of the set-up are done.
    await until(
      'set-up quiet',
      () => stack.tap.calls.length === 0 || performance.now() - stack.tap.calls[stack.tap.calls.length - 1].answeredAt > QUIET_MS,
      120_000,
      100,
    );

    const from = stack.tap.calls.length;
    const startedAt = performance.now();
    const spacingMs = (DEACTIVATE_SEC * 1000) / PEOPLE;
    await pool(
      Array.from({ length: PEOPLE }, (_, i) => i),
      32,
      async (i) => {
        const due = startedAt + i * spacingMs;
        if (due > performance.now()) await new Promise((r) => setTimeout(r, due - performance.now()));
        await stack.scim.setActive(pushed.userIds[i], false);
      },
    );
    const deactivatedSec = (performance.now() - startedAt) / 1000;
    const live = () => stack.emulator.state.tokens.filter((t) => tokenIds.has(t.id) && !t.deleted).length;
    const members = () => stack.emulator.state.teams.reduce((n, t) => n + (/^g\d{4}$/.test(t.name) ? t.members.length : 0), 0);
    const doneAt = await until('every token revoked and every member removed', () => live() === 0 && members() === 0, 900_000, 50);
    await until('daemon quiet', () => performance.now() - stack.tap.calls[stack.tap.calls.length - 1].answeredAt > QUIET_MS, 300_000, 100);

    const calls = stack.tap.calls.slice(from);
    const tokenDeletes = calls.filter((c) => c.method === 'DELETE' && /\/tokens\/[^/]+$/.test(c.path) && c.status < 300).length;
    const removals = calls.filter(
      (c) => c.method === 'PATCH' && (c.body as { memberAction?: string } | undefined)?.memberAction === 'remove' && c.status < 300,
    ).length;
    const notFound = calls.filter((c) => c.status === 404).length;
    const work = PEOPLE * 2;
    const ratio = calls.length / work;
    const wallSec = (doneAt - startedAt) / 1000;
    const allowedSec = work / MAX_RPS;
    const byRoute: Record<string, number> = {};
    for (const c of calls) {
      const key = `${c.method} ${c.path
        .replace(/\/teams\/[^/]+/, '/teams/{team}')
        .replace(/\/tokens\/[^/]+$/, '/tokens/{id}')
        .replace(/\/members\/[^/]+/, '/members/{login}')}`;
      byRoute[key] = (byRoute[key] ?? 0) + 1;
    }
    Object.assign(result, {
      deactivatedSec,
      wallSec,
      allowedSec,
      pulumiCalls: calls.length,
      work,
      ratio,
      tokenDeletes,
      removals,
      notFound,
      byRoute,
      goals: [
        check('every token revoked', live(), (v) => v === 0),
        check('Pulumi calls <= 1.1 x (tokens + memberships removed)', ratio, (v) => v <= 1.1),
        check('wall time <= rate-limit time + 10 s', wallSec - allowedSec, (v) => v <= 10),
      ],
    });
    printTable(`Mass offboarding: ${PEOPLE} people deactivated in ${deactivatedSec.toFixed(1)} s, PULUMI_MAX_RPS=${MAX_RPS}`, [
      { figure: 'Pulumi calls', value: calls.length },
      { figure: 'tokens + memberships removed', value: work },
      { figure: 'calls / work', value: Number(ratio.toFixed(3)) },
      { figure: 'token DELETEs (2xx) / member removals (2xx) / 404s', value: `${tokenDeletes} / ${removals} / ${notFound}` },
      { figure: 'wall time, s (rate limit allows)', value: `${wallSec.toFixed(1)} (${allowedSec.toFixed(1)})` },
    ]);
    process.stdout.write(`${JSON.stringify(byRoute)}\n`);
  });
}

startScenario('mass-offboarding', main);
