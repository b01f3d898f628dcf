import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { createIdpKeys } from '../test/auth/test-idp';
import { cannon, type CannonResult } from './lib/cannon';
import { seedFor, teamName, type DirectoryShape } from './lib/directory';
import { check, printTable, type GoalCheck } from './lib/report';
import { firstCallsAfter, pushWithHandTokens, teamOfPerson, isMemberRemoveOf, isTokenDeleteOf, runScenario, startScenario } from './lib/scenario';
import { loginOf } from './lib/scim-client';
import { benchPolicy, type Stack, startStack } from './lib/stack';
import { summarize } from './lib/stats';

/**
 * Anonymous sign-in starts (docs/robustness.md, "Abuse limits", "Pre-login state"): 100,000
 * `GET /auth/saml/login` without a session, from one address — the per-IP `/auth` limit answers
 * most of them 429 — and then from as many addresses as requests (X-Forwarded-For from loopback,
 * which the daemon trusts: a crowd behind a proxy), each answered 302 with an AuthnRequest. During
 * each phase, people holding a team token they made by hand are deactivated one after another
 * (Okta's path-less PATCH) and we time the SCIM response to the token's DELETE and the member
 * removal at the Pulumi tap; the same is timed first with no attack, for comparison. Redis `used_memory` and the keys left, with their TTLs, are read
 * before and after each phase.
 *
 * Env: BENCH_ANON_REQUESTS (per phase, default 100000), BENCH_TRIALS (deactivations available per
 * phase, default 100), BENCH_CONNECTIONS (default 32), BENCH_PULUMI_LATENCY_MS (default 20).
 */

const REQUESTS = Number(process.env.BENCH_ANON_REQUESTS ?? 100_000);
const TRIALS = Number(process.env.BENCH_TRIALS ?? 100);
const CONNECTIONS = Number(process.env.BENCH_CONNECTIONS ?? 32);
const LATENCY_MS = Number(process.env.BENCH_PULUMI_LATENCY_MS ?? 20);
const TEAMS = 4;
/** Deactivations timed before any attack: the same figure on this machine, for comparison. */
const CONTROL_TRIALS = 30;
const TRIAL_TIMEOUT_MS = 10_000;
/** "Within a few MB" of where Redis started, for the single-address phase. */
const MEMORY_GOAL_MB = 5;
/** Where sign-in starts and request limits keep their state (src/auth, src/web). */
const ANONYMOUS_STATE = /^pis:(saml|sess|rl):/;

interface RedisFootprint {
  usedMemoryMb: number;
  keys: number;
  /** Keys under the sign-in and limit prefixes: how many, how many without a TTL, the longest TTL. */
  anonymousState: { keys: number; withoutTtl: number; maxTtlSec: number };
}

async function footprint(redis: Redis): Promise<RedisFootprint> {
  const info = await redis.info('memory');
  const usedMemory = Number(/^used_memory:(\d+)/m.exec(info)?.[1]);
  const state = { keys: 0, withoutTtl: 0, maxTtlSec: 0 };
  let keys = 0;
  for await (const batch of redis.scanStream({ count: 1000 }) as AsyncIterable<string[]>) {
    keys += batch.length;
    const anonymous = batch.filter((key) => ANONYMOUS_STATE.test(key));
    const ttls = await Promise.all(anonymous.map((key) => redis.pttl(key)));
    state.keys += anonymous.length;
    // -1: no TTL; -2: expired between SCAN and PTTL.
    state.withoutTtl += ttls.filter((ttl) => ttl === -1).length;
    state.maxTtlSec = Math.max(state.maxTtlSec, ...ttls.map((ttl) => Math.ceil(ttl / 1000)));
  }
  return { usedMemoryMb: usedMemory / 2 ** 20, keys, anonymousState: state };
}

interface Trials {
  tokenMs: number[];
  memberMs: number[];
  misses: string[];
}

/**
 * Deactivates the people `people` one after another until `attack` is over (all of them without
 * one), timing each revocation at the tap.
 */
async function deactivateDuring(
  stack: Stack,
  attack: Promise<unknown> | undefined,
  people: number[],
  context: { userIds: string[]; tokenIds: string[]; teamOf: Map<number, number> },
): Promise<Trials> {
  let over = false;
  void attack?.finally(() => {
    over = true;
  });
  const trials: Trials = { tokenMs: [], memberMs: [], misses: [] };
  for (const i of people) {
    if (over) break;
    const team = teamName(context.teamOf.get(i)!);
    const from = stack.tap.calls.length;
    const answer = await stack.scim.setActive(context.userIds[i], false);
    try {
      const [del, rm] = await firstCallsAfter(
        stack,
        `trial ${i}`,
        from,
        [isTokenDeleteOf(team, context.tokenIds[i]), isMemberRemoveOf(team, loginOf(i))],
        TRIAL_TIMEOUT_MS,
      );
      trials.tokenMs.push(del.startedAt - answer.at);
      trials.memberMs.push(rm.startedAt - answer.at);
    } catch (err) {
      trials.misses.push((err as Error).message);
    }
  }
  return trials;
}

