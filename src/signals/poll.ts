import type { Redis } from 'ioredis';
import type { Logger } from '../log';
import type { SetIntake } from './intake';
import type { StreamStore } from './store';
import type { PollRequest, TransmitterClient } from './transmitter';

/**
 * Poll delivery (RFC 8936), run while the stream's delivery is `poll`: ask for SETs, hand each
 * to the intake, and acknowledge it in the next request. A SET is acknowledged once it was
 * accepted (its actions queued) or found already accepted (its `jti` remembered): the jtis to
 * acknowledge wait in Redis (`<prefix>ssf:poll:ack`) until a poll request carrying them
 * succeeded, so a restart acknowledges what the last process took, and a SET the transmitter
 * delivers again is acknowledged without being processed twice. A refused SET is reported in
 * `setErrs` with its error code.
 */

export interface PollerDeps {
  transmitter: Pick<TransmitterClient, 'poll'>;
  store: StreamStore;
  intake: SetIntake;
  redis: Redis;
  /** Redis key prefix, e.g. `pis:`. */
  prefix: string;
  logger: Logger;
  /** Pause after an empty answer or a failure. @defaultValue 1000 */
  idleMs?: number;
  /** @defaultValue 50 */
  maxEvents?: number;
}

export interface Poller {
  stop(): Promise<void>;
}

export function startPoller(deps: PollerDeps): Poller {
  const log = deps.logger.child({ category: 'signals' });
  const ackKey = `${deps.prefix}ssf:poll:ack`;
  const idleMs = deps.idleMs ?? 1000;
  let stopped = false;
  let wake: (() => void) | undefined;
  const pause = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(resolve, ms);
      wake = () => {
        clearTimeout(timer);
        resolve();
      };
    });

  let setErrs: NonNullable<PollRequest['setErrs']> = {};

  async function once(): Promise<boolean> {
    const record = await deps.store.get();
    if (record?.delivery !== 'poll') return false;
    const ack = await deps.redis.smembers(ackKey);
    const errs = setErrs;
    const answer = await deps.transmitter.poll(record.endpointUrl, { ack, setErrs: errs, maxEvents: deps.maxEvents ?? 50, returnImmediately: true });
    if (ack.length > 0) await deps.redis.srem(ackKey, ...ack);
    setErrs = {};
    const entries = Object.entries(answer.sets);
    for (const [jti, token] of entries) {
      if (typeof token !== 'string') continue;
      const result = await deps.intake(token, Date.now());
      if (result.accepted || result.refusal.reason === 'jti_replayed') await deps.redis.sadd(ackKey, jti);
      else setErrs[jti] = { err: result.refusal.err, description: result.refusal.description };
    }
    return entries.length > 0 || answer.moreAvailable;
  }

  const loop = (async () => {
    while (!stopped) {
      let busy = false;
      try {
        busy = await once();
      } catch (err) {
        log.warn('poll failed; retrying', { err: (err as Error).message });
      }
      if (!busy && !stopped) await pause(idleMs);
    }
  })();

  return {
    async stop() {
      stopped = true;
      wake?.();
      await loop;
    },
  };
}
