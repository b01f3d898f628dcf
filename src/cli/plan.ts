import { parseArgs } from 'node:util';
import { createLogger } from '../log';
import { loadPolicy, type Policy, PolicyError, PolicyStore } from '../policy';
import { createPulumiClient } from '../pulumi';
import { type PlanView, presentPlan, Reconciler, writeCallsOf } from '../reconcile';
import { UsageError, type CliCommand } from './index';

/**
 * `npm run cli -- plan [--team <name>] [--json] [--daemon <url>] [--detailed-exitcode]`: the
 * ops a reconcile would apply now, applying nothing. With PULUMI_ACCESS_TOKEN it reads Pulumi
 * itself; without one the Pulumi side is the running daemon's built-in emulator, so it asks that
 * daemon's admin API (`GET /api/v1/plan`, ADMIN_API_TOKEN) instead.
 */

const USAGE = `usage:
  npm run cli -- plan [--team <name>] [--json] [--detailed-exitcode]
        plan against the Pulumi org (PULUMI_ACCESS_TOKEN)
  npm run cli -- plan --daemon <url> [--team <name>] [--json] [--detailed-exitcode]
        ask a running daemon (ADMIN_API_TOKEN)

  --json                print the plans as one JSON object on stdout
  --detailed-exitcode   exit 0 when nothing would change, 2 when changes are pending, 1 on any error`;

/** Exit codes of --detailed-exitcode, Terraform's convention: CI tells drift from failure. */
const DETAILED_EXIT = { inSync: 0, failed: 1, changesPending: 2 } as const;

export const planCommand: CliCommand = {
  name: 'plan',
  summary: 'dry run: print the Pulumi changes a reconcile would make now',
  usage: USAGE,
  async run(args, ctx) {
    let values: { team?: string; json?: boolean; daemon?: string; 'detailed-exitcode'?: boolean };
    try {
      ({ values } = parseArgs({
        args,
        options: { team: { type: 'string' }, json: { type: 'boolean' }, daemon: { type: 'string' }, 'detailed-exitcode': { type: 'boolean' } },
        strict: true,
        allowPositionals: false,
      }));
    } catch (err) {
      throw new UsageError((err as Error).message, args.includes('--detailed-exitcode') ? DETAILED_EXIT.failed : 2);
    }
    const detailed = values['detailed-exitcode'] === true;
    // Under --detailed-exitcode, 2 means changes pending: a setup mistake must not read as one.
    const setupError = detailed ? DETAILED_EXIT.failed : 2;
    const { config } = ctx;
    let plans: PlanView[];
    if (values.daemon || !config.PULUMI_ACCESS_TOKEN) {
      const daemon = values.daemon ?? `http://127.0.0.1:${config.PORT}`;
      if (!config.ADMIN_API_TOKEN) {
        ctx.stderr.write(
          'plan: PULUMI_ACCESS_TOKEN is unset, so the Pulumi side is a running daemon (its emulator);\n' +
            `asking ${daemon} needs ADMIN_API_TOKEN. Set one of the two.\n`,
        );
        return setupError;
      }
      const res = await fetch(`${daemon}/api/v1/plan${values.team ? `?team=${encodeURIComponent(values.team)}` : ''}`, {
        headers: { authorization: `Bearer ${config.ADMIN_API_TOKEN}` },
      }).catch((err: Error) => {
        throw new Error(`cannot reach the daemon at ${daemon}: ${err.message}`);
      });
      const body = (await res.json().catch(() => undefined)) as { plans?: PlanView[]; message?: string } | undefined;
      if (!res.ok || !body?.plans) {
        ctx.stderr.write(`plan: the daemon answered ${res.status}: ${body?.message ?? 'no plan'}\n`);
        return 1;
      }
      plans = body.plans;
    } else {
      let policy: Policy;
      try {
        policy = loadPolicy(config.SYNC_CONFIG, { organization: config.PULUMI_ORG });
      } catch (err) {
        if (err instanceof PolicyError) {
          ctx.stderr.write(`${err.message}\n`);
          return setupError;
        }
        throw err;
      }
      const reconciler = new Reconciler({
        db: await ctx.db(),
        client: createPulumiClient({ baseUrl: config.PULUMI_BACKEND_URL, accessToken: config.PULUMI_ACCESS_TOKEN, timeoutMs: config.PULUMI_TIMEOUT_MS }),
        policy: new PolicyStore(config.SYNC_CONFIG, {}, policy),
        logger: createLogger({ silent: true }),
      });
      plans = (values.team ? [await reconciler.planTeam(values.team)] : await reconciler.planAll()).map(presentPlan);
    }
    if (values.json) ctx.stdout.write(`${JSON.stringify({ dryRun: true, plans }, null, 2)}\n`);
    else ctx.stdout.write(renderPlans(plans));
    if (!detailed) return 0;
    return plans.some((p) => p.ops.length > 0) ? DETAILED_EXIT.changesPending : DETAILED_EXIT.inSync;
  },
};

function renderPlans(plans: PlanView[]): string {
  const lines: string[] = [];
  let total = 0;
  for (const p of plans) {
    total += p.ops.length;
    const head = `team ${p.team} (${p.management === 'none' ? 'not managed' : p.management === 'grants-only' ? 'grants only' : 'managed'})`;
    lines.push(p.ops.length === 0 ? `${head}: in sync` : `${head}: ${p.ops.length} change${p.ops.length === 1 ? '' : 's'}`);
    for (const op of p.ops) lines.push(`  ${op.description}`);
    for (const n of p.notes) {
      if (n.kind === 'unownedTeam') lines.push(`  note: ${n.detail}`);
      if (n.kind === 'grantsOnly') lines.push(`  note: a ${n.teamKind} team: only its stack grants are managed`);
      if (n.kind === 'unknownCreatorToken')
        lines.push(`  note: token ${n.tokenName} (${n.tokenId}) was created by ${n.createdBy}, whom the directory does not know: left alone`);
      if (n.kind === 'unmappedUsers') lines.push(`  note: ${n.count} member(s) have no Pulumi login under identity.login`);
    }
  }
  lines.push(
    `${total} change${total === 1 ? '' : 's'} in ${plans.length} team${plans.length === 1 ? '' : 's'} (${plans.reduce((n, p) => n + writeCallsOf(p.ops), 0)} Pulumi writes); nothing was applied`,
  );
  return `${lines.join('\n')}\n`;
}
