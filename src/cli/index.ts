import os from 'node:os';
import { parseArgs } from 'node:util';
import type { Config } from '../config';
import type { Db } from '../directory';
import type { QueueFactory } from '../queue';

/**
 * A small command registry for `npm run cli -- <command> ...`. Each part contributes a
 * `CliCommand` and adds it to the list in main.ts; commands get their database and output
 * streams from the context, so tests run them in-process.
 */

export interface CliContext {
  config: Config;
  stdout: NodeJS.WritableStream;
  stderr: NodeJS.WritableStream;
  /** The directory database, migrated (embedded Postgres when DATABASE_URL is unset). */
  db(): Promise<Db>;
  /** The daemon's queues (REDIS_URL, or the local Redis), for commands that start a reconcile. */
  queues(): Promise<QueueFactory>;
}

/** Who runs the CLI, as the audit log names them: the OS user, channel `cli`. */
export function cliActor(): { actor: string; channel: 'cli' } {
  return { actor: os.userInfo().username, channel: 'cli' };
}

export interface CliCommand {
  /** First word on the command line, e.g. `scim-token`. */
  name: string;
  /** One line for `cli help`. */
  summary: string;
  /** Usage text, printed on stdout for `--help` and on stderr after a usage error. */
  usage: string;
  /** Returns the process exit code. */
  run(args: string[], ctx: CliContext): Promise<number>;
}

/**
 * A mistake on the command line: printed with the command's usage. Exit code 2, unless the
 * command promised another meaning for 2 (plan --detailed-exitcode: changes pending).
 */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly exitCode = 2,
  ) {
    super(message);
    this.name = 'UsageError';
  }
}

/** `<action> [positionals] [--json]`: the shape of the commands that act on one thing; bad options are a UsageError. */
export function parseActionArgs(args: string[]): { json: boolean; positionals: string[] } {
  try {
    const { values, positionals } = parseArgs({ args, options: { json: { type: 'boolean' } }, strict: true, allowPositionals: true });
    return { json: values.json === true, positionals };
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

/** `--help` or `-h` anywhere among a command's options (before a `--` that ends them). */
function asksForHelp(args: string[]): boolean {
  const end = args.indexOf('--');
  return (end === -1 ? args : args.slice(0, end)).some((arg) => arg === '--help' || arg === '-h');
}

export async function runCli(commands: CliCommand[], argv: string[], ctx: Pick<CliContext, 'stdout' | 'stderr'> & Partial<CliContext>): Promise<number> {
  const [name, ...args] = argv;
  const help = () => {
    ctx.stdout.write(`usage: npm run cli -- <command> [options]\n\ncommands:\n`);
    for (const c of commands) ctx.stdout.write(`  ${c.name.padEnd(14)} ${c.summary}\n`);
    ctx.stdout.write(`\nnpm run cli -- <command> --help shows a command's options\n`);
  };
  const find = (commandName: string | undefined) => commands.find((c) => c.name === commandName);
  const helpTopic = name === 'help' ? find(args[0]) : undefined;
  if (helpTopic) {
    ctx.stdout.write(`${helpTopic.usage}\n`);
    return 0;
  }
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    help();
    return name ? 0 : 2;
  }
  const command = find(name);
  if (!command) {
    ctx.stderr.write(`unknown command '${name}'\n`);
    help();
    return 2;
  }
  if (asksForHelp(args)) {
    ctx.stdout.write(`${command.usage}\n`);
    return 0;
  }
  try {
    return await command.run(args, ctx as CliContext);
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.stderr.write(`${err.message}\n\n${command.usage}\n`);
      return err.exitCode;
    }
    throw err;
  }
}
