import { SignJWT } from 'jose';
import { runCli } from '../../src/cli';
import { ssfCommand } from '../../src/cli/ssf';
import { loadConfig } from '../../src/config';
import { outputSink } from '../helpers/cli-output';
import { QUEUE } from '../../src/queue';
import { queryAudit } from '../../src/reconcile';
import { SSF_EVENT, unpublishedKey } from '../../src/ssf-emulator';
import { issueToken } from '../../src/tokens';
import { getToken } from '../../src/tokens/ledger';
import { emuTeam, liveTokenIds, okta } from '../reconcile/harness';
import { eventually, type SignalsHarness, startSignalsHarness } from './harness';
import type { SyncStatus } from '../../src/reconcile';
import { signalsSource } from '../../src/web';
import { renderStatus } from '../../src/web/status-page';

/**
 * The receiver end to end: stream management against the transmitter emulator through the admin
 * API (with the verification round trip), a CAEP credential-change revoking every token the daemon
 * issued to that person and nobody else's, the RFC 8935 refusal table, unknown subjects, and poll
 * delivery across a receiver restart.
 */

let s: SignalsHarness;
const ids: Record<string, string> = {};
const tokens: Record<string, string> = {};

async function laneIdle(): Promise<boolean> {
  const counts = await s.h.queues.queue(QUEUE.revoke).getJobCounts('wait', 'active', 'delayed', 'prioritized');
  return Object.values(counts).every((n) => n === 0);
}

