/**
 * The admission decision of one org's Pulumi budget (docs/robustness.md, "One Pulumi budget per
 * org"), pure: given what started recently, what is in flight and who waits, which class starts
 * next, or how long until one may.
 *
 * - The budget is `maxRps` starts in any sliding window of one second (so the total never
 *   exceeds it, whatever mix of callers) and `maxConcurrency` requests in flight.
 * - `priority` calls (revocations and removals for people who lost access) may use all of it
 *   and are always admitted before `normal` ones.
 * - `normal` calls (reconciles, issuance, sweeps) may use all but the reserved share, so a
 *   revocation arriving during a saturating push finds a free slot at once instead of waiting
 *   for one to come free.
 */

export type CallClass = 'priority' | 'normal';

export interface BudgetLimits {
  /** Request starts per second, all classes together. */
  maxRps: number;
  /** Requests in flight, all classes together. */
  maxConcurrency: number;
  /** Share of both held back for `priority` calls, 0 ≤ share < 1. */
  priorityShare: number;
}

/** The limits as the decision uses them: a window of `capacity` starts per `windowMs`. */
export interface Budget {
  capacity: number;
  windowMs: number;
  maxConcurrency: number;
  /** Starts per window `normal` calls may not take. */
  reservedStarts: number;
  /** In-flight slots `normal` calls may not take. */
  reservedInFlight: number;
}

/**
 * Added to the one-second window: calls admitted a second apart by this clock can arrive at
 * Pulumi a few ms closer together (event-loop and network jitter), and its count is the one that
 * matters.
 */
const JITTER_GUARD_MS = 20;

export function budgetOf(limits: BudgetLimits): Budget {
  if (!(limits.maxConcurrency >= 1)) throw new RangeError('maxConcurrency must be at least 1');
  if (!(limits.maxRps > 0)) throw new RangeError('maxRps must be positive');
  if (!(limits.priorityShare >= 0 && limits.priorityShare < 1)) throw new RangeError('priorityShare must be at least 0 and below 1');
  // Below one call a second the window stretches so that it still holds one start.
  const capacity = Math.max(1, Math.floor(limits.maxRps));
  const maxConcurrency = Math.floor(limits.maxConcurrency);
  // Whatever the share, normal calls keep at least one slot of each: a push must still progress.
  const reserve = (total: number) => Math.min(total - 1, Math.ceil(limits.priorityShare * total));
  return {
    capacity,
    windowMs: (capacity / limits.maxRps) * 1000 + JITTER_GUARD_MS,
    maxConcurrency,
    reservedStarts: reserve(capacity),
    reservedInFlight: reserve(maxConcurrency),
  };
}

export interface BudgetState {
  now: number;
  /** Start times (epoch ms, ascending) of the last `capacity` admitted calls at most. */
  starts: readonly number[];
  inFlight: Readonly<Record<CallClass, number>>;
  waiting: Readonly<Record<CallClass, number>>;
  /** After a 429: nothing starts before this (epoch ms). */
  pausedUntil: number;
}

/**
 * - `start`: admit the oldest waiter of that class now.
 * - `wait`: nothing may start for `ms` (a timer); `release`: nothing may start until a request
 *   in flight ends; `idle`: nobody waits.
 */
export type Admission = { kind: 'start'; callClass: CallClass } | { kind: 'wait'; ms: number } | { kind: 'release' } | { kind: 'idle' };

export function nextAdmission(budget: Budget, state: BudgetState): Admission {
  const callClass: CallClass | undefined = state.waiting.priority > 0 ? 'priority' : state.waiting.normal > 0 ? 'normal' : undefined;
  if (!callClass) return { kind: 'idle' };
  if (state.now < state.pausedUntil) return { kind: 'wait', ms: state.pausedUntil - state.now };
  const recent = state.starts.filter((at) => at > state.now - budget.windowMs);
  const inFlight = state.inFlight.priority + state.inFlight.normal;
  // Priority calls first, always: a normal call never starts while one waits.
  const startLimit = callClass === 'priority' ? budget.capacity : budget.capacity - budget.reservedStarts;
  const inFlightLimit = callClass === 'priority' ? budget.maxConcurrency : budget.maxConcurrency - budget.reservedInFlight;
  if (inFlight >= inFlightLimit) return { kind: 'release' };
  if (recent.length < startLimit) return { kind: 'start', callClass };
  // The start that must leave the window before this class has a free slot again.
  const blocking = recent[recent.length - startLimit];
  return { kind: 'wait', ms: blocking + budget.windowMs - state.now };
}
