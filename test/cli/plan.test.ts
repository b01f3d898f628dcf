import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { runCli } from '../../src/cli';
import { outputSink } from '../helpers/cli-output';
import { loadConfig } from '../../src/config';
import { planCommand } from '../../src/cli/plan';
import { okta, POLICY_YAML, startHarness, type Harness } from '../reconcile/harness';

/** `npm run cli -- plan`, run in-process against the emulator. */

let h: Harness;
let policyFile: string;
beforeAll(async () => {
  h = await startHarness();
  policyFile = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'plan-')), 'sync.yaml');
  fs.writeFileSync(policyFile, POLICY_YAML);
  const bob = await okta.createUser(h, 'bob@acme.example');
  await okta.addMembers(h, await okta.createGroup(h, 'Platform Engineers'), [bob]);
  await okta.addMembers(h, await okta.createGroup(h, 'Legacy Ops'), [bob]);
});
afterAll(async () => {
  await h.close();
});

async function plan(args: string[], env: Record<string, string> = {}) {
  const out = outputSink();
  const err = outputSink();
  const config = loadConfig({ PULUMI_ACCESS_TOKEN: h.emu.accessToken, PULUMI_BACKEND_URL: h.emu.url, SYNC_CONFIG: policyFile, ...env });
  const code = await runCli([planCommand], ['plan', ...args], { config, stdout: out.stream, stderr: err.stream, db: async () => h.scim.db });
  return { code, stdout: out.text(), stderr: err.text() };
}

describe('cli plan', () => {
  it('prints the changes a reconcile would make, and makes none', async () => {
    const writes = h.emu.calls.writes;
    const res = await plan([]);
    expect(res.code).toBe(0);
    expect(res.stdout).toContain('team platform (managed): 7 changes');
    expect(res.stdout).toContain('  create team "Platform Engineers"');
    expect(res.stdout).toContain('  add member bob');
    expect(res.stdout).toContain('  grant admin on infra/prod');
    expect(res.stdout).toMatch(/team legacy-ops \(not managed\): in sync\n {2}note: a team of this name exists in Pulumi/);
    expect(res.stdout).toMatch(/nothing was applied\n$/);
    expect(h.emu.calls.writes).toBe(writes);
  });

  it('--json --team gives one plan as JSON', async () => {
    const res = await plan(['--json', '--team', 'platform']);
    expect(JSON.parse(res.stdout)).toMatchObject({ dryRun: true, plans: [{ team: 'platform', management: 'full' }] });
    expect(JSON.parse(res.stdout).plans[0].ops).toContainEqual(
      expect.objectContaining({ kind: 'addGrant', permission: 'admin', description: 'grant admin on infra/prod' }),
    );
    expect(res.stdout).not.toMatch(/"permission": 10[1-4]/);
  });

  it('a bad policy file is reported with file and line, exit 2', async () => {
    const bad = path.join(path.dirname(policyFile), 'bad.yaml');
    fs.writeFileSync(bad, 'organization: acme\nteams:\n  - group: X\n');
    const res = await plan([], { SYNC_CONFIG: bad });
    expect(res.code).toBe(2);
    expect(res.stderr).toContain(`${bad}:3 teams.0.team: a "group" rule needs "team"`);
  });

  it('without a Pulumi token or an admin token it explains what to set', async () => {
    const out = outputSink();
    const err = outputSink();
    const code = await runCli([planCommand], ['plan'], { config: loadConfig({ SYNC_CONFIG: policyFile }), stdout: out.stream, stderr: err.stream });
    expect(code).toBe(2);
    expect(err.text()).toContain('Set one of the two');
  });

  it('rejects unknown options with its usage', async () => {
    const res = await plan(['--colour']);
    expect(res.code).toBe(2);
    expect(res.stderr).toContain('npm run cli -- plan');
  });

  it('--help prints its usage on stdout and exits 0, planning nothing', async () => {
    const calls = h.emu.calls.total;
    for (const args of [['--help'], ['--team', 'platform', '-h'], ['--detailed-exitcode', '--help']]) {
      const res = await plan(args);
      expect({ args, code: res.code, stderr: res.stderr }).toEqual({ args, code: 0, stderr: '' });
      expect(res.stdout).toContain('--detailed-exitcode   exit 0 when nothing would change');
    }
    expect(h.emu.calls.total).toBe(calls);
    const out = outputSink();
    expect(await runCli([planCommand], ['help', 'plan'], { config: loadConfig({}), stdout: out.stream, stderr: outputSink().stream })).toBe(0);
    expect(out.text()).toContain('npm run cli -- plan --daemon <url>');
  });

  describe('--detailed-exitcode', () => {
    it('exits 2 when changes are pending, in words or as JSON', async () => {
      const res = await plan(['--detailed-exitcode']);
      expect(res.code).toBe(2);
      expect(res.stdout).toContain('team platform (managed): 7 changes');
      const json = await plan(['--detailed-exitcode', '--json', '--team', 'platform']);
      expect(json.code).toBe(2);
      expect(JSON.parse(json.stdout)).toMatchObject({ plans: [{ team: 'platform' }] });
    });

    it('exits 0 when nothing would change', async () => {
      const res = await plan(['--detailed-exitcode', '--team', 'legacy-ops']);
      expect(res).toMatchObject({ code: 0, stdout: expect.stringContaining('team legacy-ops (not managed): in sync') });
    });

    it('exits 1, never 2, on a usage or setup mistake', async () => {
      expect((await plan(['--detailed-exitcode', '--colour'])).code).toBe(1);
      const bad = path.join(path.dirname(policyFile), 'bad.yaml');
      fs.writeFileSync(bad, 'organization: acme\nteams:\n  - group: X\n');
      expect((await plan(['--detailed-exitcode'], { SYNC_CONFIG: bad })).code).toBe(1);
      const out = outputSink();
      const err = outputSink();
      const config = loadConfig({ SYNC_CONFIG: policyFile });
      expect(await runCli([planCommand], ['plan', '--detailed-exitcode'], { config, stdout: out.stream, stderr: err.stream })).toBe(1);
      expect(err.text()).toContain('Set one of the two');
    });
  });
});
