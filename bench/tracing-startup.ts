import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { check, printTable, writeResult } from './lib/report';
import { summarize } from './lib/stats';

/**
 * What tracing costs a process's start: the time to load the daemon's module graph (the entry's
 * first import, src/tracing/register, then src/runtime, which pulls in every part) in a fresh
 * Node process, with tracing off (no OTEL_EXPORTER_OTLP_ENDPOINT), with tracing on, and without
 * the register import at all (the start before tracing existed). Each sample is its own process;
 * the three variants alternate so a change of machine load touches them alike.
 *
 * BENCH_RUNS: samples per variant (default 9).
 */

const RUNS = Number(process.env.BENCH_RUNS ?? 9);
const dist = path.resolve(__dirname, '..');

const PROBE = `
const started = performance.now();
if (process.env.PROBE_REGISTER === '1') require(${JSON.stringify(path.join(dist, 'src/tracing/register.js'))});
require(${JSON.stringify(path.join(dist, 'src/runtime/index.js'))});
const ms = performance.now() - started;
const sdkLoaded = Object.keys(require.cache).some((f) => f.includes('@opentelemetry/sdk-trace'));
process.stdout.write(JSON.stringify({ ms, sdkLoaded, modules: Object.keys(require.cache).length }));
`;

interface Variant {
  name: string;
  env: NodeJS.ProcessEnv;
}

const base = { ...process.env, OTEL_EXPORTER_OTLP_ENDPOINT: '', OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: '' };
const variants: Variant[] = [
  { name: 'before tracing (no register import)', env: { ...base, PROBE_REGISTER: '0' } },
  { name: 'tracing off', env: { ...base, PROBE_REGISTER: '1' } },
  // Nothing listens there; loading the graph creates no span, so nothing is sent.
  { name: 'tracing on', env: { ...base, PROBE_REGISTER: '1', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' } },
];

const samples = new Map<string, number[]>(variants.map((v) => [v.name, []]));
const sdkLoaded = new Map<string, boolean>();
const modules = new Map<string, number>();
for (let run = 0; run < RUNS; run++) {
  for (const variant of variants) {
    const out = JSON.parse(execFileSync(process.execPath, ['-e', PROBE], { env: variant.env, encoding: 'utf8' })) as {
      ms: number;
      sdkLoaded: boolean;
      modules: number;
    };
    samples.get(variant.name)?.push(out.ms);
    sdkLoaded.set(variant.name, out.sdkLoaded);
    modules.set(variant.name, out.modules);
  }
}

const rows = variants.map((v) => ({
  variant: v.name,
  ...summarize(samples.get(v.name) ?? []),
  sdkLoaded: sdkLoaded.get(v.name),
  modules: modules.get(v.name),
}));
printTable(`module graph load, ms (${RUNS} processes each)`, rows);
const p50 = (name: string) => rows.find((r) => r.variant === name)?.p50 ?? Number.NaN;
const offCost = p50('tracing off') - p50('before tracing (no register import)');
const onCost = p50('tracing on') - p50('tracing off');
const extraModules = (modules.get('tracing off') ?? Number.NaN) - (modules.get('before tracing (no register import)') ?? Number.NaN);
// Load time swings with the machine's load; the modules loaded do not, so the goals are on them.
const goals = [
  check('tracing off loads no SDK module (1 = loaded)', sdkLoaded.get('tracing off') ? 1 : 0, (v) => v === 0),
  check('tracing off adds at most src/tracing itself (3 modules)', extraModules, (v) => v <= 3),
];
printTable(
  'goals',
  goals.map((g) => ({ ...g })),
);
process.stdout.write(`\ntracing off: +${offCost.toFixed(0)} ms, tracing on: +${onCost.toFixed(0)} ms more than off (p50)\n`);
writeResult('tracing-startup', { runs: RUNS, rows, offCostMs: offCost, onCostMs: onCost, extraModules, goals });
