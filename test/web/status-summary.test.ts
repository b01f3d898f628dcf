import type { SyncStatus } from '../../src/reconcile';

type TeamStatus = SyncStatus['teams'][number];
import { duration, humanKey, relativeTime } from '../../src/web/human';
import { renderStatus } from '../../src/web/status-page';
import { summarize } from '../../src/web/status-summary';

/** The status page's summary line and human units, pure over SyncStatus. */

const NOW = new Date('2026-12-02T12:00:00Z');
const ago = (seconds: number) => new Date(NOW.getTime() - seconds * 1000).toISOString();

describe('human units', () => {
  it.each([
    [null, 'never'],
    [ago(2), 'just now'],
    [ago(45), '45 s ago'],
    [ago(125), '2 min ago'],
    [ago(3 * 3600 + 10), '3 h ago'],
    [ago(50 * 3600), '2 d ago'],
    [ago(-300), 'in 5 min'],
  ])('relativeTime(%s) is %s', (at, expected) => {
    expect(relativeTime(at, NOW)).toBe(expected);
  });

  it.each([
    [null, '—'],
    [12.4, '12 ms'],
    [850, '850 ms'],
    [1234.5, '1.2 s'],
    [65_432, '65 s'],
  ])('duration(%s) is %s', (ms, expected) => {
    expect(duration(ms)).toBe(expected);
  });

  it.each([
    ['lastReconcileAt', 'last reconcile at'],
    ['holdId', 'hold id'],
    ['last_attempt_at', 'last attempt at'],
    ['SCIMClient', 'scim client'],
  ])('humanKey(%s) is %s', (key, expected) => {
    expect(humanKey(key)).toBe(expected);
  });
});

function team(name: string, overrides: Partial<TeamStatus> = {}): TeamStatus {
  return {
    team: name,
    lastReconcileAt: ago(120),
    lastSuccessAt: ago(120),
    lastOutcome: 'success',
    lastError: null,
    lastReason: 'drift',
    lastRequestId: null,
    lastOps: 0,
    lastDurationMs: 1234.5,
    management: 'owned',
    owned: true,
    degraded: false,
    degradedReason: null,
    notes: [],
    ...overrides,
  };
}

function status(overrides: Partial<SyncStatus> = {}): SyncStatus {
  return {
    queues: { team: { wait: 2, active: 1, failed: 0 }, revoke: { wait: 0, active: 0, failed: 0 } },
    redis: { evictionPolicy: 'noeviction', ok: true },
    outbox: { depth: 0, oldestAgeSeconds: 0, failing: 0 },
    lastReconcileAt: ago(120),
    teams: [team('platform'), team('web'), team('data')],
    degradedTeams: [],
    pendingPeople: 0,
    pendingUsers: [],
    unknownCreatorTokens: [],
    unownedTeams: [],
    loginConflicts: [],
    loginChanges: [],
    blockedTeams: [],
    renamedGroups: [],
    openHolds: [],
    ...overrides,
  };
}

const pending = (login: string, teamName: string, reason: string) => ({
  team: teamName,
  login,
  reason,
  firstSeenAt: ago(600),
  lastAttemptAt: ago(60),
  attempts: 2,
  nextAttemptAt: reason === 'login_conflict' ? null : ago(-240),
});

describe('summarize', () => {
  it.each<[string, Partial<SyncStatus>, Record<string, [string, string]>]>([
    [
      'all well',
      {},
      {
        teams: ['3 teams in sync', 'ok'],
        pending: ['nobody pending', 'ok'],
        reconcile: ['last reconcile 2 min ago', 'ok'],
        queues: ['queues: 2 waiting, 1 running', 'ok'],
        outbox: ['outbox empty', 'ok'],
      },
    ],
    [
      'teams whose org was re-seeded await a reconcile, not in sync',
      { teams: [team('platform', { lastOutcome: 'unverified', lastReason: 'emulator-start' }), team('web'), team('data')] },
      { teams: ['2 teams in sync, 1 awaiting a reconcile', 'warn'] },
    ],
    [
      'degraded and held teams, people pending counted once with their reasons',
      {
        teams: [team('platform', { degraded: true, degradedReason: 'forbidden' }), team('web'), team('data')],
        degradedTeams: ['platform'],
        openHolds: [
          { team: 'web', holdId: 'h1', ops: 12 },
          { team: 'web', holdId: 'h2', ops: 3 },
        ],
        pendingPeople: 2,
        pendingUsers: [pending('dave', 'web', 'no-pulumi-account'), pending('dave', 'data', 'no-pulumi-account'), pending('eve', 'web', 'login_conflict')],
      },
      {
        teams: ['1 team in sync, 1 degraded, 1 held', 'bad'],
        pending: ['2 people pending (1 no-pulumi-account, 1 login_conflict)', 'warn'],
      },
    ],
    [
      'nothing reconciled yet, queues down, outbox behind',
      {
        teams: [],
        lastReconcileAt: null,
        queues: { error: 'queue unavailable: ECONNREFUSED' },
        outbox: { depth: 40, oldestAgeSeconds: 185, failing: 0 },
      },
      {
        teams: ['0 teams in sync', 'ok'],
        reconcile: ['last reconcile never', 'warn'],
        queues: ['queues unavailable', 'bad'],
        outbox: ['outbox: 40 unpublished, oldest 3 min', 'warn'],
      },
    ],
    ['an outbox row failing', { outbox: { depth: 1, oldestAgeSeconds: 5, failing: 1 } }, { outbox: ['outbox: 1 unpublished, oldest 5 s, 1 failing', 'bad'] }],
  ])('%s', (_case, overrides, expected) => {
    const parts = Object.fromEntries(summarize(status(overrides), NOW).map((p) => [p.key, [p.text, p.tone]]));
    for (const [key, want] of Object.entries(expected)) expect(parts[key]).toEqual(want);
  });
});

describe('renderStatus', () => {
  it('shows human units, not ISO times, raw milliseconds or camelCase keys', () => {
    const page = renderStatus(
      status({ pendingUsers: [pending('dave', 'web', 'no-pulumi-account')], pendingPeople: 1, openHolds: [{ team: 'web', holdId: 'h1', ops: 12 }] }),
      NOW,
    ).text;
    expect(page).toContain('<span id="summary-teams" class="tone-warn">2 teams in sync, 1 held</span>');
    expect(page).toContain('>2 min ago</time>');
    expect(page).toContain('<td>1.2 s</td>');
    expect(page).toContain('<th>hold id</th>');
    expect(page).toContain('>in 4 min</time>');
    expect(page).not.toContain('1234.5');
    expect(page).not.toMatch(/>\d{4}-\d{2}-\d{2}T[^<]*</);
    expect(page).not.toContain('lastReconcileAt');
  });
});
