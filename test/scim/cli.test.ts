import os from 'node:os';
import { PassThrough } from 'node:stream';
import { runCli } from '../../src/cli';
import { scimTokenCommand } from '../../src/cli/scim-token';
import { loadConfig } from '../../src/config';
import { findActiveToken, hashToken } from '../../src/directory';
import { queryAudit } from '../../src/reconcile';
import { createTestDatabase, type TestDatabase } from '../helpers/db';

/** `npm run cli -- scim-token ...`, run in-process against a real database. */

let database: TestDatabase;
beforeAll(async () => {
  database = await createTestDatabase();
});
afterAll(async () => {
  await database.drop();
});

async function cli(...argv: string[]) {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  let out = '';
  let err = '';
  stdout.on('data', (c) => (out += c));
  stderr.on('data', (c) => (err += c));
  const code = await runCli([scimTokenCommand], argv, { config: loadConfig({}), stdout, stderr, db: async () => database.db });
  return { code, out, err };
}

describe('scim-token', () => {
  it('creates a client and prints its token once, alone on stdout', async () => {
    const res = await cli('scim-token', 'create', '--name', 'okta');
    expect(res.code).toBe(0);
    const token = res.out.trim();
    expect(token).toMatch(/^pis_scim_[A-Za-z0-9_-]{43}$/);
    expect(await findActiveToken(database.db, hashToken(token))).toMatchObject({ clientName: 'okta' });
    expect(res.err).not.toContain(token);
    const list = await cli('scim-token', 'list');
    expect(list.out).toContain('okta');
    expect(list.out).toContain(`…${token.slice(-4)}`);
    expect(list.out).not.toContain(token);
    expect((await cli('scim-token', 'create', '--name', 'okta')).code).toBe(1);
  });

  it('rotates with a grace period and revokes', async () => {
    const first = (await cli('scim-token', 'create', '--name', 'entra')).out.trim();
    const rotated = await cli('scim-token', 'rotate', '--name', 'entra', '--grace', '2h');
    expect(rotated.code).toBe(0);
    expect(rotated.err).toContain('previous token stays valid until');
    const second = rotated.out.trim();
    expect(await findActiveToken(database.db, hashToken(first))).toBeDefined();
    expect(await findActiveToken(database.db, hashToken(second))).toBeDefined();
    expect((await cli('scim-token', 'revoke', '--name', 'entra')).code).toBe(0);
    expect(await findActiveToken(database.db, hashToken(first))).toBeUndefined();
    expect(await findActiveToken(database.db, hashToken(second))).toBeUndefined();
  });

  it('audits create, rotate and revoke with the OS user as actor, channel cli', async () => {
    await cli('scim-token', 'create', '--name', 'audited');
    await cli('scim-token', 'rotate', '--name', 'audited');
    await cli('scim-token', 'revoke', '--name', 'audited');
    const { entries } = await queryAudit(database.db, { category: 'admin' });
    const mine = entries.filter((e) => e.subject === 'audited').map(({ op, actor, channel }) => ({ op, actor, channel }));
    const actor = os.userInfo().username;
    expect(mine).toEqual([
      { op: 'scim-client.revoke', actor, channel: 'cli' },
      { op: 'scim-client.rotate', actor, channel: 'cli' },
      { op: 'scim-client.create', actor, channel: 'cli' },
    ]);
  });

  it('--json prints each result as one JSON object, tokens only where the text prints them', async () => {
    const created = await cli('scim-token', 'create', '--name', 'scripted', '--json');
    expect(created.code).toBe(0);
    const { token } = JSON.parse(created.out);
    expect(JSON.parse(created.out)).toEqual({ client: 'scripted', token: expect.stringMatching(/^pis_scim_/) });
    expect(await findActiveToken(database.db, hashToken(token))).toMatchObject({ clientName: 'scripted' });

    const rotated = JSON.parse((await cli('scim-token', 'rotate', '--name', 'scripted', '--grace', '1h', '--json')).out);
    expect(rotated).toEqual({ client: 'scripted', token: expect.stringMatching(/^pis_scim_/), previousValidUntil: expect.any(String) });
    expect(Date.parse(rotated.previousValidUntil)).toBeGreaterThan(Date.now());

    const listed = await cli('scim-token', 'list', '--json');
    expect(listed.out).not.toContain(token);
    expect(listed.out).not.toContain(rotated.token);
    const scripted = JSON.parse(listed.out).clients.find((c: { name: string }) => c.name === 'scripted');
    expect(scripted).toMatchObject({ revokedAt: null, tokens: [{ last4: token.slice(-4) }, { last4: rotated.token.slice(-4), revokedAt: null }] });

    expect(JSON.parse((await cli('scim-token', 'revoke', '--name', 'scripted', '--json')).out)).toEqual({ client: 'scripted', revoked: true });
  });

  it('--help on the command or any action prints its usage and exits 0, changing nothing', async () => {
    for (const argv of [
      ['scim-token', '--help'],
      ['scim-token', 'create', '--help'],
      ['scim-token', 'create', '--name', 'helped', '-h'],
      ['help', 'scim-token'],
    ]) {
      const res = await cli(...argv);
      expect({ argv, code: res.code, err: res.err }).toEqual({ argv, code: 0, err: '' });
      expect(res.out).toContain('npm run cli -- scim-token create --name <client>');
    }
    expect((await cli('scim-token', 'list')).out).not.toContain('helped');
  });

  it('explains usage mistakes with exit code 2', async () => {
    expect((await cli('scim-token', 'create')).code).toBe(2);
    expect((await cli('scim-token', 'rotate', '--name', 'x', '--grace', 'soon')).code).toBe(2);
    expect((await cli('scim-token', 'frobnicate')).code).toBe(2);
    expect((await cli('nope')).code).toBe(2);
    expect((await cli('help')).out).toContain('scim-token');
  });
});
