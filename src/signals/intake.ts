import type { Logger } from '../log';
import { signalsReceived, signalsUnknownSubject } from '../metrics';
import type { Policy, SignalAction, SignalEvent } from '../policy';
import type { SignalJob } from '../queue';
import { signalEventOf, VERIFICATION_EVENT_URI } from './events';
import { type PersonSubject, readSubject } from './subjects';
import type { StreamStore } from './store';
import type { Refusal, ReplayGuard, Verification, VerifiedSet } from './verify';

/**
 * What happens to a SET once it has arrived, by push or poll: verify it, decide what each of
 * its events asks for (`planSet`, pure), find the person, and put the actions on the revoke lane.
 * Nothing runs here but the enqueue: the actions themselves run on the lane's worker.
 */

export type SetStep =
  | { kind: 'verification'; state: unknown }
  | { kind: 'act'; event: SignalEvent; eventType: string; actions: SignalAction[]; subject: PersonSubject }
  | { kind: 'skip'; eventType: string; reason: string };

/** What each event of a verified SET asks for under the policy. */
export function planSet(set: VerifiedSet, policy: Pick<Policy, 'signals'>): SetStep[] {
  return Object.entries(set.events).map(([eventType, payload]): SetStep => {
    const body = typeof payload === 'object' && payload !== null ? payload : {};
    if (eventType === VERIFICATION_EVENT_URI) return { kind: 'verification', state: body.state };
    const event = signalEventOf(eventType);
    if (!event) return { kind: 'skip', eventType, reason: 'event_type_not_acted_on' };
    const actions = policy.signals.actions[event];
    if (actions.length === 0) return { kind: 'skip', eventType, reason: 'policy_no_action' };
    const subject = readSubject(body, set.subId, set.issuer);
    if (!subject.ok) return { kind: 'skip', eventType, reason: subject.reason };
    return { kind: 'act', event, eventType, actions, subject: subject.subject };
  });
}

/** What the intake needs from the rest of the daemon (built in src/runtime). */
export interface SignalPorts {
  /** SCIM ids of the directory people the subject names (by stable identifiers only). */
  peopleFor(subject: PersonSubject): Promise<string[]>;
  /** Puts a person's actions on the revoke lane. */
  enqueue(job: SignalJob): Promise<void>;
}

export interface SetIntakeDeps {
  verify: (token: string) => Promise<Verification>;
  replay: ReplayGuard;
  policy: { readonly current: Policy };
  store: StreamStore;
  ports: SignalPorts;
  logger: Logger;
}

export type IntakeResult = { accepted: true; jti: string } | { accepted: false; refusal: Refusal };

export type SetIntake = (token: string, arrivedAt: number) => Promise<IntakeResult>;

export function createSetIntake(deps: SetIntakeDeps): SetIntake {
  const log = deps.logger.child({ category: 'signals' });
  return async (token, arrivedAt) => {
    const verification = await deps.verify(token);
    if (!verification.ok) {
      const { err, reason } = verification.refusal;
      signalsReceived.inc({ outcome: err });
      log.warn('signal refused', { err, reason });
      return { accepted: false, refusal: verification.refusal };
    }
    const { set } = verification;
    try {
      for (const step of planSet(set, deps.policy.current)) await run(step, set, arrivedAt);
    } catch (err) {
      // Nothing was lost: the transmitter delivers the SET again, and its jti must not stand in the way.
      await deps.replay.forget(set.issuer, set.jti).catch(() => undefined);
      throw err;
    }
    signalsReceived.inc({ outcome: 'accepted' });
    return { accepted: true, jti: set.jti };
  };

  async function run(step: SetStep, set: VerifiedSet, arrivedAt: number): Promise<void> {
    const ids = { jti: set.jti, issuer: set.issuer };
    if (step.kind === 'verification') {
      const matched = await deps.store.verificationReceived(step.state, new Date(arrivedAt));
      log.info('stream verification event received', { ...ids, matched });
      return;
    }
    if (step.kind === 'skip') {
      if (step.reason.startsWith('subject_')) signalsUnknownSubject.inc();
      log.info('signal accepted, nothing to do', { ...ids, eventType: step.eventType, reason: step.reason });
      return;
    }
    const people = await deps.ports.peopleFor(step.subject);
    if (people.length !== 1) {
      signalsUnknownSubject.inc();
      log.warn('signal accepted, subject unknown: nothing done', {
        ...ids,
        eventType: step.eventType,
        reason: people.length === 0 ? 'subject_unknown' : 'subject_ambiguous',
        subjectFormat: step.subject.by === 'email' ? 'email' : step.subject.format,
      });
      return;
    }
    await deps.ports.enqueue({ userId: people[0], actions: step.actions, jti: set.jti, issuer: set.issuer, eventType: step.eventType, at: arrivedAt });
    log.info('signal accepted: actions queued', { ...ids, eventType: step.eventType, userId: people[0], actions: step.actions });
  }
}
