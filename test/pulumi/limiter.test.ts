import { OrgLimiter, PulumiBudget } from '../../src/pulumi/limiter';
import { type Budget, type BudgetState, budgetOf, nextAdmission } from '../../src/pulumi/scheduler';

/** The budget's decisions (pure), then the limiter that applies them with timers. */

const budget20: Budget = budgetOf({ maxRps: 20, maxConcurrency: 8, priorityShare: 0.2 });

function state(overrides: Partial<BudgetState>): BudgetState {
  return { now: 10_000, starts: [], inFlight: { priority: 0, normal: 0 }, waiting: { priority: 0, normal: 0 }, pausedUntil: 0, ...overrides };
}

/** `n` starts spread evenly over the last second before `now`. */
function spread(n: number, now = 10_000): number[] {
  return Array.from({ length: n }, (_, i) => now - 999 + Math.floor((i * 999) / n));
}

describe('budgetOf', () => {
  test.each([
    [
      { maxRps: 20, maxConcurrency: 8, priorityShare: 0.2 },
      { capacity: 20, windowMs: 1020, maxConcurrency: 8, reservedStarts: 4, reservedInFlight: 2 },
    ],
    [
      { maxRps: 20, maxConcurrency: 8, priorityShare: 0 },
      { capacity: 20, windowMs: 1020, maxConcurrency: 8, reservedStarts: 0, reservedInFlight: 0 },
    ],
    // Normal calls keep one slot of each, whatever the share.
    [
      { maxRps: 2, maxConcurrency: 1, priorityShare: 0.9 },
      { capacity: 2, windowMs: 1020, maxConcurrency: 1, reservedStarts: 1, reservedInFlight: 0 },
    ],
    // Below one call a second, the window stretches to hold one start.
    [
      { maxRps: 0.5, maxConcurrency: 4, priorityShare: 0.2 },
      { capacity: 1, windowMs: 2020, maxConcurrency: 4, reservedStarts: 0, reservedInFlight: 1 },
    ],
  ])('%j → %j', (limits, expected) => {
    expect(budgetOf(limits)).toEqual(expected);
  });

  test.each([
    { maxRps: 0, maxConcurrency: 8, priorityShare: 0.2 },
    { maxRps: 20, maxConcurrency: 0, priorityShare: 0.2 },
    { maxRps: 20, maxConcurrency: 8, priorityShare: 1 },
    { maxRps: 20, maxConcurrency: 8, priorityShare: -0.1 },
  ])('refuses %j', (limits) => {
    expect(() => budgetOf(limits)).toThrow(RangeError);
  });
});

describe('nextAdmission', () => {
  test.each<[string, Partial<BudgetState>, ReturnType<typeof nextAdmission>]>([
    ['nobody waits', {}, { kind: 'idle' }],
    ['a normal call in an empty budget starts', { waiting: { priority: 0, normal: 1 } }, { kind: 'start', callClass: 'normal' }],
    ['a priority call goes before normal ones that queued first', { waiting: { priority: 1, normal: 50 } }, { kind: 'start', callClass: 'priority' }],
    [
      'normal calls stop at the reserve: 16 of 20 starts in the window',
      { starts: spread(16), waiting: { priority: 0, normal: 1 } },
      { kind: 'wait', ms: 1020 - 999 },
    ],
    [
      'a priority call finds the reserve free while a push holds the rest',
      { starts: spread(16), waiting: { priority: 1, normal: 9 } },
      { kind: 'start', callClass: 'priority' },
    ],
    ['nobody exceeds the total: 20 starts in the window', { starts: spread(20), waiting: { priority: 1, normal: 0 } }, { kind: 'wait', ms: 21 }],
    [
      'starts older than the window no longer count',
      { starts: spread(20, 8_000), waiting: { priority: 0, normal: 1 } },
      { kind: 'start', callClass: 'normal' },
    ],
    [
      'normal calls leave the reserved in-flight slots free',
      { inFlight: { priority: 0, normal: 6 }, waiting: { priority: 0, normal: 1 } },
      { kind: 'release' },
    ],
    [
      'a priority call uses a reserved in-flight slot',
      { inFlight: { priority: 0, normal: 6 }, waiting: { priority: 1, normal: 1 } },
      { kind: 'start', callClass: 'priority' },
    ],
    ['nobody exceeds the total in flight', { inFlight: { priority: 2, normal: 6 }, waiting: { priority: 1, normal: 0 } }, { kind: 'release' }],
    ['after a 429 everyone waits for Retry-After', { pausedUntil: 12_500, waiting: { priority: 1, normal: 1 } }, { kind: 'wait', ms: 2_500 }],
  ])('%s', (_, overrides, expected) => {
    expect(nextAdmission(budget20, state(overrides))).toEqual(expected);
  });
});

describe('OrgLimiter', () => {
  beforeEach(() => jest.useFakeTimers({ now: 0 }));
  afterEach(() => jest.useRealTimers());

  async function flush() {
    for (let i = 0; i < 5; i += 1) await Promise.resolve();
  }

  test('admits at most maxConcurrency, in arrival order', async () => {
    const limiter = new OrgLimiter({ maxConcurrency: 2, maxRps: 1000 });
    const started: number[] = [];
    const releases: Array<() => void> = [];
    for (let i = 0; i < 4; i += 1)
      void limiter.acquire().then((release) => {
        started.push(i);
        releases.push(release);
      });
    await flush();
    expect(started).toEqual([0, 1]);
    releases[0]();
    releases[0]();
    await flush();
    expect(started).toEqual([0, 1, 2]);
  });

  test('never more than maxRps starts in any second', async () => {
    const limiter = new OrgLimiter({ maxConcurrency: 100, maxRps: 2 });
    const startedAt: number[] = [];
    for (let i = 0; i < 5; i += 1)
      void limiter.acquire().then((release) => {
        startedAt.push(Date.now());
        release();
      });
    await jest.advanceTimersByTimeAsync(3000);
    // One second and the guard against arrival jitter (scheduler.ts) between windows.
    expect(startedAt).toEqual([0, 0, 1020, 1020, 2040]);
  });

  test('a revocation queued behind a saturating push starts at once, in the reserve', async () => {
    const limiter = new OrgLimiter({ maxConcurrency: 100, maxRps: 10, priorityShare: 0.2 });
    const order: string[] = [];
    for (let i = 0; i < 30; i += 1)
      void limiter.acquire('normal').then((release) => {
        order.push(`n${Date.now()}`);
        release();
      });
    await flush();
    expect(order).toHaveLength(8);
    void limiter.acquire('priority').then((release) => {
      order.push(`p${Date.now()}`);
      release();
    });
    await flush();
    expect(order.at(-1)).toBe('p0');
  });

  test('a pause after a 429 holds back everything queued for the org; revocations go first after it', async () => {
    const limiter = new OrgLimiter({ maxConcurrency: 10, maxRps: 1000 });
    limiter.pauseUntil(3000);
    const order: string[] = [];
    void limiter.acquire('normal').then(() => order.push('normal'));
    void limiter.acquire('priority').then(() => order.push('priority'));
    await jest.advanceTimersByTimeAsync(2999);
    expect(order).toEqual([]);
    await jest.advanceTimersByTimeAsync(2);
    expect(order).toEqual(['priority', 'normal']);
  });

  test('clients given one PulumiBudget share one limiter per org', () => {
    const budget = new PulumiBudget({ maxConcurrency: 2, maxRps: 5, priorityShare: 0.2 });
    expect(budget.forOrg('acme')).toBe(budget.forOrg('acme'));
    expect(budget.forOrg('acme')).not.toBe(budget.forOrg('other'));
  });
});
