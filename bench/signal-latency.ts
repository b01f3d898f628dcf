import { startSsfEmulator } from '../src/ssf-emulator';
import { startBackgroundScim, type BackgroundLoad } from './lib/background';
import { converged, desiredTeams, membershipPlan, pushDirectory, seedFor, teamName, type DirectoryShape } from './lib/directory';
import { readHistogram } from './lib/daemon-metrics';
import { check, printTable } from './lib/report';
import { isTokenDeleteOf, runScenario, startScenario, trialPacer } from './lib/scenario';
import { oktaUser, pool } from './lib/scim-client';
import { benchPolicy, startStack, until } from './lib/stack';
import { summarize } from './lib/stats';

/**
 * Shared Signals latency: from a CAEP credential-change SET arriving at `POST /ssf/events` to the
 * DELETE of the person's daemon-issued token reaching the Pulumi API (the tap sees it arrive).
 * The daemon runs as `npm start` does, with the SSF transmitter emulator as its transmitter and a
 * push stream created through the admin API; every trial user holds one scoped token issued
 * through `POST /api/v1/tokens`. Each trial signs a SET about one user (Okta's shape: the
 * `iss_sub` subject inside the event, the Okta user id as `sub`) before the clock starts, then
 * pushes it as the transmitter would, while background SCIM traffic flows at 200 req/s.
 *
 * Env: BENCH_TRIALS (default 220), BENCH_TRIAL_INTERVAL_MS (default 200), BENCH_PULUMI_LATENCY_MS
 * (default 20), BENCH_BACKGROUND_RPS (default 200; 0 = the floor).
 */

const TRIALS = Number(process.env.BENCH_TRIALS ?? 220);
const LATENCY_MS = Number(process.env.BENCH_PULUMI_LATENCY_MS ?? 20);
const BACKGROUND_RPS = Number(process.env.BENCH_BACKGROUND_RPS ?? 200);
/** Each trial costs the lane two Pulumi calls (token and private team DELETE) under PULUMI_MAX_RPS: see bench/revoke-latency.ts. */
const TRIAL_INTERVAL_MS = Number(process.env.BENCH_TRIAL_INTERVAL_MS ?? 200);
const TEAMS = 12;
const TRIAL_TIMEOUT_MS = 10_000;
const CREDENTIAL_CHANGE = 'https://schemas.openid.net/secevent/caep/event-type/credential-change';

