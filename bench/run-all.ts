import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';

/**
 * `npm run bench`: every scenario in turn, each in its own process (so one's heap and
 * connections do not colour the next), then a summary of which finished.
 */

/** Ours, then the SCIM part's PATCH scaling and the tokens part's revoke latency. */
const SCENARIOS = [
  'scim-throughput',
  'scim-group-patch',
  'scim-bulk',
  'initial-push',
  'deprovision-latency',
  'revoke-latency',
  'signal-latency',
  'anonymous-logins',
  'drift',
  'tracing-startup',
].filter((s) => existsSync(path.join(__dirname, `${s}.js`)));
const only = process.argv.slice(2);

const outcomes: Array<{ scenario: string; exit: number | null }> = [];
for (const scenario of SCENARIOS.filter((s) => only.length === 0 || only.includes(s))) {
  process.stdout.write(`\n=== ${scenario} ===\n`);
  const run = spawnSync(process.execPath, [path.join(__dirname, `${scenario}.js`)], { stdio: 'inherit', env: process.env });
  outcomes.push({ scenario, exit: run.status });
}
process.stdout.write('\n=== summary ===\n');
for (const o of outcomes) process.stdout.write(`${o.scenario}: ${o.exit === 0 ? 'finished' : `failed (exit ${o.exit})`}\n`);
process.exitCode = outcomes.every((o) => o.exit === 0) ? 0 : 1;
