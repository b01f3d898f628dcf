import { cannon, type CannonResult } from './cannon';
import { oktaUser, pool } from './scim-client';
import type { Stack } from './stack';

/**
 * Background SCIM traffic for the latency benchmarks: `users` Okta-shaped users of their own
 * (numbered from `firstUser`, domain bg.test), then three quarters of `rps` as `userName eq`
 * lookups and one quarter as whole-user PUTs, with a 2 s warm-up. `rps` 0 runs nothing (the floor).
 */
export interface BackgroundLoad {
  stop(): void;
  /** Resolves after stop(): what each stream achieved. */
  results(): Promise<{ lookups: CannonResult; puts: CannonResult; achievedRps: number }>;
}

const NOTHING: CannonResult = { rps: 0, allRps: 0, p50ms: 0, p90ms: 0, p99ms: 0, requests: 0, non2xx: 0, errors: 0, timeouts: 0, statuses: {} };

export async function startBackgroundScim(stack: Stack, options: { rps: number; users: number; firstUser: number }): Promise<BackgroundLoad> {
  if (options.rps <= 0) {
    return { stop: () => undefined, results: async () => ({ lookups: NOTHING, puts: NOTHING, achievedRps: 0 }) };
  }
  const ids: string[] = new Array(options.users);
  await pool(
    Array.from({ length: options.users }, (_, i) => i),
    16,
    async (i) => {
      ids[i] = (await stack.scim.createUser(oktaUser(options.firstUser + i, 'bg.test'))).body.id;
    },
  );
  const origin = new URL(stack.daemonUrl).origin;
  let counter = 0;
  const lookups = cannon({
    url: origin,
    method: 'GET',
    headers: stack.scim.headers,
    connections: 8,
    durationSec: 3600,
    overallRate: Math.round(options.rps * 0.75),
    next: () => ({
      path: `/scim/v2/Users?filter=${encodeURIComponent(`userName eq "user${options.firstUser + Math.floor(Math.random() * options.users)}@bg.test"`)}&startIndex=1&count=100`,
    }),
  });
  const puts = cannon({
    url: origin,
    method: 'PUT',
    headers: stack.scim.headers,
    connections: 4,
    durationSec: 3600,
    overallRate: Math.round(options.rps * 0.25),
    next: () => {
      const i = counter++ % options.users;
      return {
        path: `/scim/v2/Users/${ids[i]}`,
        body: JSON.stringify({ ...oktaUser(options.firstUser + i, 'bg.test'), id: ids[i], displayName: `Bg ${counter}` }),
      };
    },
  });
  await new Promise((r) => setTimeout(r, 2000));
  return {
    stop() {
      lookups.stop();
      puts.stop();
    },
    async results() {
      const [l, p] = await Promise.all([lookups.result, puts.result]);
      return { lookups: l, puts: p, achievedRps: l.rps + p.rps };
    },
  };
}
