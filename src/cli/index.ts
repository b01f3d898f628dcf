import os from 'node:os';
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
  /** Usage text shown on a usage error. */
  usage: string;
  /** Returns the process exit code. */
  run(args: string[], ctx: CliContext): Promise<number>;
}

/** A mistake on the command line: printed with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export async function runCli(commands: CliCommand[], argv: string[], ctx: Pick<CliContext, 'stdout' | 'stderr'> & Partial<CliContext>): Promise<number> {
  const [name, ...args] = argv;
  const help = () => {
    ctx.stdout.write(`usage: npm run cli -- <command> [options]\n\ncommands:\n`);
    for (const c of commands) ctx.stdout.write(`  ${c.name.padEnd(14)} ${c.summary}\n`);
  };
  if (!name || name === 'help' || name === '--help' || name === '-h') {
    help();
    return name ? 0 : 2;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    ctx.stderr.write(`unknown command '${name}'\n`);
    help();
    return 2;
  }
  try {
    return await command.run(args, ctx as CliContext);
  } catch (err) {
    if (err instanceof UsageError) {
      ctx.stderr.write(`${err.message}\n\n${command.usage}\n`);
      return 2;
    }
    throw err;
  }
}
