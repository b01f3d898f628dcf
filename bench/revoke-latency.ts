import { Queue } from 'bullmq';
import { loadConfig } from '../src/config';
import { createDb } from '../src/directory/db';
import { startBackgroundScim, type BackgroundLoad } from './lib/background';
import { converged, desiredTeams, membershipPlan, pushDirectory, seedFor, teamName, type DirectoryShape } from './lib/directory';
import type { TappedCall } from './lib/pulumi-tap';
import { readHistogram } from './lib/daemon-metrics';
import { check, printTable } from './lib/report';
import { createHandToken, runScenario, startScenario, trialPacer } from './lib/scenario';
import { loginOf, oktaUser, pool } from './lib/scim-client';
import { benchPolicy, startStack, until } from './lib/stack';
import { summarize, type Summary } from './lib/stats';

/**
 * Revoke latency of dependent tokens, both kinds at once: every trial user holds a
 * creator-bound token (made by hand in Pulumi, so Pulumi's `createdBy` is theirs) AND a scoped
 * token the daemon issued through `POST /api/v1/tokens` (a private team + a token on it, in
 * the ledger). Each trial deactivates the user (Okta's PATCH) or removes them from the team's
 * group (member-remove PATCH); we time from the SCIM response to each token's DELETE reaching
 * the Pulumi API (the tap sees the request arrive), over ≥ 200 sequential trials while
 * background SCIM traffic flows at 200 req/s (150 lookups + 50 PUTs of other users).
 *
 * Also checked: no token DELETE succeeds twice, every ledger row ends `revoked` with its
 * private team gone, every revocation has its audit row with the SCIM request id, and the
 * daemon's own `idp_sync_deprovision_to_revoke_seconds` histogram agrees.
 * `bench/deprovision-latency.ts` measures the creator-bound token together with the member
 * removal; this one is the tokens part's own figure.
 *
 * Env: BENCH_TRIALS (default 220), BENCH_TRIAL_INTERVAL_MS (default 200), BENCH_PULUMI_LATENCY_MS (default 20), BENCH_BACKGROUND_RPS
 * (default 200; 0 = no background traffic, the floor).
 */

const TRIALS = Number(process.env.BENCH_TRIALS ?? 220);
const LATENCY_MS = Number(process.env.BENCH_PULUMI_LATENCY_MS ?? 20);
const BACKGROUND_RPS = Number(process.env.BENCH_BACKGROUND_RPS ?? 200);
const TEAMS = 12;
const BACKGROUND_USERS = 400;
const TRIAL_TIMEOUT_MS = 10_000;
/**
 * Trials start at most this often. Each costs the fast lane three Pulumi calls (two token
 * DELETEs, one private-team DELETE), and the lane's client holds to PULUMI_MAX_RPS (20/s by
 * default): back-to-back trials would measure that limiter's refill, not the revoke path.
 */
const TRIAL_INTERVAL_MS = Number(process.env.BENCH_TRIAL_INTERVAL_MS ?? 200);

interface Issued {
  id: string;
  pulumiTeam: string;
}

