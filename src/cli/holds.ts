import { z } from 'zod';
import { enqueueTeamReconcile } from '../queue';
import { decideHoldAudited, describeOp, getHold, HoldNotPendingError, listHolds, presentOp, type Hold } from '../reconcile';
import { withTimeout } from '../util';
import { cliActor, parseActionArgs, UsageError, type CliCommand } from './index';

/**
 * `holds list|approve|reject`: removals of still-active access that wait for an admin. A
 * decision is recorded and audited (actor: the OS user, channel `cli`), then the team's
 * reconcile is enqueued; when Redis does not take it the decision stands and the next drift
 * reconcile applies it.
 */

const USAGE = `usage:
  npm run cli -- holds list [--json]             pending holds and the changes each one keeps waiting
  npm run cli -- holds approve <id> [--json]     apply what is still planned of the hold, now
  npm run cli -- holds reject <id> [--json]      keep its changes out while their cause is unchanged

  --json    print the result as one JSON object on stdout`;

/** How long a decision waits for Redis to take the team's reconcile. */
const ENQUEUE_TIMEOUT_MS = 2000;

function render(hold: Hold): string {
  const lines = [
    `${hold.id}  team ${hold.team}  ${hold.removals} removal(s), ${hold.revocations} revocation(s)  since ${hold.createdAt}`,
    `  ${hold.reason}`,
    ...hold.ops.map((op) => `    ${describeOp(op)}`),
  ];
  return `${lines.join('\n')}\n`;
}

export const holdsCommand: CliCommand = {
  name: 'holds',
  summary: 'list, approve or reject removals held for an admin',
  usage: USAGE,
  async run(args, ctx) {
    const { json, positionals } = parseActionArgs(args);
    const [action, id, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    switch (action) {
      case 'list': {
        if (id) throw new UsageError('holds list takes no id');
        const holds = await listHolds(await ctx.db());
        if (json)
          ctx.stdout.write(
            `${JSON.stringify({ holds: holds.map(({ id, team, reason, removals, revocations, createdAt, ops }) => ({ id, team, reason, removals, revocations, createdAt, ops: ops.map(presentOp) })) }, null, 2)}\n`,
          );
        else if (holds.length === 0) ctx.stdout.write('no holds are waiting\n');
        else for (const hold of holds) ctx.stdout.write(render(hold));
        return 0;
      }
      case 'approve':
      case 'reject':
        if (!id) throw new UsageError(`holds ${action} needs the hold's id`);
        return decide(id, action === 'approve' ? 'approved' : 'rejected', ctx, json);
      default:
        throw new UsageError(action ? `unknown action '${action}'` : 'holds needs an action');
    }
  },
};

async function decide(id: string, decision: 'approved' | 'rejected', ctx: Parameters<CliCommand['run']>[1], json: boolean): Promise<number> {
  const db = await ctx.db();
  if (!z.uuid().safeParse(id).success || !(await getHold(db, id))) {
    ctx.stderr.write(`no hold with id ${id}\n`);
    return 1;
  }
  let hold: Hold;
  try {
    hold = await decideHoldAudited(db, id, decision, cliActor());
  } catch (err) {
    if (!(err instanceof HoldNotPendingError)) throw err;
    ctx.stderr.write(`${err.message}\n`);
    return 1;
  }
  ctx.stderr.write(`hold ${hold.id} of team ${hold.team} ${decision}\n`);
  let reconcileQueued = true;
  try {
    await withTimeout(
      enqueueTeamReconcile(await ctx.queues(), { team: hold.team, reason: `hold-${decision}` }),
      ENQUEUE_TIMEOUT_MS,
      `Redis did not answer within ${ENQUEUE_TIMEOUT_MS} ms`,
    );
    ctx.stderr.write(`team ${hold.team} is queued for a reconcile\n`);
  } catch (err) {
    reconcileQueued = false;
    ctx.stderr.write(`the reconcile that acts on it could not be enqueued (${(err as Error).message}); the next drift reconcile applies it\n`);
  }
  if (json) ctx.stdout.write(`${JSON.stringify({ hold: { id: hold.id, team: hold.team, status: hold.status }, reconcileQueued }, null, 2)}\n`);
  return reconcileQueued ? 0 : 1;
}