async function push(token: string, headers: Record<string, string> = {}): Promise<{ status: number; body: Record<string, unknown> }> {
  const stream = s.ssf.stream()!;
  const res = await fetch(`${s.url}/ssf/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/secevent+jwt', authorization: stream.delivery.authorization_header ?? '', ...headers },
    body: token,
  });
  const text = await res.text();
  return { status: res.status, body: text ? JSON.parse(text) : {} };
}

const aliceSubject = () => ({ user: { format: 'iss_sub', iss: s.ssf.issuer, sub: '00u-alice' } });

beforeAll(async () => {
  s = await startSignalsHarness();
  ids.alice = await s.provision('alice@example.com', '00u-alice');
  ids.bob = await s.provision('bob@example.com', '00u-bob');
  const group = await okta.createGroup(s.h, 'Platform Engineers');
  await okta.addMembers(s.h, group, [ids.alice, ids.bob]);
  // No reconcile worker runs: the team is reconciled here, directly, once.
  while ((await s.h.relay.drainOnce()) > 0);
  await s.h.queues.queue(QUEUE.reconcile).drain(true);
  await s.h.queues.queue(QUEUE.revoke).drain(true);
  await s.h.reconcileTeam({ team: 'platform', reason: 'test setup' });
  tokens.aliceScoped = (
    await issueToken(s.h.tokens, { team: 'platform', owner: 'alice@example.com', description: '', scope: [{ project: 'infra', stack: 'dev' }] })
  ).id;
  tokens.aliceTeam = (await issueToken(s.h.tokens, { team: 'platform', owner: 'alice@example.com', description: '' })).id;
  tokens.bob = (await issueToken(s.h.tokens, { team: 'platform', owner: 'bob@example.com', description: '' })).id;
}, 90_000);

afterAll(async () => {
  await s?.close();
});

describe('stream management through the admin API', () => {
  it('creates a push stream at the transmitter, shows it, and round-trips a verification event', async () => {
    const created = await s.admin('POST', '/ssf/stream', { delivery: 'push' });
    expect(created.status).toBe(201);
    const stream = created.body.stream as Record<string, unknown>;
    expect(stream).toMatchObject({ delivery: 'push', endpointUrl: `${s.url}/ssf/events`, authorizationRequired: true });
    expect(s.ssf.stream()?.delivery).toMatchObject({ method: 'urn:ietf:rfc:8935', endpoint_url: `${s.url}/ssf/events` });
    expect(s.ssf.stream()?.events_delivered).toEqual(expect.arrayContaining([SSF_EVENT.sessionRevoked, SSF_EVENT.credentialChange]));

    const shown = await s.admin('GET', '/ssf/stream');
    expect(shown.body).toMatchObject({ status: 'enabled', stream: { streamId: s.ssf.stream()?.stream_id } });

    const verified = await s.admin('POST', '/ssf/stream/verify', { waitMs: 15_000 });
    expect(verified.status).toBe(200);
    expect(verified.body.received).toBe(true);

    const status = await s.admin('GET', '/status');
    expect(status.body.ssf).toMatchObject({
      transmitter: s.ssf.issuer,
      stream: { streamId: s.ssf.stream()?.stream_id, verification: { receivedAt: expect.any(String) } },
    });
    // The console's status page shows the stream with the transmitter's word on it.
    const view = await signalsSource(s.signals).status();
    expect(view).toMatchObject({ transmitter: s.ssf.issuer, transmitterStatus: 'enabled', stream: { streamId: s.ssf.stream()?.stream_id } });
    const page = renderStatus(status.body as unknown as SyncStatus, new Date(), { signals: view }).text;
    expect(page).toContain('<dd id="ssf-status" class="tone-ok">enabled</dd>');
    expect(page).toMatch(/received <time/);
    const audited = await s.h.scim.db('audit_log').where({ category: 'admin' }).whereIn('op', ['ssf.stream.create', 'ssf.stream.verify']).pluck('op');
    expect(audited.sort()).toEqual(['ssf.stream.create', 'ssf.stream.verify']);
  });

  it('adopts the stream the transmitter already holds for this client (409 on create)', async () => {
    const again = await s.admin('POST', '/ssf/stream', { delivery: 'push' });
    expect(again.status).toBe(200);
    expect(again.body).toMatchObject({ adopted: true, stream: { streamId: s.ssf.stream()?.stream_id } });
    // An adopted stream's authorization header is unknown here: recreate it so pushes carry ours again.
    expect((await s.admin('DELETE', '/ssf/stream')).status).toBe(200);
    expect(s.ssf.stream()).toBeUndefined();
    expect((await s.admin('POST', '/ssf/stream', { delivery: 'push' })).status).toBe(201);
  });
});

describe('a credential-change SET', () => {
  it('revokes every token the daemon issued to that person at Pulumi, leaves others alone, and audits it with the jti', async () => {
    const delivery = await s.ssf.emit(SSF_EVENT.credentialChange, aliceSubject(), { credential_type: 'password', change_type: 'revoke' });
    expect(delivery.status).toBe(202);
    await eventually(
      'alice’s tokens revoked',
      async () =>
        (await getToken(s.h.scim.db, tokens.aliceTeam))!.state === 'revoked' && (await getToken(s.h.scim.db, tokens.aliceScoped))!.state === 'revoked',
    );
    await eventually('lane idle', laneIdle);

    const aliceTeam = (await getToken(s.h.scim.db, tokens.aliceTeam))!;
    const aliceScoped = (await getToken(s.h.scim.db, tokens.aliceScoped))!;
    const bob = (await getToken(s.h.scim.db, tokens.bob))!;
    expect(bob.state).toBe('active');
    const live = liveTokenIds(s.h.emu, 'platform');
    expect(live).toContain(bob.pulumiTokenId);
    expect(live).not.toContain(aliceTeam.pulumiTokenId);
    expect(emuTeam(s.h.emu, aliceScoped.privateTeam!)).toBeUndefined();
    // Alice is still a member: a credential change takes nobody off a team.
    expect(emuTeam(s.h.emu, 'platform')!.members).toContain('alice');

    const entries = await s.h.scim.db('audit_log').where({ request_id: delivery.jti }).orderBy('id');
    // Each revocation is announced before its DELETE and completed after it (docs/audit.md).
    const revoked = entries.filter((e) => e.op === 'token.revoked');
    const intents = revoked.filter((e) => e.outcome === 'intent');
    expect(intents).toHaveLength(2);
    expect(
      revoked
        .filter((e) => e.outcome === 'applied')
        .map((e) => String(e.intent_id))
        .sort(),
    ).toEqual(intents.map((e) => String(e.id)).sort());
    expect(revoked).toHaveLength(4);
    const signal = entries.find((e) => e.category === 'signals');
    expect(signal).toMatchObject({ op: 'signal.revoke-tokens', subject: ids.alice });
    expect(signal.detail).toMatchObject({ jti: delivery.jti, issuer: s.ssf.issuer, eventType: SSF_EVENT.credentialChange, tokensRevoked: 2 });
    // The audit page's person filter finds the signal's entry by userName, not only by id.
    const page = await queryAudit(s.h.scim.db, { person: 'alice@example.com', category: 'signals' });
    expect(page.entries.map((e) => e.id)).toContain(String(signal.id));
  });

  it('with an unknown subject is answered 202 and does nothing', async () => {
    const before = await s.h.scim.db('audit_log').count({ n: '*' });
    const delivery = await s.ssf.emit(SSF_EVENT.credentialChange, { format: 'email', email: 'nobody@example.com' });
    expect(delivery.status).toBe(202);
    await eventually('lane idle', laneIdle);
    expect(await s.h.scim.db('audit_log').count({ n: '*' })).toEqual(before);
    expect((await getToken(s.h.scim.db, tokens.bob))!.state).toBe('active');
  });
});

describe('refusals (RFC 8935 §2.3): each changes nothing', () => {
  const bobPayload = () => s.ssf.buildSet(SSF_EVENT.credentialChange, { format: 'email', email: 'bob@example.com' });
  const encode = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

  const cases: Array<[string, string, () => Promise<string | { body: string }>]> = [
    [
      'a replayed jti',
      'invalid_request',
      async () => {
        // A SET about nobody, accepted once; its second delivery is the replay.
        const payload = s.ssf.buildSet(SSF_EVENT.credentialChange, { format: 'email', email: 'nobody@example.com' });
        const token = await s.ssf.sign(payload);
        expect((await push(token)).status).toBe(202);
        return token;
      },
    ],
    ['a wrong aud', 'invalid_audience', () => s.ssf.sign({ ...bobPayload(), aud: 'https://someone-else.example' })],
    ['a wrong iss', 'invalid_issuer', () => s.ssf.sign({ ...bobPayload(), iss: 'https://evil.example' })],
    ['an unknown key', 'invalid_key', async () => s.ssf.sign(bobPayload(), { key: await unpublishedKey() })],
    ['alg none', 'invalid_request', async () => `${encode({ alg: 'none', typ: 'secevent+jwt' })}.${encode(bobPayload())}.`],
    [
      'an HMAC-signed SET',
      'invalid_request',
      async () =>
        new SignJWT(bobPayload())
          .setProtectedHeader({ alg: 'HS256', typ: 'secevent+jwt', kid: s.ssf.stream()!.stream_id })
          .sign(new TextEncoder().encode('x'.repeat(32))),
    ],
    ['an expired iat', 'invalid_request', () => s.ssf.sign({ ...bobPayload(), iat: Math.floor(Date.now() / 1000) - 3600 })],
    ['a body over the size limit', 'invalid_request', async () => ({ body: `${await s.ssf.sign(bobPayload())}${'A'.repeat(70_000)}` })],
    ['a wrong typ', 'invalid_request', () => s.ssf.sign(bobPayload(), { typ: 'JWT' })],
    ['a forged signature', 'authentication_failed', async () => `${(await s.ssf.sign(bobPayload())).slice(0, -6)}AAAAAA`],
  ];

  it.each(cases)('%s → 400 %s', async (_name, err, make) => {
    const made = await make();
    const auditBefore = await s.h.scim.db('audit_log').count({ n: '*' });
    const answer = await push(typeof made === 'string' ? made : made.body);
    expect(answer.status).toBe(400);
    expect(answer.body.err).toBe(err);
    expect(typeof answer.body.description).toBe('string');
    await eventually('lane idle', laneIdle);
    expect((await getToken(s.h.scim.db, tokens.bob))!.state).toBe('active');
    expect(await s.h.scim.db('audit_log').count({ n: '*' })).toEqual(auditBefore);
  });

  it('a push without the stream’s authorization header → 400 authentication_failed', async () => {
    const answer = await push(await s.ssf.sign(bobPayload()), { authorization: 'Bearer wrong' });
    expect(answer).toMatchObject({ status: 400, body: { err: 'authentication_failed' } });
  });

  it('refusals are logged with their reason code, never the token', async () => {
    const token = await s.ssf.sign({ ...bobPayload(), aud: 'https://someone-else.example' });
    const lines: string[] = [];
    const spy = jest.spyOn(s.h.logger, 'warn').mockImplementation((message: unknown, meta?: unknown) => {
      lines.push(JSON.stringify({ message, meta }));
      return s.h.logger;
    });
    try {
      await push(token);
    } finally {
      spy.mockRestore();
    }
    expect(lines.join('\n')).toContain('aud_mismatch');
    expect(lines.join('\n')).not.toContain(token.split('.')[2]);
  });
});

describe('poll delivery (RFC 8936)', () => {
  it('acknowledges what it took and processes nothing twice across a receiver restart', async () => {
    expect((await s.admin('DELETE', '/ssf/stream')).status).toBe(200);
    const created = await s.admin('POST', '/ssf/stream', { delivery: 'poll' });
    expect(created.body.stream).toMatchObject({ delivery: 'poll', endpointUrl: `${s.ssf.issuer}/api/v1/ssf/stream/poll` });
    expect((await s.admin('POST', '/ssf/stream/verify', { waitMs: 15_000 })).body.received).toBe(true);

    const bob = (await getToken(s.h.scim.db, tokens.bob))!;
    const first = await s.ssf.emit(SSF_EVENT.credentialChange, { format: 'email', email: 'bob@example.com' });
    await eventually('bob’s token revoked', async () => (await getToken(s.h.scim.db, tokens.bob))!.state === 'revoked');
    await eventually('the SET acknowledged', () => s.ssf.acknowledged().includes(first.jti));

    // The receiver restarts; the transmitter delivers the same SET again (as after a lost ack).
    await s.restartReceiver();
    await s.ssf.deliver(await s.ssf.sign(s.ssf.buildSet(SSF_EVENT.credentialChange, { format: 'email', email: 'nobody@example.com' })), 'marker');
    const again = s.ssf.buildSet(SSF_EVENT.credentialChange, { format: 'email', email: 'bob@example.com' });
    again.jti = first.jti;
    await s.ssf.deliver(await s.ssf.sign(again), first.jti);
    await eventually('both acknowledged', () => s.ssf.outstanding().length === 0);
    await eventually('lane idle', laneIdle);
    expect(s.ssf.reportedErrors()).toEqual({});
    const signalEntries = await s.h.scim.db('audit_log').where({ category: 'signals', request_id: first.jti });
    // One entry per action of the one SET: processed once.
    expect(signalEntries.map((e) => e.op).sort()).toEqual(['signal.end-sessions', 'signal.revoke-tokens']);
    expect(liveTokenIds(s.h.emu, 'platform')).not.toContain(bob.pulumiTokenId);
  });
});

describe('the CLI: ssf stream create|show|verify|delete', () => {
  it('manages the same stream, including the verification round trip', async () => {
    const config = loadConfig({
      PUBLIC_URL: s.url,
      SSF_TRANSMITTER_URL: s.ssf.issuer,
      SSF_CLIENT_ID: s.ssf.clientId,
      SSF_CLIENT_SECRET: s.ssf.clientSecret,
      QUEUE_PREFIX: s.h.queues.prefix,
    });
    const cli = async (...argv: string[]) => {
      const stdout = outputSink();
      const stderr = outputSink();
      const code = await runCli([ssfCommand], ['ssf', ...argv], {
        config,
        stdout: stdout.stream,
        stderr: stderr.stream,
        db: async () => s.h.scim.db,
        queues: async () => s.h.queues,
      });
      return { code, out: stdout.text(), err: stderr.text() };
    };
    expect((await cli('stream', 'delete')).code).toBe(0);
    expect(s.ssf.stream()).toBeUndefined();
    expect(await cli('stream', 'show')).toMatchObject({ code: 1, err: expect.stringContaining('no stream') });

    const created = await cli('stream', 'create', '--delivery', 'push', '--json');
    expect(created.code).toBe(0);
    expect(JSON.parse(created.out)).toMatchObject({ adopted: false, stream: { delivery: 'push', streamId: s.ssf.stream()?.stream_id } });
    expect((await cli('stream', 'show')).out).toContain('status enabled');
    const verified = await cli('stream', 'verify', '--wait', '15', '--json');
    expect(verified.code).toBe(0);
    expect(JSON.parse(verified.out)).toMatchObject({ received: true });
    expect(await cli('stream', 'frobnicate')).toMatchObject({ code: 2 });
    const ops = await s.h.scim.db('audit_log').where({ category: 'admin', channel: 'cli' }).pluck('op');
    expect(ops).toEqual(expect.arrayContaining(['ssf.stream.delete', 'ssf.stream.create', 'ssf.stream.verify']));
  });
});