async function main(): Promise<void> {
  const shape: DirectoryShape = { users: TRIALS, groups: TEAMS, memberships: TRIALS };
  const teamOf = new Map<number, number>();
  for (const [g, users] of membershipPlan(shape).entries()) for (const u of users) teamOf.set(u, g);
  const stack = await startStack({ label: 'revoke', seed: seedFor(shape), policy: benchPolicy(), pulumiLatencyMs: LATENCY_MS });
  const db = createDb({ connectionString: stack.db.url, poolMax: 2 });
  const result: Record<string, unknown> = { settings: { TRIALS, LATENCY_MS, BACKGROUND_RPS, TEAMS, TRIAL_INTERVAL_MS } };
  let load: BackgroundLoad | undefined;
  const cleanup = async () => {
    // Background load must end with the run, also when it failed half-way.
    load?.stop();
    await db.destroy();
  };
  await runScenario('revoke-latency', stack, result, { cleanup }, async () => {
    const push = await pushDirectory(stack.scim, shape, 16);
    await until('teams converged', () => converged(stack.emulator.state, desiredTeams(shape)), 120_000, 100);

    const handTokens: string[] = new Array(TRIALS);
    const scoped: Issued[] = new Array(TRIALS);
    await pool(
      Array.from({ length: TRIALS }, (_, i) => i),
      8,
      async (i) => {
        const team = teamName(teamOf.get(i)!);
        handTokens[i] = await createHandToken(stack, team, loginOf(i), `bench-hand-${i}`, fetchRetrying);
        const issued = await fetchRetrying(`${stack.daemonUrl}/api/v1/tokens`, {
          method: 'POST',
          headers: { authorization: `Bearer ${stack.env.ADMIN_API_TOKEN}`, 'content-type': 'application/json' },
          body: JSON.stringify({
            team,
            owner: oktaUser(i).userName,
            description: 'bench scoped token',
            scope: [{ project: 'infra', stack: 'dev', permission: 'read' }],
          }),
        });
        if (issued.status !== 201) throw new Error(`POST /api/v1/tokens answered ${issued.status}: ${await issued.text()}`);
        scoped[i] = (await issued.json()) as Issued;
      },
    );
    const scopedTokenIds = new Map<number, string>();
    for (const row of await db('token_ledger').select('id', 'pulumi_token_id')) {
      const i = scoped.findIndex((s) => s.id === row.id);
      if (i >= 0) scopedTokenIds.set(i, row.pulumi_token_id);
    }

    // The fast lane reads each team's token list from the cache a team reconcile refreshes.
    await stack.admin.reconcileAll();
    await until('token cache holds every hand-made token', async () => Number((await db('team_token_cache').count('* as n'))[0].n) >= TRIALS, 120_000, 200);

    // BENCH_BACKGROUND_RPS=0 measures the floor without background traffic.
    load = await startBackgroundScim(stack, { rps: BACKGROUND_RPS, users: BACKGROUND_USERS, firstUser: 600_000 });

    const handMs: number[] = [];
    const scopedMs: number[] = [];
    const bothMs: number[] = [];
    const byKind: Record<'deactivate' | 'leave', number[]> = { deactivate: [], leave: [] };
    const misses: string[] = [];
    const pace = trialPacer(TRIAL_INTERVAL_MS);
    for (let i = 0; i < TRIALS; i++) {
      await pace();
      const kind = i % 2 === 0 ? 'deactivate' : 'leave';
      const team = teamName(teamOf.get(i)!);
      const from = stack.tap.calls.length;
      const answer =
        kind === 'deactivate'
          ? await stack.scim.setActive(push.userIds[i], false)
          : await stack.scim.removeMember(push.groupIds[teamOf.get(i)!], push.userIds[i]);
      const isDelete = (teamPath: string, tokenId: string | undefined) => (c: TappedCall) =>
        c.method === 'DELETE' && tokenId !== undefined && c.path.endsWith(`/teams/${teamPath}/tokens/${tokenId}`);
      const handDelete = isDelete(team, handTokens[i]);
      const scopedDelete = isDelete(scoped[i].pulumiTeam, scopedTokenIds.get(i));
      try {
        await until(`trial ${i}`, () => stack.tap.since(from, handDelete).length > 0 && stack.tap.since(from, scopedDelete).length > 0, TRIAL_TIMEOUT_MS, 2);
        const hand = stack.tap.since(from, handDelete)[0].startedAt - answer.at;
        const own = stack.tap.since(from, scopedDelete)[0].startedAt - answer.at;
        handMs.push(hand);
        scopedMs.push(own);
        bothMs.push(Math.max(hand, own));
        byKind[kind].push(hand, own);
      } catch (err) {
        misses.push((err as Error).message);
      }
    }
    load.stop();
    const bg = await load.results();

    // Let the lane finish its ledger updates and private-team deletes before reading the end state.
    await until('ledger settled', async () => Number((await db('token_ledger').whereNot('state', 'revoked').count('* as n'))[0].n) === 0, 30_000, 100).catch(
      () => undefined,
    );
    const successfulDeletes = new Map<string, number>();
    for (const c of stack.tap.calls) {
      const m = /\/tokens\/([^/?]+)$/.exec(c.path);
      if (c.method === 'DELETE' && m && c.status < 300) successfulDeletes.set(m[1], (successfulDeletes.get(m[1]) ?? 0) + 1);
    }
    const ledgerStates = Object.fromEntries((await db('token_ledger').select('state').count('* as n').groupBy('state')).map((r) => [r.state, Number(r.n)]));
    const privateTeamsLeft = stack.emulator.state.teams.filter((t) => t.name.startsWith('pis-tok-')).length;
    // The lane's entries, plus the reconciler's when a team reconcile revoked a token first.
    const auditRows: Array<{ subject: string | null; request_id: string | null }> = await db('audit_log')
      .where({ category: 'tokens', op: 'token.revoked' })
      .orWhere({ category: 'reconcile', op: 'revokeToken' })
      .select('subject', 'request_id');
    const audited = new Set(auditRows.map((r) => r.subject));
    const revokedTokenIds = [...handTokens, ...scopedTokenIds.values()];
    const unaudited = revokedTokenIds.filter((id) => !audited.has(id)).length;
    const daemonMetric = await readHistogram(stack.daemonUrl, 'idp_sync_deprovision_to_revoke_seconds');
    const phases = await revokeJobPhases(stack.redis.url);

    const hand = summarize(handMs);
    const own = summarize(scopedMs);
    const both = summarize(bothMs);
    Object.assign(result, {
      creatorBoundDeleteReachedMs: hand,
      scopedDeleteReachedMs: own,
      bothDeletedMs: both,
      byKind: { deactivate: summarize(byKind.deactivate), leave: summarize(byKind.leave) },
      misses,
      tokensDeletedMoreThanOnce: [...successfulDeletes.values()].filter((n) => n > 1).length,
      ledgerStates,
      privateTeamsLeft,
      revocationAuditRows: auditRows.length,
      revocationAuditRowsWithRequestId: auditRows.filter((r) => r.request_id).length,
      revokedTokensWithoutAuditRow: unaudited,
      daemonHistogram: daemonMetric,
      revokeJobPhasesMs: phases,
      background: bg,
      goals: [
        check('creator-bound token DELETE p50 <= 100 ms', hand.p50, (v) => v <= 100),
        check('creator-bound token DELETE p99 <= 300 ms', hand.p99, (v) => v <= 300),
        check('scoped token DELETE p50 <= 100 ms', own.p50, (v) => v <= 100),
        check('scoped token DELETE p99 <= 300 ms', own.p99, (v) => v <= 300),
        check('>= 200 trials measured', both.n, (v) => v >= 200),
      ],
    });
    printTable(
      `Revoke latency, ms from SCIM response to the token DELETE reaching Pulumi (${TRIALS} trials, background ${bg.achievedRps.toFixed(0)} req/s, Pulumi +${LATENCY_MS} ms/call)`,
      [
        { figure: 'creator-bound token', ...hand },
        { figure: 'scoped token (ledger)', ...own },
        { figure: 'both tokens of the user', ...both },
        { figure: 'deactivate (both kinds)', ...summarize(byKind.deactivate) },
        { figure: 'group leave (both kinds)', ...summarize(byKind.leave) },
      ],
    );
    printTable('Where the time goes (revoke-lane jobs, ms; outbox commit → enqueue → worker start → job done)', [
      { phase: 'outbox row → revoke job enqueued (relay)', ...phases.relay },
      { phase: 'enqueued → worker starts the job', ...phases.queueWait },
      { phase: 'job run (reads + DELETEs + ledger/audit)', ...phases.run },
    ]);
    process.stdout.write(
      `misses: ${misses.length}; tokens deleted more than once: ${result.tokensDeletedMoreThanOnce}; ledger: ${JSON.stringify(ledgerStates)}; ` +
        `private teams left: ${privateTeamsLeft}; revocation audit rows: ${auditRows.length}, tokens without one: ${unaudited}; daemon histogram: ${JSON.stringify(daemonMetric)}\n`,
    );
  });
}