async function main(): Promise<void> {
  const people = CONTROL_TRIALS + 2 * TRIALS;
  const shape: DirectoryShape = { users: people, groups: TEAMS, memberships: people };
  const teamOf = teamOfPerson(shape);
  const idp = await createIdpKeys('bench-idp');
  const stack = await startStack({
    label: 'anonlogin',
    seed: seedFor(shape),
    policy: benchPolicy(),
    pulumiLatencyMs: LATENCY_MS,
    env: {
      // Sign-in is configured as for a real IdP; this benchmark only ever starts one.
      PUBLIC_URL: 'http://127.0.0.1',
      SAML_IDP_SSO_URL: 'https://idp.example.test/sso/saml',
      SAML_IDP_ISSUER: 'https://idp.example.test',
      SAML_IDP_CERT: idp.cert,
      SESSION_SECRET: randomBytes(32).toString('hex'),
    },
  });
  const result: Record<string, unknown> = { settings: { REQUESTS, TRIALS, CONNECTIONS, LATENCY_MS, TEAMS } };
  const redis = new Redis(stack.redis.url, { maxRetriesPerRequest: 1 });
  await runScenario('anonymous-logins', stack, result, async () => {
    try {
      const { pushed, tokenIds } = await pushWithHandTokens(stack, shape, teamOf, 120_000);
      const context = { userIds: pushed.userIds, tokenIds, teamOf };
      const origin = new URL(stack.daemonUrl).origin;
      const phases = [
        { name: 'one address', from: CONTROL_TRIALS, addressOf: undefined },
        { name: 'one address per request', from: CONTROL_TRIALS + TRIALS, addressOf: (n: number) => `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}` },
      ];
      const control = await deactivateDuring(
        stack,
        undefined,
        Array.from({ length: CONTROL_TRIALS }, (_, i) => i),
        context,
      );
      const controlToken = summarize(control.tokenMs);
      const rows: Record<string, string | number>[] = [
        {
          phase: 'no attack (control)',
          deactivations: controlToken.n,
          'DELETE p50 ms': controlToken.p50,
          'DELETE p99 ms': controlToken.p99,
          'member rm p50 ms': summarize(control.memberMs).p50,
          misses: control.misses.length,
        },
      ];
      const goals: GoalCheck[] = [];
      const phaseResults: Record<string, unknown>[] = [];
      for (const phase of phases) {
        const before = await footprint(redis);
        let sent = 0;
        const attack = cannon({
          url: origin,
          method: 'GET',
          headers: {},
          connections: CONNECTIONS,
          amount: REQUESTS,
          next: () => {
            sent += 1;
            return { path: '/auth/saml/login', headers: phase.addressOf ? { 'x-forwarded-for': phase.addressOf(sent) } : undefined };
          },
        }).result;
        const startedAt = performance.now();
        const trials = await deactivateDuring(
          stack,
          attack,
          Array.from({ length: TRIALS }, (_, i) => phase.from + i),
          context,
        );
        const answers: CannonResult = await attack;
        const wallSec = (performance.now() - startedAt) / 1000;
        const after = await footprint(redis);
        const token = summarize(trials.tokenMs);
        const member = summarize(trials.memberMs);
        const growthMb = after.usedMemoryMb - before.usedMemoryMb;
        phaseResults.push({
          phase: phase.name,
          wallSec,
          answers,
          before,
          after,
          growthMb,
          tokenDeleteReachedMs: token,
          memberRemoveReachedMs: member,
          misses: trials.misses,
        });
        rows.push({
          phase: phase.name,
          requests: answers.requests,
          'answered 302': answers.statuses['302'] ?? 0,
          'answered 429': answers.statuses['429'] ?? 0,
          other: answers.requests - (answers.statuses['302'] ?? 0) - (answers.statuses['429'] ?? 0),
          'req/s': Math.round(answers.requests / wallSec),
          'Redis MB before': before.usedMemoryMb,
          'Redis MB after': after.usedMemoryMb,
          'sign-in keys after': after.anonymousState.keys,
          'without TTL': after.anonymousState.withoutTtl,
          'max TTL s': after.anonymousState.maxTtlSec,
          deactivations: token.n,
          'DELETE p50 ms': token.p50,
          'DELETE p99 ms': token.p99,
          'member rm p50 ms': member.p50,
          misses: trials.misses.length,
        });
        if (phase.addressOf === undefined) {
          goals.push(
            check(`one address: Redis grows <= ${MEMORY_GOAL_MB} MB`, growthMb, (v) => v <= MEMORY_GOAL_MB),
            check('one address: token DELETE p50 <= 100 ms', token.p50, (v) => v <= 100),
            check('one address: token DELETE p99 <= 300 ms', token.p99, (v) => v <= 300),
          );
        }
        goals.push(check(`${phase.name}: sign-in keys without TTL`, after.anonymousState.withoutTtl, (v) => v === 0));
      }
      Object.assign(result, {
        control: { tokenDeleteReachedMs: controlToken, memberRemoveReachedMs: summarize(control.memberMs), misses: control.misses },
        phases: phaseResults,
        goals,
      });
      printTable(`Anonymous sign-in starts, ${REQUESTS} per phase (${CONNECTIONS} connections, Pulumi +${LATENCY_MS} ms/call)`, rows);
      printTable(
        'Goals',
        goals.map((g) => ({ figure: g.goal, value: g.measured, met: g.met })),
      );
    } finally {
      redis.disconnect();
    }
  });
}

startScenario('anonymous-logins', main);
