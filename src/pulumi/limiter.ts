import { type Budget, type BudgetLimits, budgetOf, type CallClass, nextAdmission } from './scheduler';

/**
 * One org's Pulumi budget, shared by every client of the process that is given it: the
 * decisions of `nextAdmission` (scheduler.ts) applied with timers, and a shared pause after a
 * 429 so every call queued for the org waits too instead of each hitting the limit. When the
 * pause ends, priority calls (revocations) are admitted first. Within a class, waiters are served
 * in arrival order.
 */
export type LimiterOptions = Omit<BudgetLimits, 'priorityShare'> & Partial<Pick<BudgetLimits, 'priorityShare'>>;

export class OrgLimiter {
  private readonly budget: Budget;
  private readonly waiters: Record<CallClass, Array<() => void>> = { priority: [], normal: [] };
  private readonly inFlight: Record<CallClass, number> = { priority: 0, normal: 0 };
  /** Start times of the last `budget.capacity` admitted calls, ascending. */
  private readonly starts: number[] = [];
  private pausedUntil = 0;
  private pumpTimer: NodeJS.Timeout | undefined;
  private pumpAt = 0;

  constructor(options: LimiterOptions) {
    this.budget = budgetOf({ ...options, priorityShare: options.priorityShare ?? 0 });
  }

  /** Resolves when the caller may start a request; the caller must call the returned release. */
  acquire(callClass: CallClass = 'normal'): Promise<() => void> {
    return new Promise((resolve) => {
      this.waiters[callClass].push(() => {
        let released = false;
        resolve(() => {
          if (released) return;
          released = true;
          this.inFlight[callClass] -= 1;
          this.pump();
        });
      });
      this.pump();
    });
  }

  /** Holds back every request of this org until `untilMs` (epoch ms); used after a 429. */
  pauseUntil(untilMs: number): void {
    if (untilMs > this.pausedUntil) this.pausedUntil = untilMs;
  }

  private pump(): void {
    for (;;) {
      const now = Date.now();
      const admission = nextAdmission(this.budget, {
        now,
        starts: this.starts,
        inFlight: this.inFlight,
        waiting: { priority: this.waiters.priority.length, normal: this.waiters.normal.length },
        pausedUntil: this.pausedUntil,
      });
      if (admission.kind === 'wait') return this.wakeAt(now + admission.ms);
      if (admission.kind !== 'start') return;
      this.starts.push(now);
      if (this.starts.length > this.budget.capacity) this.starts.shift();
      this.inFlight[admission.callClass] += 1;
      (this.waiters[admission.callClass].shift() as () => void)();
    }
  }

  private wakeAt(at: number): void {
    // An earlier wake-up already set stays; a pump then re-decides.
    if (this.pumpTimer && this.pumpAt <= at) return;
    if (this.pumpTimer) clearTimeout(this.pumpTimer);
    this.pumpAt = at;
    this.pumpTimer = setTimeout(
      () => {
        this.pumpTimer = undefined;
        this.pump();
      },
      Math.max(1, Math.ceil(at - Date.now())),
    );
  }
}

/**
 * The Pulumi budget of a process: one limiter per org, handed to every client the process
 * builds (createPulumiClient's `budget`), so their calls together stay within it.
 */
export class PulumiBudget {
  private readonly limiters = new Map<string, OrgLimiter>();

  constructor(private readonly options: LimiterOptions) {
    budgetOf({ ...options, priorityShare: options.priorityShare ?? 0 });
  }

  forOrg(org: string): OrgLimiter {
    let limiter = this.limiters.get(org);
    if (!limiter) {
      limiter = new OrgLimiter(this.options);
      this.limiters.set(org, limiter);
    }
    return limiter;
  }
}