/**
 * Phases of the fast lane from BullMQ's own timestamps (the daemon's clock): `data.at` is the
 * outbox row's created_at, `timestamp` the enqueue, `processedOn`/`finishedOn` the worker run.
 */
async function revokeJobPhases(redisUrl: string): Promise<{ relay: Summary; queueWait: Summary; run: Summary }> {
  // The daemon under test runs with the default QUEUE_PREFIX.
  const queue = new Queue('revoke', { connection: { url: redisUrl }, prefix: loadConfig({}).QUEUE_PREFIX });
  try {
    const jobs = (await queue.getJobs(['completed'], 0, -1)).filter((j) => j.name === 'revoke' && j.processedOn && j.finishedOn);
    return {
      relay: summarize(jobs.map((j) => j.timestamp - (j.data as { at: number }).at)),
      queueWait: summarize(jobs.map((j) => j.processedOn! - j.timestamp)),
      run: summarize(jobs.map((j) => j.finishedOn! - j.processedOn!)),
    };
  } finally {
    await queue.close();
  }
}

/**
 * Setup calls retry once on a network error: undici's fetch fails when a server closes an idle
 * keep-alive connection just as it is reused — a property of the client, not of the daemon.
 */
async function fetchRetrying(url: string, init: RequestInit): Promise<Response> {
  try {
    return await fetch(url, init);
  } catch {
    return fetch(url, init);
  }
}

startScenario('revoke-latency', main);