async function main(): Promise<void> {
  const shape: DirectoryShape = { users: TRIALS, groups: TEAMS, memberships: TRIALS };
  const teamOf = new Map<number, number>();
  for (const [g, users] of membershipPlan(shape).entries()) for (const u of users) teamOf.set(u, g);
  const ssf = await startSsfEmulator();
  const stack = await startStack({
    label: 'signal',
    seed: seedFor(shape),
    policy: benchPolicy(),
    pulumiLatencyMs: LATENCY_MS,
    env: { SSF_TRANSMITTER_URL: ssf.issuer, SSF_CLIENT_ID: ssf.clientId, SSF_CLIENT_SECRET: ssf.clientSecret },
  });
  const result: Record<string, unknown> = { settings: { TRIALS, LATENCY_MS, BACKGROUND_RPS, TEAMS, TRIAL_INTERVAL_MS } };
  const admin = (path: string, init: RequestInit = {}) =>
    fetch(`${stack.daemonUrl}/api/v1${path}`, {
      ...init,
      headers: { authorization: `Bearer ${stack.env.ADMIN_API_TOKEN}`, 'content-type': 'application/json', ...(init.headers ?? {}) },
    });
  let load: BackgroundLoad | undefined;
  await runScenario('signal-latency', stack, result, { cleanup: () => load?.stop() }, async () => {
    await pushDirectory(stack.scim, shape, 16);
    await until('teams converged', () => converged(stack.emulator.state, desiredTeams(shape)), 120_000, 100);

    const scoped: Array<{ pulumiTeam: string; tokenId: string }> = new Array(TRIALS);
    await pool(
      Array.from({ length: TRIALS }, (_, i) => i),
      8,
      async (i) => {
        const issued = await admin('/tokens', {
          method: 'POST',
          body: JSON.stringify({
            team: teamName(teamOf.get(i)!),
            owner: oktaUser(i).userName,
            description: 'bench',
            scope: [{ project: 'infra', stack: 'dev', permission: 'read' }],
          }),
        });
        if (issued.status !== 201) throw new Error(`POST /api/v1/tokens answered ${issued.status}: ${await issued.text()}`);
        const { pulumiTeam } = (await issued.json()) as { pulumiTeam: string };
        const token = stack.emulator.state.tokens.find((t) => t.team === pulumiTeam && !t.deleted);
        if (!token) throw new Error(`no token on ${pulumiTeam}`);
        scoped[i] = { pulumiTeam, tokenId: token.id };
      },
    );

    const created = await admin('/ssf/stream', { method: 'POST', body: JSON.stringify({ delivery: 'push', endpointUrl: `${stack.daemonUrl}/ssf/events` }) });
    if (created.status !== 201) throw new Error(`POST /api/v1/ssf/stream answered ${created.status}: ${await created.text()}`);
    const verified = (await (await admin('/ssf/stream/verify', { method: 'POST', body: JSON.stringify({ waitMs: 15_000 }) })).json()) as { received: boolean };
    if (!verified.received) throw new Error('the verification event did not come back');
    const authorization = ssf.stream()?.delivery.authorization_header ?? '';

    load = await startBackgroundScim(stack, { rps: BACKGROUND_RPS, users: 400, firstUser: 600_000 });
    const latencies: number[] = [];
    const answers: Record<string, number> = {};
    const misses: string[] = [];
    const pace = trialPacer(TRIAL_INTERVAL_MS);
    for (let i = 0; i < TRIALS; i++) {
      await pace();
      const token = await ssf.sign(ssf.buildSet(CREDENTIAL_CHANGE, { user: { format: 'iss_sub', iss: ssf.issuer, sub: oktaUser(i).externalId } }));
      const { pulumiTeam, tokenId } = scoped[i];
      const isDelete = isTokenDeleteOf(pulumiTeam, tokenId);
      const from = stack.tap.calls.length;
      const sentAt = performance.now();
      const res = await fetch(`${stack.daemonUrl}/ssf/events`, {
        method: 'POST',
        headers: { 'content-type': 'application/secevent+jwt', authorization },
        body: token,
      });
      answers[res.status] = (answers[res.status] ?? 0) + 1;
      await res.text();
      try {
        await until(`trial ${i}`, () => stack.tap.since(from, isDelete).length > 0, TRIAL_TIMEOUT_MS, 2);
        latencies.push(stack.tap.since(from, isDelete)[0].startedAt - sentAt);
      } catch (err) {
        misses.push((err as Error).message);
      }
    }
    load.stop();
    const bg = await load.results();
    const daemonMetric = await readHistogram(stack.daemonUrl, 'idp_sync_signal_to_revoke_seconds');
    const latency = summarize(latencies);
    Object.assign(result, {
      setToDeleteMs: latency,
      pushAnswers: answers,
      misses,
      daemonHistogram: daemonMetric,
      background: bg,
      goals: [
        check('SET arrival → token DELETE p50 <= 100 ms', latency.p50, (v) => v <= 100),
        check('SET arrival → token DELETE p99 <= 300 ms', latency.p99, (v) => v <= 300),
        check('>= 200 trials measured', latency.n, (v) => v >= 200),
      ],
    });
    printTable(
      `Signal latency, ms from the SET's push to the token DELETE reaching Pulumi (${TRIALS} trials, background ${bg.achievedRps.toFixed(0)} req/s, Pulumi +${LATENCY_MS} ms/call)`,
      [{ figure: 'credential-change → scoped token DELETE', ...latency }],
    );
    process.stdout.write(`push answers: ${JSON.stringify(answers)}; misses: ${misses.length}; daemon histogram: ${JSON.stringify(daemonMetric)}\n`);
  });
  // The transmitter stops after the daemon that talks to it.
  await ssf.stop();
}

startScenario('signal-latency', main);
