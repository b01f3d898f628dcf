import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { recordAdminAction } from '../reconcile';
import { type DeliveryMode, receiverUrlOf, StreamManager, StreamNotConfiguredError, StreamStore, TransmitterError, transmitterClientFor } from '../signals';
import { type CliCommand, cliActor, UsageError } from './index';

/**
 * `ssf stream create|show|verify|delete`: the Shared Signals stream, as the admin API manages it
 * (docs/shared-signals.md, "Stream management"), with the SSF_* variables and the daemon's Redis
 * (the stream record lives there, under QUEUE_PREFIX). `verify` waits for the running daemon to
 * receive the verification event. Changes are audited (actor: the OS user, channel `cli`).
 */

const USAGE = `usage:
  npm run cli -- ssf stream create [--delivery push|poll] [--endpoint <url>] [--event <uri>]... [--json]
  npm run cli -- ssf stream show [--json]
  npm run cli -- ssf stream verify [--wait <seconds>] [--json]
  npm run cli -- ssf stream delete [--json]

  --delivery  push (the transmitter POSTs to PUBLIC_URL/ssf/events; default) or poll (the daemon polls)
  --endpoint  push: the URL the transmitter posts to (default PUBLIC_URL/ssf/events)
  --event     an event type URI to ask for (repeatable; default every event the policy can act on)
  --wait      verify: seconds to wait for the verification event (default 10)
  --json      print the result as one JSON object on stdout`;

const OPTIONS = {
  delivery: { type: 'string' },
  endpoint: { type: 'string' },
  event: { type: 'string', multiple: true },
  wait: { type: 'string' },
  json: { type: 'boolean' },
} as const;

function parseOptions(args: string[]) {
  try {
    return parseArgs({ args, options: OPTIONS, strict: true, allowPositionals: true });
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

export const ssfCommand: CliCommand = {
  name: 'ssf',
  summary: 'create, show, verify or delete the Shared Signals stream',
  usage: USAGE,
  async run(args, ctx) {
    const parsed = parseOptions(args);
    const { values, positionals } = parsed;
    const [noun, action, ...extra] = positionals;
    if (noun !== 'stream' || !action || extra.length > 0) throw new UsageError('expected: ssf stream create|show|verify|delete');
    const transmitter = transmitterClientFor(ctx.config);
    if (!transmitter) {
      ctx.stderr.write('the Shared Signals receiver is off: set SSF_TRANSMITTER_URL (and SSF_CLIENT_ID, SSF_CLIENT_SECRET)\n');
      return 1;
    }
    const { producer } = await ctx.queues();
    // The producer fails fast rather than queue commands: wait until it is connected.
    if (producer.status !== 'ready') await once(producer, 'ready');
    const manager = new StreamManager(transmitter, new StreamStore(producer, `${ctx.config.QUEUE_PREFIX}:`), receiverUrlOf(ctx.config));
    const out = (result: unknown, text: string) => ctx.stdout.write(values.json ? `${JSON.stringify(result, null, 2)}\n` : `${text}\n`);
    const audit = async (op: string, subject?: string, detail?: Record<string, unknown>) =>
      recordAdminAction(await ctx.db(), { op, subject, detail, ...cliActor() });
    try {
      switch (action) {
        case 'create': {
          const delivery = (values.delivery ?? 'push') as DeliveryMode;
          if (delivery !== 'push' && delivery !== 'poll') throw new UsageError('--delivery must be push or poll');
          const result = await manager.create({ delivery, endpointUrl: values.endpoint, eventsRequested: values.event });
          await audit(result.adopted ? 'ssf.stream.adopt' : 'ssf.stream.create', result.stream.streamId, { delivery });
          out(result, `stream ${result.stream.streamId} ${result.adopted ? 'adopted' : 'created'}: ${delivery} delivery, ${result.stream.endpointUrl}`);
          return 0;
        }
        case 'show': {
          const shown = await manager.show();
          out(shown, `stream ${shown.stream.streamId}: ${shown.stream.delivery} delivery, ${shown.stream.endpointUrl}, status ${shown.status ?? 'unknown'}`);
          return 0;
        }
        case 'verify': {
          const seconds = values.wait === undefined ? 10 : Number(values.wait);
          if (!Number.isFinite(seconds) || seconds < 0 || seconds > 300) throw new UsageError('--wait must be a number of seconds, 0 to 300');
          const outcome = await manager.verify(seconds * 1000);
          await audit('ssf.stream.verify', undefined, { received: outcome.received, roundTripMs: outcome.roundTripMs });
          out(
            outcome,
            outcome.received
              ? `verification event received after ${outcome.roundTripMs} ms`
              : 'no verification event arrived in time (is the daemon running and reachable?)',
          );
          return outcome.received ? 0 : 1;
        }
        case 'delete': {
          const { streamId } = await manager.delete();
          await audit('ssf.stream.delete', streamId);
          out({ deleted: streamId }, `stream ${streamId} deleted`);
          return 0;
        }
        default:
          throw new UsageError(`unknown action '${action}'`);
      }
    } catch (err) {
      if (!(err instanceof TransmitterError || err instanceof StreamNotConfiguredError)) throw err;
      ctx.stderr.write(`${err.message}\n`);
      return 1;
    }
  },
};
