import { parsePolicy } from '../../src/policy';
import { EVENT_TYPE_URI, planSet, readSubject, VERIFICATION_EVENT_URI, type VerifiedSet } from '../../src/signals';

/** What each event of a verified SET asks for, and who its subject is: pure, table-tested. */

const ISS = 'https://org.okta.com';
const policy = parsePolicy('organization: acme\n', 'sync.yaml');
const set = (events: VerifiedSet['events'], subId?: unknown): VerifiedSet => ({ issuer: ISS, jti: 'j1', iat: 0, events, subId });

describe('readSubject (RFC 9493, SSF 1.0 §3.2, Okta’s shape)', () => {
  it.each([
    ['email', { format: 'email', email: 'Ada@Example.com' }, { by: 'email', email: 'Ada@Example.com' }],
    ['iss_sub of the SET’s issuer', { format: 'iss_sub', iss: `${ISS}/`, sub: '00u1' }, { by: 'externalId', externalId: '00u1', format: 'iss_sub' }],
    ['opaque', { format: 'opaque', id: '00u2' }, { by: 'externalId', externalId: '00u2', format: 'opaque' }],
    ['Okta’s complex subject', { user: { format: 'iss_sub', iss: ISS, sub: '00u3' } }, { by: 'externalId', externalId: '00u3', format: 'iss_sub' }],
  ])('%s', (_name, subject, expected) => {
    expect(readSubject({ subject }, undefined, ISS)).toEqual({ ok: true, subject: expected });
  });

  it.each([
    ['iss_sub of another issuer', { format: 'iss_sub', iss: 'https://other.example', sub: '00u1' }, 'subject_foreign_issuer'],
    ['a phone number', { format: 'phone_number', phone_number: '+1' }, 'subject_format_unsupported'],
    ['an email without a value', { format: 'email' }, 'subject_malformed'],
    ['nothing', undefined, 'subject_missing'],
  ])('%s', (_name, subject, reason) => {
    expect(readSubject(subject === undefined ? {} : { subject }, undefined, ISS)).toEqual({ ok: false, reason });
  });

  it('falls back to the SET’s sub_id (SSF 1.0) when the event has no subject', () => {
    expect(readSubject({}, { format: 'email', email: 'a@example.com' }, ISS)).toEqual({ ok: true, subject: { by: 'email', email: 'a@example.com' } });
  });
});

describe('planSet under the default policy', () => {
  const subject = { format: 'email', email: 'a@example.com' };
  it.each([
    ['session-revoked', ['end-sessions']],
    ['credential-change', ['revoke-tokens', 'end-sessions']],
    ['credential-compromise', ['revoke-tokens', 'end-sessions']],
    ['account-disabled', ['deprovision']],
    ['account-purged', ['deprovision']],
  ] as const)('%s → %j', (event, actions) => {
    expect(planSet(set({ [EVENT_TYPE_URI[event]]: { subject } }), policy)).toEqual([
      { kind: 'act', event, eventType: EVENT_TYPE_URI[event], actions, subject: { by: 'email', email: 'a@example.com' } },
    ]);
  });

  it('a verification event carries its state; an unknown event type is skipped', () => {
    expect(planSet(set({ [VERIFICATION_EVENT_URI]: { state: 's1' }, 'https://example.com/other': {} }), policy)).toEqual([
      { kind: 'verification', state: 's1' },
      { kind: 'skip', eventType: 'https://example.com/other', reason: 'event_type_not_acted_on' },
    ]);
  });

  it('an event the policy maps to [] does nothing', () => {
    const quiet = parsePolicy('organization: acme\nsignals:\n  session-revoked: []\n', 'sync.yaml');
    expect(planSet(set({ [EVENT_TYPE_URI['session-revoked']]: { subject } }), quiet)).toEqual([
      { kind: 'skip', eventType: EVENT_TYPE_URI['session-revoked'], reason: 'policy_no_action' },
    ]);
  });

  it('an unknown action in the policy is a file:line error', () => {
    expect(() => parsePolicy('organization: acme\nsignals:\n  credential-change: [fire-everyone]\n', 'sync.yaml')).toThrow(
      /sync\.yaml:3 signals\.credential-change\.0/,
    );
  });
});
