import { anchorAuditHead, type AuditVerdict, verifyAuditChain } from '../reconcile';
import { parseActionArgs, UsageError, type CliCommand } from './index';

/**
 * `audit verify`: walks the audit log's hash chain (docs/audit.md) and names the first entry
 * that does not fit; exit 0 when every entry fits, 1 when one does not. `audit anchor` copies
 * the chain head into the anchors table now (the daemon does it on a timer).
 */

const USAGE = `usage:
  npm run cli -- audit verify [--json]    walk the audit log's hash chain; exit 1 naming the first entry that does not fit
  npm run cli -- audit anchor [--json]    record the chain's head as an anchor now (a removed tail is then found)

  --json    print the result as one JSON object on stdout`;

function render(verdict: AuditVerdict): string {
  if (verdict.ok) return `audit log intact: ${verdict.entries} entries, head ${verdict.headId} ${verdict.headHash}, ${verdict.anchorsChecked} anchor(s) met\n`;
  return `audit log broken at entry ${verdict.entryId}: ${verdict.problem} (${verdict.entriesChecked} entries before it fit)\n`;
}

export const auditCommand: CliCommand = {
  name: 'audit',
  summary: "verify the audit log's hash chain, or anchor its head",
  usage: USAGE,
  async run(args, ctx) {
    const { json, positionals } = parseActionArgs(args);
    const [action, ...extra] = positionals;
    if (extra.length > 0) throw new UsageError(`unexpected arguments: ${extra.join(' ')}`);
    switch (action) {
      case 'verify': {
        const verdict = await verifyAuditChain(await ctx.db());
        if (json) ctx.stdout.write(`${JSON.stringify(verdict)}\n`);
        else (verdict.ok ? ctx.stdout : ctx.stderr).write(render(verdict));
        return verdict.ok ? 0 : 1;
      }
      case 'anchor': {
        const anchored = await anchorAuditHead(await ctx.db());
        if (json) ctx.stdout.write(`${JSON.stringify({ anchored: anchored ?? null })}\n`);
        else ctx.stdout.write(anchored ? `anchored head ${anchored.headId} ${anchored.headHash}\n` : 'nothing new to anchor\n');
        return 0;
      }
      default:
        throw new UsageError(action ? `unknown action '${action}'` : 'audit needs an action: verify or anchor');
    }
  },
};
