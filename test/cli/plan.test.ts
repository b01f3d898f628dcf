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
});
