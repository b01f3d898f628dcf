import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './paths';

/** Table printing, the machine description, and the JSON file each scenario leaves in bench/results/. */

export type Cell = string | number | boolean | undefined;

export function fmt(value: Cell): string {
  if (value === undefined) return '-';
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'n/a';
    if (Number.isInteger(value)) return String(value);
    return Math.abs(value) >= 100 ? value.toFixed(0) : value.toFixed(2);
  }
  return String(value);
}

export function printTable(title: string, rows: Record<string, Cell>[]): void {
  const columns = [...new Set(rows.flatMap((r) => Object.keys(r)))];
  const cells = rows.map((r) => columns.map((c) => fmt(r[c])));
  const widths = columns.map((c, i) => Math.max(c.length, ...cells.map((row) => row[i].length)));
  const line = (values: string[]) => `| ${values.map((v, i) => v.padEnd(widths[i])).join(' | ')} |`;
  process.stdout.write(`\n${title}\n`);
  process.stdout.write(`${line(columns)}\n`);
  process.stdout.write(`| ${widths.map((w) => '-'.repeat(w)).join(' | ')} |\n`);
  for (const row of cells) process.stdout.write(`${line(row)}\n`);
}

export interface Machine {
  cpus: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  platform: string;
  /** 1/5/15-minute load averages when the run finished: other work on the machine skews figures. */
  loadAverage: number[];
  postgres?: string;
  redis?: string;
}

export function describeMachine(): Machine {
  return {
    cpus: os.availableParallelism(),
    cpuModel: os.cpus()[0]?.model ?? 'unknown',
    memoryGiB: Math.round((os.totalmem() / 2 ** 30) * 10) / 10,
    node: process.version,
    platform: `${os.type()} ${os.release()}`,
    loadAverage: os.loadavg().map((l) => Math.round(l * 100) / 100),
    postgres: versionOf('psql', ['--version']),
    redis: versionOf('redis-server', ['--version']),
  };
}

function versionOf(cmd: string, args: string[]): string | undefined {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

/** Writes bench/results/<name>.json: the figures, the goals, the machine and the time. */
export function writeResult(name: string, result: Record<string, unknown>): string {
  const dir = path.join(repoRoot(), 'bench', 'results');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.json`);
  const doc = { scenario: name, finishedAt: new Date().toISOString(), machine: describeMachine(), ...result };
  writeFileSync(file, `${JSON.stringify(doc, (_k, v) => (typeof v === 'number' && Number.isNaN(v) ? null : v), 2)}\n`);
  process.stdout.write(`\nwrote ${path.relative(process.cwd(), file)}\n`);
  return file;
}

export interface GoalCheck {
  goal: string;
  measured: Cell;
  met: boolean | undefined;
}

/** `met` is undefined when the figure could not be measured. */
export function check(goal: string, measured: number, pass: (v: number) => boolean): GoalCheck {
  return { goal, measured, met: Number.isFinite(measured) ? pass(measured) : undefined };
}
