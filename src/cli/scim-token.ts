import { parseArgs } from 'node:util';
import { createScimClient, listScimClients, revokeScimClient, rotateScimToken, ScimClientError } from '../directory';
import { recordAdminAction } from '../reconcile';
import { cliActor, UsageError, type CliCommand } from './index';

/**
 * `scim-token create|rotate|revoke|list`: bearer tokens of SCIM clients (one per IdP app).
 * A token is printed once, on stdout alone (or in the `--json` object), so `$(npm run -s cli --
 * scim-token create --name okta)` captures just the token; everything else goes to stderr. Each change is audited with
 * the OS user as actor, channel `cli`.
 */

const USAGE = `usage:
  npm run cli -- scim-token create --name <client>           new client, prints its token once
  npm run cli -- scim-token rotate --name <client> [--grace <duration>]
                                                             new token; the previous one stays valid
                                                             for the grace period (default 24h)
  npm run cli -- scim-token revoke --name <client>           revokes the client and all its tokens
  npm run cli -- scim-token list                             clients and token metadata (never tokens)

  --json    print the result as one JSON object on stdout (create and rotate: with the token)`;

/** `90s`, `15m`, `24h`, `7d` → seconds. */
export function parseDuration(text: string): number {
  const match = /^(\d+)(s|m|h|d)$/.exec(text.trim());
  if (!match) throw new UsageError(`'${text}' is not a duration like 90s, 15m, 24h or 7d`);
  return Number(match[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[match[2] as 's' | 'm' | 'h' | 'd'];
}

export const scimTokenCommand: CliCommand = {
  name: 'scim-token',
  summary: 'create, rotate, revoke or list SCIM client bearer tokens',
  usage: USAGE,
  async run(args, ctx) {
    const [action, ...rest] = args;
    let values: { name?: string; grace?: string; json?: boolean };
    try {
      ({ values } = parseArgs({ args: rest, options: { name: { type: 'string' }, grace: { type: 'string' }, json: { type: 'boolean' } }, strict: true }));
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
    const needName = () => {
      if (!values.name) throw new UsageError(`scim-token ${action} needs --name`);
      return values.name;
    };
    const printJson = (data: unknown) => ctx.stdout.write(`${JSON.stringify(data, null, 2)}\n`);
    const db = await ctx.db();
    try {
      switch (action) {
        case 'create': {
          const issued = await createScimClient(db, needName());
          await recordAdminAction(db, { op: 'scim-client.create', subject: issued.clientName, ...cliActor() });
          ctx.stderr.write(`created SCIM client '${issued.clientName}'; its token (shown once, store it in the IdP now):\n`);
          if (values.json) printJson({ client: issued.clientName, token: issued.token });
          else ctx.stdout.write(`${issued.token}\n`);
          return 0;
        }
        case 'rotate': {
          const grace = parseDuration(values.grace ?? '24h');
          const issued = await rotateScimToken(db, needName(), grace);
          await recordAdminAction(db, {
            op: 'scim-client.rotate',
            subject: issued.clientName,
            detail: { previousValidUntil: issued.previousValidUntil?.toISOString() ?? null },
            ...cliActor(),
          });
          ctx.stderr.write(
            `new token for '${issued.clientName}' (shown once)` +
              (issued.previousValidUntil ? `; the previous token stays valid until ${issued.previousValidUntil.toISOString()}` : '') +
              ':\n',
          );
          if (values.json) printJson({ client: issued.clientName, token: issued.token, previousValidUntil: issued.previousValidUntil ?? null });
          else ctx.stdout.write(`${issued.token}\n`);
          return 0;
        }
        case 'revoke': {
          await revokeScimClient(db, needName());
          await recordAdminAction(db, { op: 'scim-client.revoke', subject: values.name, ...cliActor() });
          ctx.stderr.write(`revoked SCIM client '${values.name}' and all its tokens\n`);
          if (values.json) printJson({ client: values.name, revoked: true });
          return 0;
        }
        case 'list': {
          const clients = await listScimClients(db);
          if (values.json) {
            printJson({ clients });
            return 0;
          }
          for (const client of clients) {
            ctx.stdout.write(`${client.name}${client.revokedAt ? ' (revoked)' : ''}\n`);
            for (const t of client.tokens) {
              const state = t.revokedAt ? 'revoked' : t.expiresAt ? `valid until ${t.expiresAt.toISOString()}` : 'valid';
              ctx.stdout.write(`  …${t.last4}  ${state}  last used ${t.lastUsedAt ? t.lastUsedAt.toISOString() : 'never'}\n`);
            }
          }
          return 0;
        }
        default:
          throw new UsageError(action ? `unknown action '${action}'` : 'scim-token needs an action');
      }
    } catch (err) {
      if (err instanceof ScimClientError) {
        ctx.stderr.write(`${err.message}\n`);
        return 1;
      }
      throw err;
    }
  },
};
