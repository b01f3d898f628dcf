import os from 'node:os';
import { runCli } from '../../src/cli';
import { outputSink } from '../helpers/cli-output';
import { holdsCommand } from '../../src/cli/holds';
import { loadConfig } from '../../src/config';
import { queryAudit } from '../../src/reconcile';
import { emuTeam, okta, startHarness, type Harness } from '../reconcile/harness';
import { POLICY as WORLD_POLICY } from '../web/world';

/** `npm run cli -- holds ...`, run in-process against a hold a real reconcile made. */

// The console world's policy, with a guard that holds two removals.
const POLICY = `${WORLD_POLICY}safety:\n  maxRemovals: 1\n`;

let h: Harness;

beforeAll(async () => {
  h = await startHarness({ policyYaml: POLICY });
  h.startWorker();
  const userIds: string[] = [];
  for (const login of ['bob', 'carol', 'dave']) userIds.push(await okta.createUser(h, `${login}@acme.example`));
  const group = await okta.createGroup(h, 'Platform Engineers');
  await okta.addMembers(h, group, userIds);
  await h.settle();
  // Two still-active people out in one PATCH: more than safety.maxRemovals (1), so held.
  const res = await h.scim.request('PATCH', `/Groups/${group}`, {
    schemas: ['urn:ietf:params:scim:api:messages:2.0:PatchOp'],
    Operations: userIds.slice(0, 2).map((id) => ({ op: 'remove', path: `members[value eq "${id}"]` })),
  });
  if (res.status !== 204 && res.status !== 200) throw new Error(`remove members ${res.status}: ${res.text}`);
  await h.settle();
}, 60_000);

afterAll(async () => {
  await h.close();
});

async function holds(...args: string[]) {
  const out = outputSink();
  const err = outputSink();
  const code = await runCli([holdsCommand], ['holds', ...args], {
    config: loadConfig({}),
    stdout: out.stream,
    stderr: err.stream,
    db: async () => h.scim.db,
    queues: async () => h.queues,
  });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('cli holds', () => {
  it('lists the pending hold in words and as JSON', async () => {
    const listed = await holds('list');
    expect(listed.code).toBe(0);
    expect(listed.stdout).toMatch(/^[0-9a-f-]{36} {2}team platform {2}2 removal\(s\), 0 revocation\(s\)/);
    expect(listed.stdout).toContain('    remove member bob\n');
    expect(listed.stdout).toContain('    remove member carol\n');
    const json = JSON.parse((await holds('list', '--json')).stdout);
    expect(json.holds).toEqual([expect.objectContaining({ team: 'platform', removals: 2, revocations: 0, ops: expect.any(Array) })]);
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['bob', 'carol', 'dave']);
  });

  it('approve applies the hold and audits the OS user with channel cli', async () => {
    const [{ id }] = JSON.parse((await holds('list', '--json')).stdout).holds;
    const approved = await holds('approve', id, '--json');
    expect(approved).toMatchObject({ code: 0, stderr: expect.stringContaining(`hold ${id} of team platform approved`) });
    expect(JSON.parse(approved.stdout)).toEqual({ hold: { id, team: 'platform', status: 'approved' }, reconcileQueued: true });
    await h.settle();
    expect(emuTeam(h.emu, 'platform')?.members).toEqual(['dave']);
    expect((await holds('list')).stdout).toBe('no holds are waiting\n');
    const { entries } = await queryAudit(h.scim.db, { category: 'admin', op: 'hold.approve' });
    expect(entries).toEqual([expect.objectContaining({ team: 'platform', subject: id, actor: os.userInfo().username, channel: 'cli' })]);
    expect(await holds('reject', id)).toMatchObject({ code: 1, stderr: `hold ${id} is not pending\n` });
  });

  it('explains usage: --help exits 0, mistakes exit 2, an unknown hold exits 1', async () => {
    expect(await holds('--help')).toMatchObject({ code: 0, stdout: expect.stringContaining('holds approve <id>') });
    expect(await holds('approve', '--help')).toMatchObject({ code: 0, stdout: expect.stringContaining('holds approve <id>'), stderr: '' });
    expect(await holds('list', '-h')).toMatchObject({ code: 0, stdout: expect.stringContaining('--json') });
    expect((await holds('approve')).code).toBe(2);
    expect((await holds('frobnicate')).code).toBe(2);
    expect((await holds('list', '--colour')).code).toBe(2);
    expect(await holds('approve', '00000000-0000-4000-8000-000000000000')).toMatchObject({
      code: 1,
      stderr: 'no hold with id 00000000-0000-4000-8000-000000000000\n',
    });
  });
});
