import { spawnSync } from 'node:child_process';
import path from 'node:path';

/**
 * `npm run bench`: every scenario in turn, each in its own process (so one's heap and
 * connections do not colour the next), then a summary of which finished.
 */

const SCENARIOS = ['scim-throughput', 'initial-push', 'deprovision-latency', 'drift'];
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
